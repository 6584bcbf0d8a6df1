"""Markdown for a suite's summary (``suite.json``) and for the rows a record was compared with
(``Record.reference``): what ``bench --suite`` prints after its per-case table and what
``reference show`` reuses. Reads only records and their ``reference`` dicts.

Why a table of rows and not one ratio: a published database holds many rows for one model (493
for Llama 3.2 1B on LocalScore) that disagree with each other by 3.5× on datacenter GPUs; each
ratio is shown with the row it divides by, that row's verification, runtime and host, its interval,
and both sides' roofline fractions.
"""
from __future__ import annotations

from edgeprof.results import metric_catalogue
from edgeprof.results.cells import md_cell, one_line
from edgeprof.results.printers import fmt_metric
from edgeprof.results.schema import Record

SUMMARY_METRICS = (("prefill_tokens_per_s", "prompt t/s", 1), ("decode_tokens_per_s", "gen t/s", 1),
                   ("ttft_ms", "TTFT ms", 0), ("localscore", "score", 0), ("roofline_fraction", "roofline", 1))


def _pct(side: dict | None) -> str:
    if not side or side.get("value") is None:
        return "n/a"
    ci = side.get("ci95")
    return f"{side['value']:.1%}" + (f" [{ci[0]:.1%}–{ci[1]:.1%}]" if ci else "")


def summary_table(summaries: list[Record]) -> str:
    lines = []
    for s in summaries:
        info = s.extra.get("summary") or {}
        head = one_line(f"### {info.get('suite', s.workload.suite)} v{info.get('version', '?')} summary — "
                        f"{s.model.id} {s.artifact.format}:{s.artifact.quant} on {s.device.name}")
        if not s.ok:
            lines += [head, "", f"not summarized: {s.error.message if s.error else s.status}", ""]
            continue
        cols = [(name, label, d) for name, label, d in SUMMARY_METRICS if s.metric(name)]
        cells = [fmt_metric(s.metric(n), 100.0 if n == "roofline_fraction" else 1.0, d) +
                 ("%" if n == "roofline_fraction" else "") for n, _, d in cols]
        lines += [head, "", "| " + " | ".join(label for _, label, _ in cols) + " |",
                  "|" + "|".join("---:" for _ in cols) + "|", "| " + " | ".join(cells) + " |", ""]
        prov = next(iter(s.metrics.values())).provenance if s.metrics else None
        if prov is not None:
            lines += [f"{prov.source}. {prov.note}", ""]
        lines += [comparison_table(s.reference or {}), ""]
    return "\n".join(lines)


def _ratio_cell(r: dict) -> str:
    if r.get("ratio") is None:
        return "—"
    ci = r.get("ci95")
    est = " (edge est.)" if (r.get("edge_provenance") or {}).get("kind") == "estimated" else ""
    est += " (server est.)" if (r.get("ref_provenance") or {}).get("kind") == "estimated" else ""
    return f"{r['ratio']:.3g}×" + (f" [{ci[0]:.3g}–{ci[1]:.3g}]" if ci else "") + est


def comparison_table(ref: dict) -> str:
    """One line per compared row: the row (result id / page), machine, host, verification, runtime,
    edge ÷ row per metric with its interval, and the roofline fraction of each side."""
    if not ref:
        return "no server comparison (no reference sets loaded)"
    if ref.get("kind") == "none":
        return "server comparison: none — " + "; ".join(ref.get("notes") or ["no matching row"])
    rows = ref.get("rows") or []
    metrics = []
    for row in rows:
        for r in row.get("ratios") or []:
            if r.get("ratio") is not None and r["metric"] not in metrics:
                metrics.append(r["metric"])
    kind = ref["kind"].upper() + (" (another model: per-parameter figures, NOT a match)"
                                  if ref["kind"] == "normalized" else "")
    out = [f"server comparison: {kind}, set {ref.get('set_name')}, {len(rows)} of {ref.get('n_candidates')} "
           f"matching rows shown; edge ÷ row [95 % interval]", "",
           "| row | machine | host CPU | verification | runtime | " + " | ".join(_short(m) for m in metrics)
           + " | roofline edge / row |",
           "|---|---|---|---|---|" + "---:|" * len(metrics) + "---|"]
    for row in rows:
        by = {r["metric"]: r for r in row.get("ratios") or []}
        roof = row.get("roofline") or {}
        name = (f"[{md_cell(row['row'])}]({md_cell(row['url']).replace(')', '%29')})" if row.get("url")
                else md_cell(row["row"]))
        out.append(f"| {name} | {md_cell(row.get('device'))} | {md_cell(row.get('host') or '?')} | "
                   f"{md_cell(row.get('verification'))} | {md_cell(row.get('runtime'))} | " + " | ".join(_ratio_cell(by.get(m, {})) for m in metrics)
                   + f" | {_pct(roof.get('edge'))} / {_pct(roof.get('server'))} |")
    notes = list(ref.get("notes") or []) + ([ref["format_note"]] if ref.get("format_note") else [])
    return "\n".join(out + ([""] + [f"- {one_line(n)}" for n in notes] if notes else []))


def _short(metric: str) -> str:
    base = metric.split("×params_b")[0].split("/params_b")[0]
    d = metric_catalogue.get(base)
    name = d.short if d and d.short else base
    return name + ("·params" if "×params_b" in metric else "/params" if "/params_b" in metric else "")
