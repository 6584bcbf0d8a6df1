"""``edgeprof devices --check``: read every sensor twice and judge each reading.

Verdicts (one per reading name, so a RAPL sensor with two packages gets three; a windowed sensor
that was ``warming up`` on the first read is judged on the second):
- ``unavailable``: no value (absent hardware, no permission...), with the reason and the hint;
- ``stale``: a cumulative counter (``energy_j``) that did not move between the two reads;
- ``implausible``: outside the physical range of its quantity, or a counter that went backwards;
- ``disagrees``: a counter whose derived power (Δenergy/Δt) differs from the mean of a power
  sensor of the same device and scope by more than ``tolerance`` (relative);
- ``ok``.
Why both checks: users' top complaint is energy they cannot trust (silent zeros, stale counters,
tools that disagree); this makes each of those visible before a sweep starts.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

from .base import WARMING_UP, Device, Reading, Sensor

OK, UNAVAILABLE, STALE, IMPLAUSIBLE, DISAGREES = "ok", "unavailable", "stale", "implausible", "disagrees"

#: Plausible ranges per quantity (inclusive). Power up to 2 kW covers a GPU board or a server.
RANGES: dict[str, tuple[float, float]] = {
    "power_w": (0.0, 2000.0), "power_limit_w": (0.0, 2000.0), "utilization": (0.0, 1.0),
    "temperature_c": (-40.0, 150.0), "clock_mhz": (0.0, 10000.0), "throttled": (0.0, 1.0),
    "memory_used_bytes": (0.0, 2.0 ** 50), "memory_total_bytes": (0.0, 2.0 ** 50),
    "rss_bytes": (0.0, 2.0 ** 50), "uss_bytes": (0.0, 2.0 ** 50), "cpu_time_s": (0.0, 1e9),
    "energy_j": (0.0, 1e12),
}


@dataclass(frozen=True, slots=True)
class Verdict:
    sensor: str
    quantity: str
    status: str
    value: float | None = None
    unit: str = ""
    source: str = ""
    kind: str = ""
    detail: str = ""
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(device: Device, read_twice_gap_s: float = 0.5, *, tolerance: float = 0.25,
          sleep: Callable[[float], None] = time.sleep,
          clock_ns: Callable[[], int] = time.monotonic_ns) -> list[Verdict]:
    """Read every sensor of ``device`` twice, ``read_twice_gap_s`` apart, and judge each reading."""
    sensors = device.sensors()
    first = _read_all(sensors, clock_ns())
    sleep(read_twice_gap_s)
    second = _read_all(sensors, clock_ns())
    verdicts: list[Verdict] = []
    derived: dict[str, tuple[float, str]] = {}   # counter name -> (power W, scope)
    for key, (r2, sensor) in second.items():
        r1 = first.get(key, (None, None))[0]
        v = _judge(r1, r2, sensor)
        if v.status == OK and r2.quantity == "energy_j" and r1 is not None:
            dt_s = (r2.t_ns - r1.t_ns) / 1e9
            if dt_s > 0:
                derived[key] = ((r2.value - r1.value) / dt_s, r2.scope)  # type: ignore[operator]
        verdicts.append(v)
    return [_cross_check(v, derived, first, second, tolerance) for v in verdicts]


def _read_all(sensors: list[Sensor], t_ns: int) -> dict[str, tuple[Reading, Sensor]]:
    out: dict[str, tuple[Reading, Sensor]] = {}
    for s in sensors:
        for r in s.read(t_ns):
            out[r.sensor] = (r, s)
    return out


def _verdict(r: Reading, status: str, detail: str = "", hint: str | None = None) -> Verdict:
    return Verdict(sensor=r.sensor, quantity=r.quantity, status=status, value=r.value, unit=r.unit,
                   source=r.source, kind=r.kind, detail=detail, hint=hint)


def _judge(r1: Reading | None, r2: Reading, sensor: Sensor) -> Verdict:
    if r1 is not None and r1.value is None and (r1.reason or "").startswith(WARMING_UP) and r2.value is not None:
        if r2.quantity == "energy_j":  # a counter needs two values to be judged
            return _verdict(r2, UNAVAILABLE, "warming up on the first read; check again with a longer gap")
        r1 = r2  # the first read only opened the window: judge the second on its own
    if r2.value is None or r1 is None or r1.value is None:
        bad = r2 if r2.value is None else r1
        reason = (bad.reason if bad is not None else None) or sensor.info.reason or "no value"
        return _verdict(r2, UNAVAILABLE, reason, sensor.info.hint)
    lo, hi = RANGES.get(r2.quantity, (float("-inf"), float("inf")))
    for r in (r1, r2):
        if not lo <= r.value <= hi:  # type: ignore[operator]
            return _verdict(r2, IMPLAUSIBLE, f"{r.value:g} {r2.unit} is outside [{lo:g}, {hi:g}]")
    if r2.quantity == "energy_j":
        if r2.value < r1.value:  # type: ignore[operator]
            return _verdict(r2, IMPLAUSIBLE, f"counter went backwards ({r1.value:g} -> {r2.value:g} J)")
        if r2.value == r1.value:
            dt_s = (r2.t_ns - r1.t_ns) / 1e9
            return _verdict(r2, STALE, f"counter did not move in {dt_s:.2f} s",
                            "read again with a longer gap; a counter that never moves is not usable")
    return _verdict(r2, OK)


def _cross_check(v: Verdict, derived: dict[str, tuple[float, str]], first: dict, second: dict,
                 tolerance: float) -> Verdict:
    """Compare a counter's derived power with power sensors of the same scope."""
    if v.sensor not in derived:
        return v
    counter_w, scope = derived[v.sensor]
    peers = []
    for key, (r2, _) in second.items():
        r1 = first.get(key, (None, None))[0]
        if (r2.quantity == "power_w" and r2.scope == scope and r2.value is not None
                and r1 is not None and r1.value is not None):
            peers.append((key, (r1.value + r2.value) / 2))
    if not peers:
        return Verdict(**{**v.to_dict(), "detail": f"derived power {counter_w:.3g} W (no power sensor "
                                                   f"of scope {scope} to compare)"})
    notes = []
    for key, mean_w in peers:
        ref = max(abs(mean_w), abs(counter_w), 1e-9)
        rel = abs(counter_w - mean_w) / ref
        notes.append(f"{key} {mean_w:.3g} W ({rel:.0%} apart)")
        if rel > tolerance and abs(counter_w - mean_w) > 0.5:  # < 0.5 W apart is noise at idle
            return Verdict(**{**v.to_dict(), "status": DISAGREES,
                              "detail": f"derived power {counter_w:.3g} W vs " + "; ".join(notes),
                              "hint": "power sensors that average over a longer window than the gap "
                                      "disagree on changing loads: re-check at steady load"})
    return Verdict(**{**v.to_dict(), "detail": f"derived power {counter_w:.3g} W agrees with " + "; ".join(notes)})
