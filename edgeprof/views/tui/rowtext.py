"""The facts of one row (a ``Record``) as the detail screen shows them and as ``y`` copies them
(Markdown): one source for both, so what is pasted is what was read."""
from __future__ import annotations

from edgeprof.results import metric_catalogue, reftext
from edgeprof.results.comparison import Comparison
from edgeprof.results.schema import Metric, Record
from edgeprof.views.tui import fmt, refview

MAX_SAMPLES = 12
METRIC_HEAD = ("metric", "value", "unit", "n", "p90", "cv", "95 % CI", "samples", "provenance")
RATIO_HEAD = ("metric", "edge", "edge provenance", "server", "server provenance", "edge÷server", "95 % CI",
              "verdict · note")


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
    c = rec.conditions
    if c.idle_power_w is not None:
        out.append(("idle baseline", f"{fmt.num(c.idle_power_w)} W over {fmt.num(c.idle_window_s)} s"))
    from edgeprof.views.power_text import context_facts

    return out + context_facts(rec)


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


def _prov(p) -> str:
    return f"{p.kind}: {p.source}" if p is not None else ""


def comparison_head(comp: Comparison) -> list[str]:
    if comp.kind == "none":
        return [f"no reference row: {'; '.join(comp.notes or ('none matched',))}"]
    out = [f"match: {refview.KIND_TEXT.get(comp.kind, comp.kind)} — set {comp.set_name}, row {comp.row}",
           f"verification: {comp.verification}"]
    es, rs = comp.edge_side, comp.ref_side
    out.append(f"edge: {es.model} {es.format} {es.quant} on {es.device} ({es.runtime})"
               + (f"; server: {rs.model} {rs.format} {rs.quant} on {rs.device} ({rs.runtime})" if rs else ""))
    first = comp.first
    out += [t for t in (comp.format_note, first.runtime_note if first else "", comp.energy_note,
                        comp.contended.upper() if comp.contended else "") if t]
    if first is not None:
        for side, s in (("edge", first.edge_roofline), ("server", first.server_roofline)):
            if s is not None:
                value = f"{s.value:.1%}" if s.value is not None else "n/a"
                ci = f" [{s.ci95[0]:.1%}, {s.ci95[1]:.1%}]" if s.ci95 else ""
                out.append(f"roofline fraction, {side}: {value}{ci} — {s.basis or s.why}")
        if first.host_bound is not None:
            flag = {True: "HOST-BOUND", False: "not host-bound", None: "host-bound?"}[first.host_bound.flag]
            out.append(f"server row {flag}: {first.host_bound.evidence}")
    out += [f"class {reftext.class_text(c)}" + (f"; edge ÷ median {reftext.ratio(c.ratio)}" if c.ratio else "")
            for c in comp.classes]
    return out + list(comp.notes)


def comparison_rows(comp: Comparison) -> list[list[str]]:
    rows = []
    for x in comp.ratios:
        rows.append([x.metric, f"{_v(x.edge_unit, x.edge_value)} {x.edge_unit}".strip(), _prov(x.edge_provenance),
                     f"{_v(x.ref_unit, x.ref_value)} {x.ref_unit}".strip(), _prov(x.ref_provenance),
                     fmt.ratio(x.ratio) if x.ratio is not None else "not compared",
                     f"[{fmt.num(x.ci95[0])}, {fmt.num(x.ci95[1])}]" if x.ci95 else "",
                     "; ".join(t for t in (reftext.verdict(x), x.note) if t)])
    return rows


OTHER_HEAD = ("kind", "set", "row", "class", "verification", "runtime · host", "decode edge÷server",
              "roofline edge · server", "host-bound")


def other_rows(comp: Comparison) -> list[list[str]]:
    """Every further row the comparison holds (rows beyond the primary, then context rows, which
    are NOT a match): the decode ratio with its interval and both roofline fractions."""
    out = []
    for r in comp.rows[1:] + comp.context:
        dec = r.ratio("decode_tokens_per_s")
        sides = [refview.pct(s.value) if s is not None and s.value is not None else "n/a"
                 for s in (r.edge_roofline, r.server_roofline)]
        hb = r.host_bound
        out.append([r.kind if r.kind != "context" else "context (NOT a match)", r.set_name, r.row, r.accel_class or "",
                    r.verification + (" CONTENDED" if r.contended else ""), f"{r.runtime} · {r.host or '?'}",
                    fmt.ratio(dec.ratio, dec.ci95) if dec is not None and dec.ratio is not None else "n/a",
                    " · ".join(sides), "?" if hb is None or hb.flag is None else "yes" if hb.flag else "no"])
    return out


def not_a_match(comp: Comparison | None) -> str | None:
    """The banner for a normalized (or predicted) comparison (never shown as a bare number)."""
    if comp is None or comp.kind not in ("normalized", "predicted"):
        return None
    why = comp.notes[0] if comp.notes else "another model"
    return (f"NOT A MATCH — {comp.set_name}:{comp.row} [{comp.verification}]: {why}; "
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
    comp = rec.reference
    lines += ["", "### Server reference", ""]
    banner = not_a_match(comp)
    lines += ([f"> **{banner}**", ""] if banner else [])
    lines += ([f"- {x}" for x in comparison_head(comp)] if comp is not None else ["No server comparison in this record."])
    if comp is not None and comp.ratios:
        lines += [""] + _md_table(RATIO_HEAD, comparison_rows(comp))
    if comp is not None and other_rows(comp):
        lines += ["", "Other rows compared:", ""] + _md_table(OTHER_HEAD, other_rows(comp))
    if rec.warnings:
        lines += ["", "### Warnings", ""] + [f"- {x}" for x in rec.warnings]
    return "\n".join(lines) + "\n"
