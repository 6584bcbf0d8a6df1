"""The report's "This model elsewhere" section: for each model of the runs, its predicted decode t/s
and J/token on a set of devices (whiskers = the 80 % interval; hollow = predicted, an estimate),
with measured points marked (filled: this run's row and LocalScore's rows of this very model), and
the same figures as a table with each device's basis (fit on its rows, or EXTRAPOLATED).
"""
from __future__ import annotations

from edgeprof.views.charts.elsewhere import Chart, charts
from edgeprof.views.report import figures
from edgeprof.views.report.data import CaseView
from edgeprof.views.report.document import Figure, Section, Text
from edgeprof.views.report.tables import Cell, Table, records_of

COLOURS = {"fit": figures.PALETTE[0], "extrapolated": figures.PALETTE[4], "measured": figures.PALETTE[2]}


def _panel(ax, chart: Chart, attr: str, xlabel: str) -> None:
    ys = list(range(len(chart.points)))[::-1]
    for y, p in zip(ys, chart.points):
        band = getattr(p, attr)
        colour = COLOURS.get(p.basis, figures.DOMINATED)
        if band is not None:
            lo, v, hi = band
            ax.plot([lo, hi], [y, y], color=colour, lw=2, solid_capstyle="butt")
            filled = p.basis == "measured" and not (attr == "j_per_token" and p.j_estimated)
            ax.plot([v], [y], marker="o", ms=6, color=colour, mfc=colour if filled else "white", mew=1.5)
        if attr == "decode" and p.measured_decode:
            ax.plot(p.measured_decode, [y] * len(p.measured_decode), linestyle="none", marker="D", ms=4,
                    color=COLOURS["measured"])
    ax.set_yticks(ys)
    if attr == "decode":
        ax.set_yticklabels([_short(p.label) for p in chart.points])
    else:
        ax.tick_params(labelleft=False)
    values = [x for p in chart.points for b in [getattr(p, attr)] if b for x in b if x > 0]
    if values:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)


def _short(label: str) -> str:
    """Device labels as a reader scans them: the table keeps the full name."""
    for long, short in ((" / Orin Nano Super Developer Kit (MAXN_SUPER)", " Super"), (" (and AGX Orin Developer Kit)", ""),
                        (" (original clocks)", ""), (" (MAXN_SUPER)", " Super")):
        label = label.replace(long, short)
    return label if len(label) <= 42 else label[:41] + "…"


def _legend(ax) -> None:
    from matplotlib.lines import Line2D

    ax.legend(handles=[Line2D([], [], color=COLOURS["fit"], marker="o", mfc="white", label="predicted: fit on its rows"),
                       Line2D([], [], color=COLOURS["extrapolated"], marker="o", mfc="white",
                              label="predicted: EXTRAPOLATED"),
                       Line2D([], [], color=COLOURS["measured"], marker="o", label="measured: this run"),
                       Line2D([], [], color=COLOURS["measured"], marker="D", linestyle="none", ms=4,
                              label="measured: LocalScore, same model")], loc="upper right")


def png(chart: Chart) -> bytes:
    with figures.figure(9.0, 0.42 * len(chart.points) + 1.4) as fig:
        a, b = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 2]})
        _panel(a, chart, "decode", "decode tokens/s (log)")
        _panel(b, chart, "j_per_token", "J/token (log)")
        _legend(b)
        fig.suptitle(f"{chart.model} elsewhere: predicted (hollow, 80 % interval) and measured (filled)")
        return figures.png(fig)


def _band(b, estimated: bool, digits: int = 3) -> str:
    if b is None:
        return "n/a"
    return ("~" if estimated else "") + f"{b[1]:.{digits}g} [{b[0]:.{digits}g}–{b[2]:.{digits}g}]"


def _table(chart: Chart) -> Table:
    rows = tuple((Cell(p.label), Cell({"measured": "measured", "fit": "fit on its rows",
                                       "extrapolated": "EXTRAPOLATED"}[p.basis]),
                  Cell(_band(p.decode, p.basis != "measured"), p.basis != "measured", True),
                  Cell(", ".join(f"{x:.3g}" for x in p.measured_decode) or "—", numeric=True),
                  Cell(_band(p.j_per_token, p.j_estimated), p.j_estimated, True), Cell(p.note))
                 for p in chart.points)
    return Table(("device @ mode", "basis", "decode t/s [80 %]", "LocalScore rows, same model", "J/token [80 %]",
                  "power basis"), rows, chart.notes)


def elsewhere_section(cases: list[CaseView]) -> Section:
    blocks: list = [Text("Predicted with `edgeprof predict --device` (a per-device-class fit on LocalScore's public "
                         "rows: host floor + bytes per token ÷ achieved bandwidth; README \"What if\"): every "
                         "predicted figure is an ESTIMATE with its 80 % interval, never a measurement; EXTRAPOLATED "
                         "devices have no rows of their own. J/token uses the power mode's budget or the TDP "
                         "(a cap, not a draw) unless a measured draw exists. Filled points are measured.")]
    for i, chart in enumerate(charts(records_of(cases))):
        blocks += [Figure(f"elsewhere-{i}", png(chart), f"{chart.model}: predicted decode t/s and J/token per device "
                          f"(whiskers: 80 % interval; hollow = predicted, filled = measured; diamonds = LocalScore rows "
                          f"of this model).", f"{chart.model} elsewhere"), _table(chart)]
    if len(blocks) == 1:
        blocks.append(Text("no case with a decode rate and a known model file size: nothing to predict from"))
    return Section("elsewhere", "This model elsewhere (predicted)", blocks)
