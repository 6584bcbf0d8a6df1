"""The report's sections, in reading order: overview, results, server comparison, trade-offs
(Pareto), traces, per-token latency, distributions, roofline, suite summary (when a suite ran),
environment and provenance. Each section is present even when its data is not (it then says why),
so a reader learns what a run lacked instead of wondering.
"""
from __future__ import annotations

from edgeprof.views.charts.pareto import pareto_charts
from edgeprof.views.charts.roofline import basis, roofline_chart
from edgeprof.views.charts.series import (case_label, itl_marks, itl_values, memory_series, peak_mark, phase_spans,
                                          power_series, token_series)
from edgeprof.views.report import appendix, figures, traces
from edgeprof.views.report.data import CaseView, RunData
from edgeprof.views.report.document import Figure, Section, Text
from edgeprof.views.report.tables import Cell, Table, records_of, results_table, server_table, suite_tables

#: per-case figures (power/memory traces, token timelines) and distribution rows one report draws
#: unless asked for all: a figure costs ~0.2 s to draw and a page of 1,000 of them is read by nobody
#: (issue 21 item 10: a 1,000-case report took minutes). One case per configuration comes first.
CASE_FIGURES = 24
DISTRIBUTION_ROWS = 40

SECTION_IDS = ("overview", "results", "tradeoffs", "traces", "server", "elsewhere", "tokens", "distributions",
               "roofline", "suite", "appendix")   # + "inference" (encoders, vision, audio) and "power" after
#                                     "tradeoffs" when a run has such cases or swept power or sustained a case


def drawn(cases: list[CaseView], limit: int | None) -> list[CaseView]:
    """The cases that get a per-case figure: all of them up to ``limit`` (None: no limit); beyond
    it, the first case of each configuration (its row label), then the others, in report order."""
    if limit is None or len(cases) <= limit:
        return list(cases)
    recs = records_of(cases)
    firsts: dict[str, int] = {}
    for i, c in enumerate(cases):
        firsts.setdefault(case_label(c.record, recs), i)
    rest = [i for i in range(len(cases)) if i not in set(firsts.values())]
    keep = sorted((list(firsts.values()) + rest)[:limit])
    return [cases[i] for i in keep]


def all_figures_command(cases: list[CaseView]) -> str:
    """The command that redraws this report with a figure for every case (quoted: STYLE rule 17)."""
    from edgeprof.errors import command

    return command("report", *dict.fromkeys(str(c.run.dir) for c in cases), "--all-figures")


def not_drawn(what: str, shown: int, cases: list[CaseView]) -> Text | None:
    """The line saying how many cases a section left out, where their data is and how to draw them."""
    if shown >= len(cases):
        return None
    return Text(f"{what} of {shown} of {len(cases)} cases are drawn (one per configuration first, then in "
                f"order); the other {len(cases) - shown} cases' samples are in each run's samples/ folder "
                f"(edgeprof.load_samples reads them). Every case (about 0.2 s a figure): "
                f"{all_figures_command(cases)}")


def overview(runs: list[RunData], cases: list[CaseView], charts: list | None = None) -> Section:
    recs = records_of(cases)
    by_status = {s: sum(r.status == s for r in recs) for s in dict.fromkeys(r.status for r in recs)}
    devices = sorted({f"{r.device.name or r.device.id} [{r.device.kind}]" for r in recs})
    models = sorted({str(r.model.id) for r in recs})
    energy = sorted({f"{m.provenance.kind} ({m.provenance.source})" for r in recs
                     for m in [r.metric("energy_per_token_j")] if m})
    lines = [f"{len(runs)} run(s), {len(recs)} case(s): " + ", ".join(f"{n} {s}" for s, n in by_status.items()),
             f"device(s): {', '.join(devices)}; model(s): {', '.join(models)}",
             "energy: " + (", ".join(energy) if energy else "no energy figure in these runs")
             + (" — estimated figures are marked ~ (italic in tables, hollow or dashed in plots)"
                if any(e.startswith("estimated") for e in energy) else "")]
    for chart in charts if charts is not None else pareto_charts(recs):
        front = [("~" if p.estimated else "") + p.label for i, p in enumerate(chart.points) if i in chart.front]
        if front:
            lines.append(f"Pareto front of {chart.title.lower()}: {', '.join(front)}")
    return Section("overview", "Overview", [Text("\n\n".join(lines))] + advice_blocks(recs))


def advice_blocks(recs) -> list:
    """"Which one to deploy": one row per objective with the figures it rests on (ties as ties,
    held back where the statistics cannot support a pick: ``compare/recommend.py``)."""
    from edgeprof.compare.recommend import HEADING, for_records

    advice = for_records(recs)
    if not advice:
        return []
    rows = tuple((Cell(a.objective), Cell(", ".join(a.picks) if a.picks else "no recommendation"),
                  Cell(a.figures or a.why_not)) for a in advice)
    return [Text(HEADING, sub=True), Table(("objective", "recommendation", "rests on"), rows)]


def results(cases: list[CaseView]) -> Section:
    return Section("results", "Results", [
        Text("One row per case; figures are medians ± half the 95 % interval over repetitions; ~ = estimated."),
        results_table(cases)])


def server(cases: list[CaseView]) -> Section:
    return Section("server", "Server comparison", [
        Text("Each ratio is this device ÷ the server row, naming the row, its verification status and both "
             "sides' provenance; a normalized comparison (another model) is never a match."), server_table(cases)])


def tradeoffs(cases: list[CaseView], charts: list | None = None) -> Section:
    blocks: list = []
    for chart in charts if charts is not None else pareto_charts(records_of(cases)):
        caption = (f"{chart.title}: points labelled by format/quant; coloured and joined = Pareto front "
                   f"(nothing is better on both axes); grey = dominated. " + " ".join(chart.notes)).strip()
        blocks.append(Figure(chart.key, figures.pareto_png(chart), caption, chart.title))
    return Section("tradeoffs", "Trade-offs (Pareto)", blocks, grid=True)


def _title(c: CaseView, recs) -> str:
    label = case_label(c.record, recs)
    work = c.record.workload.label
    return f"{label}{'' if work in label else ' ' + work} — case {c.key[:16]}"


def trace_section(cases: list[CaseView], limit: int | None = CASE_FIGURES) -> Section:
    recs = records_of(cases)
    blocks: list = []
    sampled = [c for c in cases if c.trace is not None and len(c.trace)]
    shown = {id(c) for c in drawn(sampled, limit)}
    for c in cases:
        tr = c.trace
        if tr is not None and len(tr) and id(c) not in shown:
            continue
        if tr is None or not len(tr):
            blocks.append(Text(f"{_title(c, recs)}: no samples file ({c.record.status}; sampling off or the case "
                               f"did not start)"))
            continue
        power, memory = power_series(tr), memory_series(tr)
        spans = phase_spans(c.record, tr.t_ns[0], c.run.baseline)
        est = [s for s in power if s.estimated]
        caption = (f"{_title(c, recs)}: power (top) and memory (bottom), {len(tr)} samples; shaded: "
                   + ", ".join(dict.fromkeys(traces.LABELS[s.name] for s in spans))
                   + (f". Power is ESTIMATED ({est[0].source}; dashed), not measured." if est else ".")
                   + " Solid lines are measured.")
        peak = peak_mark(c.record, memory)
        if peak is not None:
            caption += f" Dotted red: {peak.label}" + (f" — {peak.note}." if peak.note else ".")
        blocks.append(Figure(f"trace-{c.key}", traces.trace_png(_title(c, recs), spans, power, memory, peak), caption))
    note = not_drawn("Traces", len(shown), sampled)
    return Section("traces", "Power and memory traces", ([note] if note else []) + (blocks or [Text("no cases")]),
                   grid=True)


def tokens_section(cases: list[CaseView], limit: int | None = CASE_FIGURES) -> Section:
    recs = records_of(cases)
    blocks: list = []
    timed = [c for c in cases if c.tokens]
    for c in drawn(timed, limit):
        tl, itl = token_series(c.tokens), itl_values(c.tokens)
        m = c.record.metric("itl_ms")
        stats = (f" Recorded itl_ms: p50 {m.center:.3g} ms" + (f", p90 {m.p90:.3g}" if m.p90 is not None else "")
                 + (f", p99 {m.p99:.3g}" if m.p99 is not None else "") + ".") if m else ""
        blocks.append(Figure(f"tokens-{c.key}", traces.tokens_png(_title(c, recs), tl, itl, itl_marks(c.record, itl)),
                             f"{_title(c, recs)}: inter-token latency of every decoded token ({len(itl)} tokens, "
                             f"{len(tl)} repetition(s)).{stats}"))
    note = not_drawn("Token timelines", min(len(timed), limit or len(timed)), timed)
    blocks = ([note] if note else []) + blocks
    if not blocks:
        blocks.append(Text("No per-token timeline in these runs (samples/<case_id>.tokens.csv is written by runs "
                           "that record inter-token latency); the TTFT/TPOT distributions below are per repetition."))
    return Section("tokens", "Per-token latency", blocks)


def distributions(cases: list[CaseView], limit: int | None = DISTRIBUTION_ROWS) -> Section:
    ok = [c for c in cases if c.record.ok]
    sampled = [c for c in ok if any(c.record.metric(n) and c.record.metric(n).samples for n in ("ttft_ms", "tpot_ms"))]
    shown = drawn(sampled, limit)
    recs, among = [c.record for c in shown], [c.record for c in ok]
    data = {name: [(case_label(r, among), m.samples, m.provenance.estimated)   # labels as in the tables
                   for r in recs for m in [r.metric(name)] if m and m.samples] for name in ("ttft_ms", "tpot_ms")}
    if not any(data.values()):
        return Section("distributions", "TTFT and TPOT across repetitions", [Text("no repetition samples")])
    n = max(len(s) for v in data.values() for _, s, _ in v)
    left = (f" {len(shown)} of {len(sampled)} cases are drawn (one per configuration first); the results table "
            f"has every case; all of them: {all_figures_command(sampled)}" if len(shown) < len(sampled) else "")
    return Section("distributions", "TTFT and TPOT across repetitions", [Figure(
        "distributions", figures.distributions_png(data),
        f"Box = quartiles, line = median, dots = every repetition (up to {n} per case).{left}")])


def roofline(cases: list[CaseView]) -> Section:
    ceilings, points, notes = roofline_chart(records_of(cases))
    if not points:
        return Section("roofline", "Roofline", [Text(" ".join(notes) or "no roofline figures")])
    bases = [f"{'server ' if c.server else ''}{c.device}: {c.basis}" for c in ceilings]
    caption = ("Achieved decode FLOP/s at each case's arithmetic intensity, under the ceilings min(peak FLOP/s, "
               "bandwidth × intensity). Ceiling basis — " + " | ".join(bases) + ". " + " ".join(notes))
    fig = Figure("roofline", figures.roofline_png(ceilings, points), caption.strip())
    fr = [f"{p.label}: {p.note}" for p in points if p.note]
    return Section("roofline", "Roofline", [fig] + ([Text("; ".join(fr))] if fr else []))


def suite(runs: list[RunData]) -> Section | None:
    blocks: list = []
    for run in runs:
        for title, table in suite_tables(run):
            blocks += [Text(f"{run.run_id} — {title}", sub=True), table]
    return Section("suite", "Suite summary (LocalScore style)", blocks) if blocks else None


def environment(runs: list[RunData], cases: list[CaseView]) -> Section:
    blocks: list = []
    for run in runs:
        blocks += [Text(f"Run {run.run_id}", sub=True), appendix.run_table(run), Text("Sensors", sub=True),
                   appendix.sensor_table(run)]
    from edgeprof.views.report.power import context_table

    blocks += [Text("Context of each case: power settings, clocks, temperatures, runtime build", sub=True),
               context_table(cases)]
    blocks += [Text("Where each metric came from", sub=True), appendix.metric_provenance_table(cases)]
    rf = next((c.record.metric("roofline_fraction") for c in cases if c.record.metric("roofline_fraction")), None)
    if rf:
        blocks.append(Text(f"Roofline basis: {basis(rf)}"))
    return Section("appendix", "Environment and provenance", blocks)


def all_sections(runs: list[RunData], cases: list[CaseView], all_figures: bool = False) -> list[Section]:
    """Every section; ``all_figures``: a trace, token timeline and distribution row for every case
    (else at most ``CASE_FIGURES`` / ``DISTRIBUTION_ROWS``, one per configuration first)."""
    from edgeprof.views.report.elsewhere import elsewhere_section
    from edgeprof.views.report.inference import inference_section
    from edgeprof.views.report.power import power_section

    charts = pareto_charts(records_of(cases))   # the overview names their fronts, the trade-offs draw them
    per_case, rows = (None, None) if all_figures else (CASE_FIGURES, DISTRIBUTION_ROWS)
    out = [overview(runs, cases, charts), results(cases), tradeoffs(cases, charts), inference_section(cases),
           power_section(cases), trace_section(cases, per_case), server(cases), elsewhere_section(cases),
           tokens_section(cases, per_case), distributions(cases, rows), roofline(cases), suite(runs),
           environment(runs, cases)]
    return [s for s in out if s is not None]
