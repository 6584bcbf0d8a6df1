"""A terminal chart with axes: y labels and unit, a fixed top, a dashed baseline (the idle power),
phase shading behind the bars, and a time axis (−60 s … now).

Pure text rendering (a Rich ``Text``) from bins, so the live screen, the snapshots and the tests
draw the same thing; btop/nvitop-style eighth blocks give 8 levels per row.
"""
from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text

from edgeprof.views.tui.series import BIN_NS, Series

EIGHTHS = " ▁▂▃▄▅▆▇█"


@dataclass(frozen=True)
class Palette:
    bar: str = "green"
    baseline: str = "yellow"
    axis: str = "grey50"
    shade: dict | None = None     # phase name -> background colour


def columns(series: Series, now_ns: int, span_s: float, width: int) -> list[float | None]:
    """One value per column (mean of the bins it covers), oldest left; None where nothing was sampled."""
    if width <= 0:
        return []
    col_ns = span_s * 1e9 / width
    t0 = now_ns - span_s * 1e9
    sums = [0.0] * width
    counts = [0] * width
    for b in series.window(now_ns, span_s):
        i = int((b.t_ns + BIN_NS / 2 - t0) // col_ns)
        if 0 <= i < width and b.n:
            sums[i] += b.total
            counts[i] += b.n
    return [s / c if c else None for s, c in zip(sums, counts)]


def phase_columns(phases, now_ns: int, span_s: float, width: int) -> list[str | None]:
    """The phase under each column (the last one that covers its middle)."""
    out: list[str | None] = [None] * width
    if width <= 0:
        return out
    col_ns = span_s * 1e9 / width
    t0 = now_ns - span_s * 1e9
    for name, a, b in phases:
        b = now_ns if b is None else b
        lo = max(0, int((a - t0) // col_ns))
        hi = min(width - 1, int((b - t0) // col_ns))
        for i in range(lo, hi + 1):
            out[i] = name
    return out


def _label(v: float) -> str:
    return f"{v:.0f}" if v >= 10 or v == int(v) else f"{v:.1f}"


def render(values: list[float | None], top: float, height: int, *, baseline: float | None = None,
           shades: list[str | None] | None = None, palette: Palette = Palette(), span_s: float = 60,
           fmt=_label) -> Text:
    """``height`` rows of bars plus one time-axis row."""
    width = len(values)
    top = top or 1.0
    gut = max(len(fmt(top)), len(fmt(0.0)))
    shade = palette.shade or {}
    text = Text(no_wrap=True, overflow="crop")
    base_row = None
    if baseline is not None and 0 <= baseline <= top:
        base_row = min(height - 1, int(baseline / top * height))
    for row in range(height - 1, -1, -1):
        label = fmt(top) if row == height - 1 else fmt(0.0) if row == 0 else ""
        text.append(f"{label:>{gut}}" + ("┤" if label else "│"), style=palette.axis)
        run, run_style = [], None     # cells of one style go in one span: a redraw stays cheap
        for i, v in enumerate(values):
            bg = shade.get(shades[i]) if shades and shades[i] else None
            if v is None:
                ch, fg = (("╌", palette.baseline) if row == base_row else (" ", palette.bar))
            else:
                eighths = max(0, min(height * 8, round(v / top * height * 8)))
                fill = eighths - row * 8
                ch = "█" if fill >= 8 else EIGHTHS[fill] if fill > 0 else ("╌" if row == base_row else " ")
                fg = palette.baseline if ch == "╌" else palette.bar
            style = f"{fg} on {bg}" if bg else fg
            if style != run_style and run:
                text.append("".join(run), style=run_style)
                run = []
            run_style = style
            run.append(ch)
        if run:
            text.append("".join(run), style=run_style)
        text.append("\n")
    left, right = f"−{span_s:.0f} s", "now"
    axis = " " * (gut + 1) + left + " " * max(1, width - len(left) - len(right)) + right
    text.append(axis, style=palette.axis)
    return text
