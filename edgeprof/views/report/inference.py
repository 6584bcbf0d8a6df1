"""The report's section on inference cases (encoders, vision and audio models): per-inference
latency and samples/s against the batch, and J/inference against the export's measured accuracy
(data in ``views/charts/inference.py``). Absent from a report of decoders only."""
from __future__ import annotations

from edgeprof.views.charts.inference import batch_lines, energy_accuracy_chart, inference_rows
from edgeprof.views.report import figures
from edgeprof.views.report.data import CaseView
from edgeprof.views.report.document import Figure, Section, Text
from edgeprof.views.report.tables import records_of


def batch_png(lines) -> bytes:
    """Two panels: per-inference latency (p50 line, p90-p99 band as whiskers) and samples/s, both
    against the batch (log 2 axis when it spans more than two batches)."""
    with figures.figure(9.2, 3.6 + 0.17 * len(lines)) as fig:
        lat, thr = fig.subplots(1, 2)
        for i, ln in enumerate(lines):
            color = figures.PALETTE[i % len(figures.PALETTE)]
            style = "--" if ln.estimated else "-"
            lat.plot(ln.batch, ln.p50_ms, style, marker="o", color=color, label=ln.label)
            hi = [p99 if p99 is not None else p90 for p90, p99 in zip(ln.p90_ms, ln.p99_ms)]
            if all(v is not None for v in hi):
                lat.vlines(ln.batch, ln.p50_ms, hi, color=color, alpha=0.45, lw=3)
            ys = [v for v in ln.samples_per_s]
            if all(v is not None for v in ys):
                thr.plot(ln.batch, ys, style, marker="o", color=color)
        for ax, ylabel, ys in ((lat, "latency per inference, ms (p50; bar to p99)", [v for ln in lines for v in ln.p50_ms]),
                               (thr, "samples/s", [v for ln in lines for v in ln.samples_per_s if v])):
            if len({b for ln in lines for b in ln.batch}) > 2:
                ax.set_xscale("log", base=2)
            figures._log_if_wide(ax, "y", ys)
            ax.set_xlabel("batch")
            ax.set_ylabel(ylabel)
        lat.set_title("latency vs batch")
        thr.set_title("throughput vs batch")
        fig.legend(*lat.get_legend_handles_labels(), loc="outside lower center", ncols=2)
        lat.set_xticks(sorted({b for ln in lines for b in ln.batch}))
        thr.set_xticks(sorted({b for ln in lines for b in ln.batch}))
        return figures.png(fig)


def inference_section(cases: list[CaseView]) -> Section | None:
    recs = records_of(cases)
    rows = inference_rows(recs)
    if not rows:
        return None
    blocks: list = [Text(f"{len(rows)} inference case(s) (models that are not causal LMs): every figure is per "
                         f"forward pass of a batch; throughput in samples/s = inferences/s × batch.")]
    lines = batch_lines(recs)
    if any(len(ln.batch) > 1 for ln in lines) or lines:
        blocks.append(Figure("inference-batch", batch_png(lines),
                             "Per-inference latency (p50, bar up to p99 where 20+ passes were timed) and samples/s "
                             "against the batch; one line per artifact, runtime and input shape; dashed = "
                             "estimated figures.", "latency and throughput vs batch"))
    chart = energy_accuracy_chart(recs)
    if chart is not None:
        caption = ("Energy per inference against the export's measured accuracy (" + chart.x_label + "); "
                   "fronts within each workload. " + " ".join(chart.notes)).strip()
        blocks.append(Figure(chart.key, figures.pareto_png(chart), caption, chart.title))
    return Section("inference", "Encoders, vision and audio: latency vs batch, J/inference vs accuracy", blocks,
                   grid=True)
