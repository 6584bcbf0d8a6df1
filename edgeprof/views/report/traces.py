"""Per-case figures: the power and memory trace with the phases shaded, and the per-token latency
timeline with the inter-token latency distribution.

Why one figure per case on the samples' own clock: phases (``Record.phases``) and samples are
both ``time.monotonic_ns()``, so the shading lines up with the trace exactly; an estimated power
line is dashed and its legend says ``estimated`` and the model used.
"""
from __future__ import annotations

from edgeprof.views.charts.series import PHASE_COLORS, PeakMark, PhaseSpan, Series
from edgeprof.views.report.figures import PALETTE, figure, png

LABELS = {"idle": "idle baseline", "load": "load", "warm-up": "warm-up", "prefill": "prefill", "decode": "decode"}


def _shade(ax, spans: list[PhaseSpan]) -> None:
    for s in spans:
        ax.axvspan(s.t0_s, s.t1_s, color=PHASE_COLORS[s.name], alpha=0.28, lw=0, zorder=0)


def _lines(ax, series: list[Series], empty: str) -> None:
    """A reading held between samples is a step line; a sparse one (read less often than the others,
    e.g. USS) is drawn as points only, since a line would invent the values in between."""
    dense = max((len(s.x) for s in series), default=0)
    for i, s in enumerate(series):
        label = f"{s.name} ({'~ ESTIMATED' if s.estimated else s.kind}: {s.source[:40]})"
        if len(s.x) * 2 < dense:
            ax.plot(s.x, s.y, color=PALETTE[i % len(PALETTE)], ls="", marker="o", ms=4, label=label)
        else:
            ax.plot(s.x, s.y, color=PALETTE[i % len(PALETTE)], ls="--" if s.estimated else "-", label=label,
                    drawstyle="steps-post")
    if series:
        ax.legend(loc="upper left")
    else:
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", color="#616161")


def trace_png(title: str, spans: list[PhaseSpan], power: list[Series], memory: list[Series],
              peak: PeakMark | None = None) -> bytes:
    from matplotlib.patches import Patch

    with figure(7.2, 4.6, {"left": 0.09, "right": 0.98, "top": 0.93, "bottom": 0.19, "hspace": 0.12}) as fig:
        ax1, ax2 = fig.subplots(2, 1, sharex=True)
        for ax in (ax1, ax2):
            _shade(ax, spans)
        _lines(ax1, power, "no power reading in this run")
        _lines(ax2, memory, "no memory reading in this run")
        ax1.set_ylabel("power (W)" + (" ~estimated" if any(s.estimated for s in power) else ""))
        ax2.set_ylabel(f"memory ({memory[0].unit})" if memory else "memory")
        ax2.set_xlabel("time since the first sample (s)")
        ax1.set_title(title)
        if memory and peak is not None:  # the table's peak RSS, so the chart never contradicts it
            ax2.axhline(peak.y, color="#c62828", ls=":", lw=1.2, label=peak.label)
            ax2.legend(loc="upper left")
        for ax, ss in ((ax1, power), (ax2, memory)):
            if ss:
                top = max(max(s.y) for s in ss)
                if ax is ax2 and peak is not None:
                    top = max(top, peak.y)
                ax.set_ylim(bottom=0, top=top * 1.15 or 1)
        shown = [n for n in PHASE_COLORS if any(s.name == n for s in spans)]
        if shown:
            fig.legend(handles=[Patch(color=PHASE_COLORS[n], alpha=0.5, label=LABELS[n]) for n in shown],
                       loc="lower center", ncols=len(shown))
        return png(fig)


def tokens_png(title: str, timeline: list[Series], itl: list[float], marks: dict[int, float]) -> bytes:
    """Left: ITL per decoded token, one line per repetition; right: the ITL histogram with p50/p90/p99."""
    with figure(7.2, 3.6, {"left": 0.08, "right": 0.98, "top": 0.84, "bottom": 0.14, "wspace": 0.28}) as fig:
        fig.suptitle(title, fontsize=10)
        ax1, ax2 = fig.subplots(1, 2, width_ratios=(3, 2))
        for i, s in enumerate(timeline):
            ax1.plot(s.x, s.y, color=PALETTE[i % len(PALETTE)], lw=0.9, label=s.name)
        ax1.set_xlabel("decoded token")
        ax1.set_ylabel("inter-token latency (ms)")
        ax1.set_title("per decoded token")
        if 1 < len(timeline) <= 8:
            ax1.legend(loc="upper right")
        if itl:
            ax2.hist(itl, bins=min(40, max(5, len(itl) // 4)), color=PALETTE[0], alpha=0.8)
            for q, v in marks.items():  # the record's own p50/p90/p99 (views.charts.series.itl_marks)
                ax2.axvline(v, color=PALETTE[1], ls={50: "-", 90: "--"}.get(q, ":"), label=f"p{q} {v:.3f} ms")
            ax2.legend(loc="upper right")
        ax2.set_xlabel("inter-token latency (ms)")
        ax2.set_ylabel("tokens")
        ax2.set_title(f"ITL distribution (n={len(itl)})")
        return png(fig)
