"""``edgeprof report --terminal``: the key charts drawn with plotext, for a headless board over ssh —
a compact results table, the Pareto charts (front marked), each case's power and memory trace with
its phase boundaries, and the inter-token latency histogram when a per-token timeline exists.

Why the same chart data as the HTML report (``edgeprof.views.charts``): a terminal chart that put
"decode" somewhere else than the PNG would make one of them wrong. Colour codes are kept only when
the output is a terminal.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

from edgeprof.results import printers
from edgeprof.results.extras import need
from edgeprof.views.charts.pareto import ParetoChart, pareto_charts
from edgeprof.views.charts.series import (case_label, itl_marks, itl_values, memory_series, peak_mark, phase_spans,
                                          power_series)
from edgeprof.views.report.data import CaseView, case_views, open_run
from edgeprof.views.report.traces import LABELS

SHOWN = ("model", "format", "quant", "test", "TTFT ms", "decode t/s", "J/token", "peak RSS MiB", "status")
PHASE_MARK = {"idle": "gray", "load": "orange", "warm-up": "yellow", "prefill": "blue", "decode": "green"}


def table(cases: list[CaseView]) -> str:
    cols = {name: fn for name, fn in printers.columns()}
    rows = [[cols[c](x.record) for c in SHOWN] for x in cases]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(SHOWN)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    notes = printers.legend([x.record for x in cases])
    return "\n".join([line(SHOWN), line(["-" * w for w in widths])] + [line(r) for r in rows] + notes) + "\n"


def _pareto(plt, chart: ParetoChart, width: int) -> str:
    """Each point is its label, led by ● (on the front) or ○ (dominated); the front is joined. The x
    range is widened on the right so the labels fit."""
    if not chart.points:
        return f"{chart.title}: no case has both figures\n" + "".join(f"  {n}\n" for n in chart.notes)
    plt.clear_figure()
    plt.plotsize(width, 16)
    xs, ys = [p.x for p in chart.points], [p.y for p in chart.points]
    span_x, span_y = (max(xs) - min(xs)) or abs(xs[0]) or 1.0, (max(ys) - min(ys)) or abs(ys[0]) or 1.0
    plt.xlim(min(xs) - 0.03 * span_x, max(xs) + 0.35 * span_x)
    plt.ylim(min(ys) - 0.08 * span_y, max(ys) + 0.08 * span_y)
    front = sorted((p for i, p in enumerate(chart.points) if i in chart.front), key=lambda p: (p.group, p.x))
    for g in dict.fromkeys(p.group for p in front):
        line = [p for p in front if p.group == g]
        if len(line) > 1:
            plt.plot([p.x for p in line], [p.y for p in line], color="blue", marker="dot")
    for i, p in enumerate(chart.points):
        on = i in chart.front
        text = ("● " if on else "○ ") + ("~" if p.estimated else "") + p.label + (" DEGRADED" if p.degraded else "")
        plt.text(text, p.x, p.y, color="blue" if on else "gray", alignment="left")
    plt.title(f"{chart.title} — y: {chart.y_label} ({chart.y_better} is better)")
    plt.xlabel(f"{chart.x_label} ({chart.x_better} is better)")
    est = "  ~ estimated" if any(p.estimated for p in chart.points) else ""
    notes = [f"● Pareto front (joined)  ○ dominated{est}"]
    listing = [f"{'●' if i in chart.front else '○'} {p.label}: x {p.x:.4g}, y {'~' if p.estimated else ''}{p.y:.4g}"
               for i, p in enumerate(chart.points)]
    return plt.build() + "\n" + "".join(f"  {n}\n" for n in notes + listing + list(chart.notes))


def _trace(plt, c: CaseView, recs, width: int) -> str:
    tr = c.trace
    title = f"{case_label(c.record, recs)} {c.record.workload.label} (case {c.key[:16]})"
    if tr is None or not len(tr):
        return f"{title}: no samples\n"
    spans = phase_spans(c.record, tr.t_ns[0], c.run.baseline)
    out = []
    memory = memory_series(tr)
    peak = peak_mark(c.record, memory)
    for what, series in (("power (W)", power_series(tr)), ("memory", memory)):
        plt.clear_figure()
        plt.plotsize(width, 12)
        for s in series:
            plt.plot(list(s.x), list(s.y), label=f"{s.name} [{'~ESTIMATED' if s.estimated else s.kind}]",
                     marker="braille")
        if what == "memory" and series and peak is not None:  # the table's figure, on the chart
            plt.horizontal_line(peak.y, color="red")
            plt.ylim(0, max(peak.y, *(max(s.y) for s in series)) * 1.1)
        for s in spans:
            plt.vertical_line(s.t0_s, color=PHASE_MARK[s.name])
        unit = f" ({series[0].unit})" if series and what == "memory" else ""
        plt.title(f"{title} — {what}{unit}")
        plt.xlabel("s since the first sample")
        out.append(plt.build() if series else f"{title} — {what}: no reading\n")
    legend = ", ".join(f"{LABELS[s.name]} {s.t0_s:.2f}–{s.t1_s:.2f} s" for s in spans if s.name in ("idle", "load"))
    shown = ", ".join(f"{LABELS[n]}={col}" for n, col in PHASE_MARK.items() if any(s.name == n for s in spans))
    tail = f"\n  phase starts (vertical lines): {shown}" + (f"; {legend}" if legend else "") + "\n"
    if peak is not None:
        tail += f"  memory: red line = {peak.label}" + (f" — {peak.note}" if peak.note else "") + "\n"
    return "\n".join(out) + tail


def _itl(plt, c: CaseView, recs, width: int) -> str:
    itl = itl_values(c.tokens or {})
    if not itl:
        return ""
    plt.clear_figure()
    plt.plotsize(width, 12)
    plt.hist(itl, bins=min(40, max(5, len(itl) // 4)))
    marks = itl_marks(c.record, itl)
    for v in marks.values():
        plt.vertical_line(v, color="red")
    plt.title(f"{case_label(c.record, recs)} — inter-token latency, {len(itl)} tokens")
    plt.xlabel("ms")
    return plt.build() + "\n  " + ", ".join(f"p{q} {v:.3f} ms" for q, v in marks.items()) + " (red lines)\n"


def render(run_dirs: list[str | Path], width: int | None = None, color: bool | None = None) -> str:
    plt = need("plotext", "edgeprof report --terminal")
    width = width or max(60, min(140, shutil.get_terminal_size((100, 40)).columns))
    color = sys.stdout.isatty() if color is None else color
    runs = [open_run(d) for d in run_dirs]
    cases = case_views(runs)
    recs = [c.record for c in cases]
    notes = "".join(f"{n}\n" for n in (r.missing_note() for r in runs) if n)
    parts = [f"edgeprof report — {', '.join(r.run_id for r in runs)}: {len(cases)} case(s)\n{notes}", table(cases)]
    parts += [_pareto(plt, ch, width) for ch in pareto_charts(recs)]
    for c in cases:
        parts.append(_trace(plt, c, recs, width))
        parts.append(_itl(plt, c, recs, width))
    text = "\n".join(p for p in parts if p)
    plt.clear_figure()
    return text if color else plt.uncolorize(text)
