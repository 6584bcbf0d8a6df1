"""matplotlib figures of the report, rendered headless to PNG bytes with one fixed style.

Why ``Figure`` + the Agg canvas and never pyplot: no global backend is chosen or changed (a report
built inside a notebook or on a board without a display behaves the same), nothing is kept
between figures, and with the style below and PNG metadata stripped the same data gives the same
bytes. matplotlib is imported inside the functions (the optional ``edgeprof[report]`` extra).
"""
from __future__ import annotations

import io
import math
from contextlib import contextmanager

from edgeprof.results import metric_catalogue
from edgeprof.results.extras import need
from edgeprof.views.charts.pareto import ParetoChart
from edgeprof.views.charts.roofline import Ceiling, RooflinePoint
from edgeprof.views.report.labels import Label, place

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2")
STYLE = {"figure.dpi": 100, "savefig.dpi": 100, "font.family": "DejaVu Sans", "font.size": 9,
         "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False,
         "axes.titlesize": 10, "legend.fontsize": 7, "legend.frameon": False, "svg.hashsalt": "edgeprof",
         "image.cmap": "viridis", "lines.linewidth": 1.4}
MARKERS = "osD^v<>P*h"
DOMINATED = "#9e9e9e"


#: fixed margins (fractions of the figure) for the figures drawn once per case or chart: the
#: constrained layout engine would place them itself but doubles the drawing time
MARGINS = {"left": 0.1, "right": 0.97, "top": 0.92, "bottom": 0.12}


@contextmanager
def figure(width_in: float = 6.4, height_in: float = 4.0, margins: dict | None = None):
    """A detached Figure drawn on the Agg canvas under the fixed style; with ``margins`` the
    subplots sit at those fixed fractions, else the constrained layout places them."""
    mpl = need("matplotlib", "edgeprof report")
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with mpl.style.context("default"), mpl.rc_context({**STYLE, "axes.prop_cycle": mpl.cycler(color=PALETTE)}):
        fig = Figure(figsize=(width_in, height_in), layout=None if margins else "constrained")
        if margins:
            fig.subplots_adjust(**margins)
        FigureCanvasAgg(fig)
        yield fig


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})  # no version stamp: reproducible bytes
    return buf.getvalue()


def _log_if_wide(ax, axis: str, values: list[float]) -> None:
    pos = [v for v in values if v > 0]
    if len(pos) == len(values) and pos and max(pos) / min(pos) > 30:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


def pareto_png(chart: ParetoChart) -> bytes:
    with figure(margins=MARGINS) as fig:
        draw_pareto(fig, chart)
        return png(fig)


def draw_pareto(fig, chart: ParetoChart) -> list:
    """Dominated points grey, the front coloured and joined per workload; estimated points hollow
    and labelled ``~``; degraded artifacts marked with a red cross. Returns the point labels, placed
    clear of each other and inside the axes (``labels.place``)."""
    from matplotlib.lines import Line2D

    ax = fig.add_subplot()
    groups = sorted({p.group for p in chart.points})
    marks: list[Label] = []
    for gi, g in enumerate(groups):
        color, marker = PALETTE[gi % len(PALETTE)], MARKERS[gi % len(MARKERS)]
        idx = [i for i, p in enumerate(chart.points) if p.group == g]
        front = sorted((i for i in idx if i in chart.front), key=lambda i: chart.points[i].x)
        if len(front) > 1:
            ax.plot([chart.points[i].x for i in front], [chart.points[i].y for i in front], color=color,
                    lw=1.2, alpha=0.8, zorder=2)
        # one scatter per group (sizes and colours per point): a call per point made matplotlib
        # re-fit the axes over every earlier point each time, quadratic in the cases
        pts = [(chart.points[i], i in chart.front) for i in idx]
        edge = [color if on else DOMINATED for _, on in pts]
        ax.scatter([p.x for p, _ in pts], [p.y for p, _ in pts], marker=marker, zorder=3, linewidths=1.5,
                   s=[60 if on else 36 for _, on in pts], edgecolors=edge,
                   facecolors=["none" if p.estimated else c for (p, _), c in zip(pts, edge)])
        bad = [p for p, _ in pts if p.degraded]
        if bad:
            ax.scatter([p.x for p in bad], [p.y for p in bad], marker="x", s=90, color="#d62728", zorder=4)
        marks += [Label(p.x, p.y, ("~" if p.estimated else "") + p.label + (" DEGRADED" if p.degraded else ""),
                        "#212121" if on else "#616161", on) for p, on in pts]
    _log_if_wide(ax, "x", [p.x for p in chart.points])
    _log_if_wide(ax, "y", [p.y for p in chart.points])
    ax.margins(x=0.14, y=0.12)  # room for the labels around the outermost points
    ax.set_xlabel(f"{chart.x_label} — {chart.x_better} is better")
    ax.set_ylabel(f"{chart.y_label} — {chart.y_better} is better")
    ax.set_title(chart.title)
    handles = [Line2D([], [], color=PALETTE[0], marker="o", label="Pareto front"),
               Line2D([], [], color=DOMINATED, marker="o", ls="", label="dominated")]
    if any(p.estimated for p in chart.points):
        handles.append(Line2D([], [], color=PALETTE[0], marker="o", ls="", markerfacecolor="none",
                              label="~ estimated"))
    if len(groups) > 1:
        handles += [Line2D([], [], color=PALETTE[i % len(PALETTE)], marker=MARKERS[i % len(MARKERS)], ls="",
                           label=g) for i, g in enumerate(groups)]
    ax.legend(handles=handles, loc="best")
    if not chart.points:
        ax.text(0.5, 0.5, "no case has both figures", transform=ax.transAxes, ha="center", color="#616161")
    return place(fig, ax, marks)


def distributions_png(series: dict[str, list[tuple[str, tuple[float, ...], bool]]]) -> bytes:
    """One horizontal box plot per metric (TTFT, TPOT...) over repetitions, every repetition drawn."""
    names = [k for k, v in series.items() if v]
    rows = max((len(series[k]) for k in names), default=1)
    width, height = (9.2 if len(names) > 1 else 6.4), 1.3 + 0.32 * rows
    label_in = 0.3 + 0.055 * max((len(lab) + 1 for k in names for lab, _, _ in series[k]), default=4)  # 7-pt text
    margins = {"left": label_in / width, "right": 0.98, "top": 1 - 0.35 / height, "bottom": 0.55 / height,
               "wspace": 1.15 * label_in / (width / max(1, len(names)))}
    with figure(width, height, margins) as fig:
        axes = fig.subplots(1, max(1, len(names)), squeeze=False)[0]
        for ax, name in zip(axes, names):
            data = series[name]
            ax.boxplot([list(s) for _, s, _ in data], orientation="horizontal", widths=0.5, showfliers=False,
                       medianprops={"color": PALETTE[1]})
            dots = [(x, k, est) for k, (_, s, est) in enumerate(data, start=1) for x in s]  # one call: see pareto_png
            if dots:
                ax.scatter([x for x, _, _ in dots], [k for _, k, _ in dots], s=12, alpha=0.7, edgecolors=PALETTE[0],
                           facecolors=["none" if est else PALETTE[0] for _, _, est in dots], zorder=3)
            ax.set_yticks(range(1, len(data) + 1), [("~" if est else "") + lab for lab, _, est in data], fontsize=7)
            d = metric_catalogue.get(name)
            label = d.label if d and d.label else name
            ax.invert_yaxis()  # the first case on top, as in the tables
            ax.set_xlabel(label)
            ax.set_title(f"{label} across repetitions")
        if not names:
            axes[0].text(0.5, 0.5, "no repetition samples", transform=axes[0].transAxes, ha="center")
        return png(fig)


def roofline_png(ceilings: list[Ceiling], points: list[RooflinePoint]) -> bytes:
    with figure(6.4, 4.4, {**MARGINS, "left": 0.11}) as fig:
        draw_roofline(fig, ceilings, points)
        return png(fig)


def draw_roofline(fig, ceilings: list[Ceiling], points: list[RooflinePoint]) -> list:
    """Log-log roofline: FLOP/s against FLOP/byte; a ceiling is min(peak, bandwidth × intensity).
    Returns the point labels, placed clear of each other and inside the axes."""
    ax = fig.add_subplot()
    ai = [p.intensity for p in points] or [1.0]
    ridge = [c.peak_flops / c.bandwidth_bs for c in ceilings if c.peak_flops and c.bandwidth_bs]
    lo, hi = min(ai + ridge) / 8, max(ai + ridge) * 8
    xs = [lo * (hi / lo) ** (k / 200) for k in range(201)]
    for i, c in enumerate(ceilings):
        ys = [min(c.peak_flops or math.inf, (c.bandwidth_bs or math.inf) * x) for x in xs]
        if all(math.isinf(y) for y in ys):
            continue
        ax.plot(xs, ys, color=PALETTE[i % len(PALETTE)], ls="--" if c.server else "-",
                label=f"{'server ' if c.server else ''}{c.device} ceiling")
    where = {c.device: i for i, c in reversed(list(enumerate(ceilings)))}
    for server in (False, True):  # one scatter per marker (see draw_pareto)
        mine = [p for p in points if p.server == server]
        if mine:
            ax.scatter([p.intensity for p in mine], [p.flops for p in mine], marker="s" if server else "o", s=40,
                       color=[PALETTE[where.get(p.device, 0) % len(PALETTE)] for p in mine], zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP per byte read) — decode")
    ax.set_ylabel("achieved FLOP/s")
    ax.set_title("Decode on the roofline")
    if ceilings:
        ax.legend(loc="upper left")
    if not points:
        ax.text(0.5, 0.5, "no roofline figures", transform=ax.transAxes, ha="center")
    return place(fig, ax, [Label(p.intensity, p.flops, p.label) for p in points])
