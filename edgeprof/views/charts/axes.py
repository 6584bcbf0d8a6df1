"""Scaled axes shared by every chart back-end (matplotlib figures, plotext terminal charts, TUI
widgets): pick a readable unit for a quantity and a few round ticks.

Why shared: a power trace in the HTML report, in the terminal and in the TUI should say the same
"MiB" or "GiB" for the same data and carry the same unit in its axis label; a unit chosen in three
places drifts apart.
"""
from __future__ import annotations

import math

#: quantity suffix (as in sample columns and metric names) -> base unit shown on an axis
UNITS = {"w": "W", "j": "J", "bytes": "B", "s": "s", "ms": "ms", "ns": "ns", "ratio": "", "utilization": ""}

BYTE_UNITS = ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"), (1, "B"))
_SECONDS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"))


def unit_of(quantity: str) -> str:
    """``power_w`` -> ``W``, ``rss_bytes`` -> ``B``, ``ttft_ms`` -> ``ms``; unknown -> ``""``."""
    tail = quantity.rsplit("_", 1)[-1].lower()
    return UNITS.get(tail, UNITS.get(quantity.lower(), ""))


def scale_for(unit: str, peak: float | None) -> tuple[float, str]:
    """(factor to multiply values by, unit label) so that ``peak`` reads as a number of a few digits:
    bytes become KiB/MiB/GiB, seconds become ms/µs; other units are left alone."""
    peak = abs(peak or 0.0)
    if unit in ("B", "bytes"):
        for size, name in BYTE_UNITS:
            if peak >= size:
                return 1.0 / size, name
        return 1.0, "B"
    if unit == "s" and peak:
        for size, name in _SECONDS:
            if peak >= size:
                return 1.0 / size, name
        return 1e6, "µs"
    if unit == "ns" and peak:
        return scale_for("s", peak / 1e9)[0] / 1e9, scale_for("s", peak / 1e9)[1]
    return 1.0, unit


def axis_label(name: str, unit: str) -> str:
    return f"{name} ({unit})" if unit else name


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round ticks (1, 2, 2.5, 5 × 10^k steps) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        return [lo]
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step) * step
    ticks, t = [], start
    while t <= hi + step * 1e-9:
        if t >= lo - step * 1e-9:
            ticks.append(round(t, 12))
        t += step
    return ticks
