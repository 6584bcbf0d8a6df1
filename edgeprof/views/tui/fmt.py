"""Small formatting helpers shared by the panels (units in every figure; ``~`` marks an estimate,
as in the Markdown table)."""
from __future__ import annotations

import math


def dur(s: float | None) -> str:
    """``01:42`` or ``1:02:03``; ``--:--`` when unknown."""
    if s is None or not math.isfinite(s) or s < 0:
        return "--:--"
    s = int(round(s))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"


def size(b: float | None) -> str:
    if b is None:
        return "n/a"
    for unit, f in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(b) >= f:
            return f"{b / f:.1f} {unit}" if unit == "GiB" else f"{b / f:.0f} {unit}"
    return f"{b:.0f} B"


def num(v: float | None, digits: int = 3) -> str:
    """A figure with ``digits`` significant digits, without scientific notation for common sizes."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    a = abs(v)
    if a >= 10 ** digits or a == 0:
        return f"{v:.0f}"
    if a < 1e-3:
        return f"{v:.{max(0, digits - 1)}e}"
    dec = max(0, digits - 1 - int(math.floor(math.log10(a))))
    return f"{v:.{dec}f}"


def est(text: str, estimated: bool) -> str:
    return ("~" + text) if estimated and text and not text.startswith("~") else text


def ratio(r: float | None, ci: list | tuple | None = None) -> str:
    """``0.099×`` or ``0.099× [0.097–0.101]``: the interval one word, as in the bench table's cell, so a
    panel that wraps its lines never splits it across two."""
    if r is None:
        return "n/a"
    out = f"{num(r)}×"
    if ci and len(ci) == 2 and None not in ci:
        out += f" [{num(ci[0])}–{num(ci[1])}]"
    return out


def reading(value: float | None, unit: str, quantity: str = "") -> str:
    """A sensor reading in a unit people read: W, °C, %, MHz, MiB/GiB."""
    if value is None:
        return "n/a"
    if unit == "B":
        return size(value)
    if unit == "ratio" or quantity == "utilization":
        return f"{value * 100:.0f} %"
    if unit == "C":
        return f"{value:.0f} °C"
    if unit == "bool":
        return "yes" if value else "no"
    return f"{num(value)} {unit}".strip()
