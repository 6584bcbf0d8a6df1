"""Apple Silicon energy counters through IOReport, read by ``zeus-apple-silicon`` (no sudo).

Why prefer it over powermetrics (issue 4: "if you find a maintained library that reads IOReport
without sudo, prefer it"): ``zeus_apple_silicon.AppleEnergyMonitor`` (ml-energy, the Zeus
project's macOS backend) returns CUMULATIVE energy per subsystem in mJ from
``get_cumulative_energy()`` — ``cpu_total_mj``, ``gpu_mj``, ``ane_mj``, ``dram_mj`` — each
``None`` where the chip does not report it. A counter needs no streaming thread and no root.
The numbers are still Apple's energy model (on-chip estimates, not shunt resistors).
The library is imported lazily (``load_monitor``); tests inject a monitor object.
"""
from __future__ import annotations

import logging
from typing import Any

from .base import MEASURED, Precision, Reading, Sensor, SensorInfo

log = logging.getLogger(__name__)

NOTE = ("Apple energy model via IOReport (zeus-apple-silicon; not shunt resistors); total = sum of "
        "the CPU, GPU, ANE and DRAM channels the chip reports, not the whole machine")
PARTS = (("cpu", "cpu_total_mj"), ("gpu", "gpu_mj"), ("ane", "ane_mj"), ("dram", "dram_mj"))


def load_monitor() -> Any | None:
    """An ``AppleEnergyMonitor``, or None (library absent or IOReport unavailable), logged."""
    try:
        from zeus_apple_silicon import AppleEnergyMonitor  # type: ignore[import-not-found]
    except ImportError:
        log.info("zeus-apple-silicon is not installed; falling back to powermetrics (needs sudo)")
        return None
    try:
        return AppleEnergyMonitor()
    except (OSError, RuntimeError) as exc:
        log.warning("IOReport would not start (%s); falling back to powermetrics", exc)
        return None


class IOReportEnergy(Sensor):
    """Energy since the first read: the total, then one reading per subsystem."""

    def __init__(self, monitor: Any):
        super().__init__(SensorInfo(name="apple:energy", quantity="energy_j", source="ioreport",
                                    scope="soc_package", kind=MEASURED, total=True, note=NOTE,
                                    precision=Precision(resolution=1e-3, source=(
                                        "zeus-apple-silicon get_cumulative_energy() in mJ; IOReport's "
                                        "update period is not published"))))
        self.monitor = monitor
        self._first: dict[str, int] | None = None
        self._last: dict[str, int] = {}

    def _read(self, t_ns: int) -> list[Reading]:
        m = self.monitor.get_cumulative_energy()
        now = {}
        for name, attr in PARTS:
            v = getattr(m, attr, None)
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"IOReport {name} energy is not a non-negative integer mJ: {str(v)[:40]!r}")
            now[name] = v
        if not now:
            raise ValueError("IOReport reported no CPU/GPU/ANE/DRAM energy channel")
        for name, mj in now.items():
            if mj < self._last.get(name, mj):
                raise ValueError(f"IOReport {name} energy went backwards ({self._last[name]} -> {mj} mJ)")
        self._last = now
        if self._first is None:
            self._first = dict(now)
        out = [self.reading(t_ns, sum(mj - self._first.get(n, mj) for n, mj in now.items()) / 1e3)]
        for name, _ in PARTS:
            value = (now[name] - self._first.get(name, now[name])) / 1e3 if name in now else None
            out.append(self.reading(t_ns, value, name=f"apple:{name}_energy", note="",
                                    reason=None if value is not None else "not reported by IOReport on this chip"))
        return out
