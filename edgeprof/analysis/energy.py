"""Energy over a time window from sampled readings — pure functions, one rule each.

- A cumulative counter (``energy_j``: RAPL, NVML total-energy) is read as a difference, linearly
  interpolated at the window edges between the counter's real updates: a counter read again
  before it updates (NVML every ~100 ms, RAPL ~1 ms; the sampler may read faster) repeats its
  value, and a run of repeats is dropped (``updates``) so an edge is not pinned to a stale value.
  With the sampler reading at least twice per update (``floor_hz``), the error at each edge stays
  within one update period's energy: what ``devices.precision.energy_uncertainty_j`` states.
- A power reading (``power_w``: INA3221 rail, NVML power, TDP model) is integrated with the
  trapezoid rule over the samples inside the window plus interpolated edge values.
Both return None (never 0) when the samples do not cover the window.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Iterable, Sequence

Series = list[tuple[int, float]]


def series(samples: Iterable, sensor: str, quantity: str) -> Series:
    out: Series = []
    for s in samples:
        for r in s.readings:
            if r.sensor == sensor and r.quantity == quantity and r.value is not None:
                out.append((s.t_ns, float(r.value)))
                break
    return out


Gap = tuple[int, "int | None", str, int]


def gaps(samples: Iterable, sensor: str, quantity: str) -> list[Gap]:
    """Spans where a sensor that had given values gave none: ``(t_last_good_ns, t_back_ns or
    None, reason, t_noticed_ns)``. The span is open at both ends: the value is known at the last
    good reading and again when it is back, nowhere between. A sample that did not read the
    sensor at all (not its tick) is neither."""
    out: list[Gap] = []
    last_good, lost = None, None
    for s in samples:
        r = next((r for r in s.readings if r.sensor == sensor and r.quantity == quantity), None)
        if r is None:
            continue
        if r.value is None:
            if last_good is not None and lost is None:
                lost = (last_good, r.reason or "no value", s.t_ns)
        else:
            if lost is not None:
                out.append((lost[0], s.t_ns, lost[1], lost[2]))
                lost = None
            last_good = s.t_ns
    if lost is not None:
        out.append((lost[0], None, lost[1], lost[2]))
    return out


def overlaps(gs: Sequence[Gap], t0_ns: int, t1_ns: int) -> bool:
    """True when [t0, t1] reaches into a gap: no value there may be interpolated across it."""
    return any(t1_ns > g0 and (g1 is None or t0_ns < g1) for g0, g1, _, _ in gs)


def interp(ser: Sequence[tuple[int, float]], t_ns: int) -> float | None:
    """Linear interpolation; None outside the sampled range (no extrapolation)."""
    if not ser or t_ns < ser[0][0] or t_ns > ser[-1][0]:
        return None
    ts = [t for t, _ in ser]
    i = bisect_left(ts, t_ns)
    if ts[i] == t_ns:
        return ser[i][1]
    (t0, v0), (t1, v1) = ser[i - 1], ser[i]
    return v0 + (v1 - v0) * (t_ns - t0) / (t1 - t0)


def updates(ser: Series) -> Series:
    """A counter's readings where it changed: the first reading of each run of equal values (the
    reading nearest its update), plus the last reading of the series (the value holds until then)."""
    out: Series = []
    for t, v in ser:
        if not out or v != out[-1][1]:
            out.append((t, v))
    if ser and out[-1][0] != ser[-1][0]:
        out.append(ser[-1])
    return out


def counter_delta_j(ser: Series, t0_ns: int, t1_ns: int) -> float | None:
    ser = updates(ser)
    a, b = interp(ser, t0_ns), interp(ser, t1_ns)
    if a is None or b is None:
        return None
    return max(0.0, b - a)


def integrate_power_j(ser: Series, t0_ns: int, t1_ns: int) -> float | None:
    """Trapezoid integral of power (W) over [t0, t1] in joules."""
    a, b = interp(ser, t0_ns), interp(ser, t1_ns)
    if a is None or b is None or t1_ns < t0_ns:
        return None
    pts = [(t0_ns, a)] + [(t, v) for t, v in ser if t0_ns < t < t1_ns] + [(t1_ns, b)]
    return sum((t2 - t1) / 1e9 * (v1 + v2) / 2 for (t1, v1), (t2, v2) in zip(pts, pts[1:]))


def window_energy_j(ser: Series, quantity: str, t0_ns: int, t1_ns: int) -> float | None:
    if quantity == "energy_j":
        return counter_delta_j(ser, t0_ns, t1_ns)
    if quantity == "power_w":
        return integrate_power_j(ser, t0_ns, t1_ns)
    raise ValueError(f"cannot take energy from a {quantity} reading")


def reading_source(samples: Iterable, sensor: str, quantity: str) -> str | None:
    """The source a sensor's own readings name (the first with a value): provenance is copied
    from the reading, never restated here."""
    for s in samples:
        for r in s.readings:
            if r.sensor == sensor and r.quantity == quantity and r.value is not None:
                return r.source
    return None


def read_period_s(ser: Series) -> float | None:
    """How often a sensor was actually read: the median spacing of its readings (each sensor has
    its own period, e.g. /proc/meminfo every 0.25 s at --sample-hz 20); None with fewer than two."""
    gaps_ns = sorted(b[0] - a[0] for a, b in zip(ser, ser[1:]))
    return round(gaps_ns[len(gaps_ns) // 2] / 1e9, 6) if gaps_ns else None


def time_average(ser: Series, t0_ns: int, t1_ns: int) -> float | None:
    """Time-weighted mean of a sampled level (memory, power) over [t0, t1]."""
    if t1_ns <= t0_ns:
        return interp(ser, t0_ns)
    integral = integrate_power_j(ser, t0_ns, t1_ns)  # same trapezoid, unit-agnostic
    return None if integral is None else integral / ((t1_ns - t0_ns) / 1e9)


def mean_power_w(ser: Series, quantity: str, t0_ns: int, t1_ns: int) -> float | None:
    e = window_energy_j(ser, quantity, t0_ns, t1_ns)
    dt = (t1_ns - t0_ns) / 1e9
    return None if e is None or dt <= 0 else e / dt
