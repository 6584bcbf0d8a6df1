"""Bounded live history for the charts (nvitop's ``history.py``: fixed-size deques, a scale that
moves at most once a second, monotonic timestamps).

Why binned: the sampler may run at 200 Hz and a chart is ~50 columns wide; folding each sample into
a 0.25 s bin on arrival keeps memory bounded (``HISTORY_S`` of bins, whatever the rate) and makes a
redraw cost the same at 1 Hz or 200 Hz.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

BIN_NS = 250_000_000      # one bin = 0.25 s
HISTORY_S = 180           # kept; a chart shows the last 60 s or more
RESCALE_NS = 1_000_000_000


@dataclass(slots=True)
class Bin:
    t_ns: int             # start of the bin
    total: float = 0.0
    n: int = 0
    peak: float = float("-inf")

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else float("nan")


@dataclass
class Series:
    """Samples folded into fixed bins; the newest bin is still filling."""

    bins: deque = field(default_factory=lambda: deque(maxlen=HISTORY_S * 1_000_000_000 // BIN_NS))
    last: float | None = None
    last_t_ns: int = 0

    def add(self, t_ns: int, value: float) -> None:
        start = t_ns - t_ns % BIN_NS
        if not self.bins or self.bins[-1].t_ns < start:
            self.bins.append(Bin(start))
        b = self.bins[-1]  # a late (out-of-order) sample folds into the newest bin
        b.total += value
        b.n += 1
        b.peak = max(b.peak, value)
        self.last, self.last_t_ns = value, t_ns

    def window(self, now_ns: int, span_s: float) -> list[Bin]:
        lo = now_ns - int(span_s * 1e9)
        return [b for b in self.bins if b.t_ns + BIN_NS > lo and b.t_ns <= now_ns]

    def peak(self, now_ns: int, span_s: float) -> float | None:
        vals = [b.peak for b in self.window(now_ns, span_s) if b.n]
        return max(vals) if vals else None

    def mean_since(self, t0_ns: int) -> float | None:
        tot = n = 0
        for b in self.bins:
            if b.t_ns >= t0_ns - t0_ns % BIN_NS and b.n:
                tot += b.total
                n += b.n
        return tot / n if n else None


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ x (axis tops people can read)."""
    if not x or x <= 0 or not math.isfinite(x):
        return 1.0
    k = math.floor(math.log10(x))
    for m in (1, 2, 2.5, 5, 10):
        top = m * 10 ** k
        if top >= x * 0.999999:
            return float(top)
    return float(10 ** (k + 1))


@dataclass
class Scale:
    """A fixed y-axis: starts at ``floor`` (e.g. the device's power limit when known), grows to a
    nice ceiling above the data, never shrinks during a run, and moves at most once a second — so a
    constant 12 W is the same height in every frame."""

    top: float = 1.0
    changed_ns: int = -RESCALE_NS

    def fit(self, peak: float | None, now_ns: int) -> float:
        if peak is not None and peak > self.top and now_ns - self.changed_ns >= RESCALE_NS:
            self.top = nice_ceiling(peak * 1.1)
            self.changed_ns = now_ns
        return self.top
