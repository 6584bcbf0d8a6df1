"""The facts of one row (a ``Record``) as the detail screen shows them and as ``y`` copies them
(Markdown): one source for both, so what is pasted is what was read."""
from __future__ import annotations

from edgeprof.results import metric_catalogue
from edgeprof.results.schema import Metric, Record
from edgeprof.views.tui import fmt, refview

MAX_SAMPLES = 12
METRIC_HEAD = ("metric", "value", "unit", "n", "p90", "cv", "95 % CI", "samples", "provenance")
RATIO_HEAD = ("metric", "edge", "edge provenance", "server", "server provenance", "edge÷server", "95 % CI", "note")


def _v(unit: str, v: float | None) -> str:
    return fmt.size(v) if unit.split("/")[0].split("·")[0] == "B" and v is not None else fmt.num(v, 4)


def facts(rec: Record) -> list[tuple[str, str]]:
    a, pl = rec.artifact, rec.runtime.placement
    status = rec.status if rec.ok else (f"{rec.status}: {rec.error.kind} — {rec.error.message} (phase {rec.error.phase})"
                                        if rec.error else rec.status)
    out = [("status", status), ("case", f"{rec.case_id} of run {rec.run_id} on host {rec.host}, started {rec.started_at}"),
           ("device", f"{rec.device.name} ({rec.device.kind}, {rec.device.id})"),
           ("artifact", f"{a.path} ({fmt.size(a.size_bytes)}, sha256 {(a.sha256 or '')[:16]})"),
           ("runtime", f"{rec.runtime.name} {rec.runtime.version or ''}".strip()),
           ("placement", ", ".join(f"{k}={v}" for k, v in sorted(pl.to_dict().items()) if not isinstance(v, (list, dict))))]
    if rec.get("idle_power_w") is not None:
        out.append(("idle baseline", f"{fmt.num(rec.get('idle_power_w'))} W over {fmt.num(rec.get('idle_window_s'))} s"))
    return out


def title(rec: Record) -> str:
    a, w = rec.artifact, rec.workload
    return f"{rec.model.id} · {a.format} {a.quant} · {w.label} · {rec.runtime.name} t{_threads(rec)}"



def _threads(rec) -> str:
    t = rec.runtime.placement.threads
    return "?" if t is None else str(t)

def metric_rows(rec: Record) -> list[tuple[list[str], str]]:
    """(cells, provenance note) per metric, in catalogue order."""
    order = {d.name: i for i, d in enumerate(metric_catalogue.CATALOGUE)}
    out = []
    for name in sorted(rec.metrics, key=lambda n: (order.get(n, 999), n)):
        m: Metric = rec.metrics[name]
        p = m.provenance
        ci = f"[{_v(m.unit, m.ci95[0])}, {_v(m.unit, m.ci95[1])}]" if m.ci95 else ""
        xs = [_v(m.unit, x) for x in m.samples[:MAX_SAMPLES]]
        samples = ", ".join(xs) + (f" … ({len(m.samples)})" if len(m.samples) > MAX_SAMPLES else "")
        prov = f"{p.kind}: {p.source}" + (f" ({p.scope})" if p.scope else "")
        out.append(([name, fmt.est(_v(m.unit, m.value), p.estimated), m.unit, str(m.n), _v(m.unit, m.p90),
                     fmt.num(m.cv) if m.cv is not None else "", ci, samples, prov], p.note))
    return out


def comparison_head(comp: dict) -> list[str]:
    kind = comp.get("kind", "none")
    if kind == "none":
        return [f"no reference row: {'; '.join(comp.get('notes') or ['none matched'])}"]
    out = [f"match: {refview.KIND_TEXT.get(kind, kind)} — set {comp.get('set_name')}, row {comp.get('row')}",
           f"verification: {comp.get('verification')}"]
    es, rs = comp.get("edge_side") or {}, comp.get("ref_side") or {}
    out.append(f"edge: {es.get('model')} {es.get('format')} {es.get('quant')} on {es.get('device')} ({es.get('runtime')})"
               f"; server: {rs.get('model')} {rs.get('format')} {rs.get('quant')} on {rs.get('device')} "
               f"({rs.get('runtime')})")
    if comp.get("format_note"):
        out.append(comp["format_note"])
    roof = ((comp.get("rows") or [{}])[0]).get("roofline") or {}
    for side in ("edge", "server"):
        s = roof.get(side)
        if s:
            value = f"{s['value']:.1%}" if s.get("value") is not None else "n/a"
            ci = f" [{s['ci95'][0]:.1%}, {s['ci95'][1]:.1%}]" if s.get("ci95") else ""
            out.append(f"roofline fraction, {side}: {value}{ci} — {s.get('basis') or s.get('why') or ''}")
    return out + list(comp.get("notes") or [])


def comparison_rows(comp: dict) -> list[list[str]]:
    rows = []
    for x in comp.get("ratios") or []:
        ep, rp = x.get("edge_provenance") or {}, x.get("ref_provenance") or {}
        ci = x.get("ci95") or x.get("interval")
        rows.append([x["metric"], f"{_v(x.get('edge_unit', ''), x.get('edge_value'))} {x.get('edge_unit', '')}".strip(),
                     f"{ep.get('kind', '')}: {ep.get('source', '')}".strip(": "),
                     f"{_v(x.get('ref_unit', ''), x.get('ref_value'))} {x.get('ref_unit', '')}".strip(),
                     f"{rp.get('kind', '')}: {rp.get('source', '')}".strip(": "),
                     fmt.ratio(x.get("ratio")) if x.get("ratio") is not None else "not compared",
                     f"[{fmt.num(ci[0])}, {fmt.num(ci[1])}]" if ci else "", x.get("note") or ""])
    return rows


OTHER_HEAD = ("kind", "set", "row", "verification", "runtime · host", "decode edge÷server", "roofline edge · server")


def other_rows(comp: dict) -> list[list[str]]:
    """Every further row the comparison holds (rows beyond the primary, then context rows, which
    are NOT a match): the decode ratio with its interval and both roofline fractions."""
    out = []
    for r in (comp.get("rows") or [])[1:] + (comp.get("context") or []):
        dec = next((x for x in r.get("ratios") or [] if x["metric"].startswith("decode_tokens_per_s")), {})
        ci = dec.get("ci95")
        roof = r.get("roofline") or {}
        sides = [f"{s['value']:.0%}" if (s := roof.get(k)) and s.get("value") is not None else "n/a"
                 for k in ("edge", "server")]
        out.append([r["kind"] if r["kind"] != "context" else "context (NOT a match)", r["set_name"], r["row"],
                    r.get("verification") or "", f"{r.get('runtime')} · {r.get('host') or '?'}",
                    fmt.ratio(dec.get("ratio"), ci) if dec.get("ratio") is not None else "n/a", " · ".join(sides)])
    return out


def not_a_match(comp: dict | None) -> str | None:
    """The banner for a normalized comparison (never shown as a bare number)."""
    if not comp or comp.get("kind") != "normalized":
        return None
    why = (comp.get("notes") or ["another model"])[0]
    return (f"NOT A MATCH — {comp.get('set_name')}:{comp.get('row')} [{comp.get('verification')}]: {why}; "
            "ratios are per-parameter context only")


def _md_table(head, rows) -> list[str]:
    def cell(s) -> str:
        return str(s).replace("|", "\\|").replace("\n", " ")
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(cell(c) for c in r) + " |"
                                                                          for r in rows]


def markdown(rec: Record) -> str:
    lines = [f"## {title(rec)}", ""] + [f"- {k}: {v}" for k, v in facts(rec)]
    rows = metric_rows(rec)
    lines += ["", "### Metrics", ""]
    lines += (_md_table(METRIC_HEAD, [cells[:-1] + [cells[-1] + (f" — {note}" if note else "")] for cells, note in rows])
              if rows else ["No metrics (the case ended before a measured repetition)."])
    comp = rec.reference or {}
    lines += ["", "### Server reference", ""]
    banner = not_a_match(comp)
    lines += ([f"> **{banner}**", ""] if banner else [])
    lines += ([f"- {x}" for x in comparison_head(comp)] if comp else ["No server comparison in this record."])
    if comp.get("ratios"):
        lines += [""] + _md_table(RATIO_HEAD, comparison_rows(comp))
    if other_rows(comp):
        lines += ["", "Other rows compared:", ""] + _md_table(OTHER_HEAD, other_rows(comp))
    if rec.warnings:
        lines += ["", "### Warnings", ""] + [f"- {x}" for x in rec.warnings]
    return "\n".join(lines) + "\n"
