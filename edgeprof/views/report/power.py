"""The report's power section: the trade-off of a power sweep (the Pareto chart of its settings,
the pick for efficiency and the knee) and, for a ``--sustain`` case, the time-resolved plot of its
windows (decode t/s, J/token, power, temperature, clocks; the burst and sustained levels, the
throttle onset); and the run-context table of the provenance appendix. A section present only when
the run swept power or sustained a case."""
from __future__ import annotations

from edgeprof.analysis.sustain import Sustain
from edgeprof.analysis.tradeoff import tradeoffs
from edgeprof.results.runctx import context_of
from edgeprof.views.charts.power import SustainChart, sustain_chart, tradeoff_chart
from edgeprof.views.charts.series import case_label
from edgeprof.views.report import figures
from edgeprof.views.report.data import CaseView
from edgeprof.views.report.document import Figure, Section, Text
from edgeprof.views.report.figures import PALETTE, figure, png
from edgeprof.views.report.tables import Cell, Table, records_of


def sustain_png(c: SustainChart) -> bytes:
    tracks = [t for t in c.tracks if any(v is not None for v in t.y)]
    with figure(7.2, 1.5 + 1.35 * len(tracks), {"left": 0.11, "right": 0.98, "top": 0.95, "bottom": 0.08,
                                                 "hspace": 0.15}) as fig:
        axes = fig.subplots(len(tracks), 1, sharex=True, squeeze=False)[:, 0]
        for i, (ax, t) in enumerate(zip(axes, tracks)):
            pts = [(x, y) for x, y in zip(t.x, t.y) if y is not None]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, color=PALETTE[i % len(PALETTE)],
                    ls="--" if t.estimated else "-", mfc="none" if t.estimated else None)
            ax.set_ylabel(("~" if t.estimated else "") + f"{t.name}\n({t.unit})", fontsize=8)
            ax.ticklabel_format(axis="y", useOffset=False, style="plain")
            ys = [p[1] for p in pts]
            if ys and max(ys) - min(ys) < 0.02 * abs(max(ys)):  # a flat line: a readable range, not noise magnified
                mid = (max(ys) + min(ys)) / 2
                ax.set_ylim(mid - 0.05 * abs(mid) - 1e-9, mid + 0.05 * abs(mid) + 1e-9)
            if c.onset_s is not None:
                ax.axvline(c.onset_s, color="#c62828", ls="--", lw=1.1)
            if c.sustained_from_s is not None:
                ax.axvspan(c.sustained_from_s, t.x[-1] + c.window_s / 2, color="#e0e0e0", alpha=0.5, lw=0, zorder=0)
        top = axes[0]
        if c.burst_tps is not None:
            top.axhline(c.burst_tps, color="#1b5e20", ls=":", lw=1.1, label=f"burst {c.burst_tps:.3g} tok/s")
        if c.sustained_tps is not None:
            top.axhline(c.sustained_tps, color="#0d47a1", ls="-.", lw=1.1, label=f"sustained {c.sustained_tps:.3g} tok/s")
        if c.onset_s is not None:
            top.plot([], [], color="#c62828", ls="--", label=f"throttle onset {c.onset_s:g} s")
        top.legend(loc="lower left")
        top.set_title(c.title)
        axes[-1].set_xlabel(f"s from the first measured repetition; {c.window_s:g} s windows; grey: last third"
                            + ("; dashed ~: ESTIMATED" if any(t.estimated for t in tracks) else ""))
        return png(fig)


def sustain_caption(c: SustainChart) -> str:
    """What the plot draws (the burst, sustained and onset figures follow it as text, once)."""
    tracks = ", ".join(t.name for t in c.tracks if any(v is not None for v in t.y))
    return (f"{tracks} per {c.window_s:g} s window; dotted: the burst level (first window), dash-dot: the "
            f"sustained level (median of the last third, shaded grey)"
            + ("; red dashed: the throttle onset" if c.onset_s is not None else "") + ".")


def power_section(cases: list[CaseView]) -> Section | None:
    recs = records_of(cases)
    blocks: list = []
    for t in tradeoffs(recs):
        chart = tradeoff_chart(t)
        blocks += [Figure(chart.key, figures.pareto_png(chart), " ".join(t.lines()[:3]) + ". "
                          + " ".join(chart.notes[2:]), chart.title), Text("\n".join(t.lines()))]
    for c in cases:
        chart = sustain_chart(c.record, f"{c.record.model.id} {case_label(c.record, recs)} "
                                        f"{c.record.workload.label} — sustained")
        if chart is None:
            continue
        s = Sustain.from_dict(c.record.get("sustain"))
        blocks += [Figure(chart.key, sustain_png(chart), sustain_caption(chart), chart.title),
                   Text("\n".join(s.text(case_label(c.record, recs))))]   # the figures, said once
    return Section("power", "Power modes and sustained speed", blocks) if blocks else None


def context_table(cases: list[CaseView]) -> Table:
    """Each case's run context: the settings it ran under, what changed during it, the build."""
    rows = []
    for c in cases:
        ctx = context_of(c.record)
        if ctx is None:
            continue
        changed = "; ".join(f"{k} {a} -> {b}" for k, (a, b) in ctx.changed.items()) or "nothing"
        rows.append((Cell(c.record.case_id[:12]), Cell(ctx.summary()), Cell(changed),
                     Cell(", ".join(f"{k}: {v}" for k, v in ctx.unknown.items()) or "")))
    notes = () if rows else ("these runs recorded no run context (written before contexts were recorded)",)
    return Table(("case", "context (before the case)", "changed during the case", "not readable (why)"),
                 tuple(rows), notes)
