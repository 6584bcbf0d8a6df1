"""Markdown for a suite's summary (``suite.json``) and for the rows a record was compared with
(``Record.reference``): what ``bench --suite`` prints after its per-case table and what
``reference show`` reuses. Reads only records and their typed comparisons.

Why a table of rows and not one ratio: a published database holds many rows for one model (493
for Llama 3.2 1B on LocalScore) that disagree with each other by 3.5× on datacenter GPUs; each
ratio is shown with the row it divides by, that row's verification, runtime and host, its interval,
and both sides' roofline fractions.
"""
from __future__ import annotations

from edgeprof.results import reftext
from edgeprof.results.cells import md_cell, one_line
from edgeprof.results.comparison import Comparison, Ratio, RowMatch, Roofline
from edgeprof.results.printers import fmt_metric
from edgeprof.results.schema import Record

SUMMARY_METRICS = (("prefill_tokens_per_s", "prompt t/s", 1), ("decode_tokens_per_s", "gen t/s", 1),
                   ("ttft_ms", "TTFT ms", 0), ("localscore", "score", 0), ("roofline_fraction", "roofline", 1))


def _pct(side: Roofline | None) -> str:
    if side is None or side.value is None:
        return "n/a"
    return f"{side.value:.1%}" + (f" [{side.ci95[0]:.1%}–{side.ci95[1]:.1%}]" if side.ci95 else "")


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
        lines += [comparison_table(s.reference), ""]
    return "\n".join(lines)


def _ratio_cell(r: Ratio | None) -> str:
    if r is None or r.ratio is None:
        return "—"
    return reftext.ratio(r, short=True, named=False)   # the column names the metric


def _bound(row: RowMatch) -> str:
    hb = row.host_bound
    return "?" if hb is None or hb.flag is None else "host-bound" if hb.flag else "no"


def comparison_table(ref: Comparison | None) -> str:
    """One line per compared row: the row (result id / page), its class, host, verification,
    runtime, edge ÷ row per metric with its interval and verdict, both sides' roofline fractions
    and whether the row is host-bound; then each class's distribution and the notes."""
    if ref is None:
        return "no server comparison (no reference sets loaded)"
    if ref.kind == "none":
        return "server comparison: none — " + "; ".join(ref.notes or ("no matching row",))
    metrics: list[str] = []
    for row in ref.rows:
        for r in row.ratios:
            if r.ratio is not None and r.metric not in metrics:
                metrics.append(r.metric)
    kind = ref.kind.upper() + (" (another model: per-parameter figures, NOT a match)" if ref.kind == "normalized" else "")
    head = (f"server comparison: {kind}, set {ref.set_name}, {len(ref.rows)} of {ref.n_candidates} matching rows "
            f"shown; edge ÷ row [95 % interval: repetitions and run-to-run drift] and compare's verdict")
    if ref.kind == "predicted":  # never "matching rows", never a verdict
        head = (f"server comparison: PREDICTED (edgeprof's what-if model of {len(ref.rows)} server classes, NOT a "
                f"match, no verdict); edge ÷ predicted [95 % interval: the prediction's and the repetitions']")
    out = [head, "",
           "| row | class | host CPU | verification | runtime | " + " | ".join(reftext.short_metric(m) for m in metrics)
           + " | roofline edge / row | host-bound | load |",
           "|---|---|---|---|---|" + "---:|" * len(metrics) + "---|---|---|"]
    for row in ref.rows:
        by = {r.metric: r for r in row.ratios}
        name = f"[{md_cell(row.row)}]({md_cell(row.url).replace(')', '%29')})" if row.url else md_cell(row.row)
        out.append(f"| {name} | {md_cell(row.accel_class or row.device)} | {md_cell(row.host or '?')} | "
                   f"{md_cell(row.verification)} | {md_cell(row.runtime)} | "
                   + " | ".join(_ratio_cell(by.get(m)) for m in metrics)
                   + f" | {_pct(row.edge_roofline)} / {_pct(row.server_roofline)} | {_bound(row)} | "
                   f"{'CONTENDED' if row.contended else 'quiet or unknown'} |")
    if ref.classes:
        out += ["", "Accelerator classes (every matching row of each class shown above):", ""]
        out += [f"- {reftext.class_text(c)}" + (f"; edge ÷ median {reftext.ratio(c.ratio, short=True)}" if c.ratio
                                                else "")
                for c in ref.classes]
    first = ref.first
    notes = list(ref.notes) + [t for t in (ref.format_note, first.runtime_note if first else "", ref.energy_note,
                                           ref.contended) if t]
    bound = [row for row in ref.rows if row.host_bound is not None and row.host_bound.flag]
    if bound:
        notes.append(f"host-bound: {len(bound)} of the {len(ref.rows)} rows shown, e.g. {bound[0].row}: "
                     f"{bound[0].host_bound.evidence}")
    notes.append("verdicts: " + reftext.LEGEND[-1].split(": ", 1)[1])
    return "\n".join(out + ([""] + [f"- {one_line(n)}" for n in notes] if notes else []))
