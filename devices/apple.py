"""Apple Silicon Macs: CPU/GPU/ANE power and clocks from ``powermetrics``, memory from psutil.

``powermetrics --samplers cpu_power,gpu_power,ane_power -f plist -i N`` writes one XML plist per
interval, separated by NUL bytes (parsing and the reader thread: ``devices/_powermetrics.py``).
The thread keeps the latest sample and the sensors hand it out, so a sample never blocks on the
tool; a sample older than a few intervals is reported as stale (None + reason), never re-served.

Provenance decision (documented here because it is a judgement call): Apple Silicon has no
user-visible shunt resistors; powermetrics reports the SoC's own energy model (on-chip estimates
from activity counters, calibrated by Apple). That is the same class of number as Intel RAPL,
which edgeprof labels ``measured``: it is the device's own telemetry, not a model that edgeprof
applies. So the readings are ``kind=measured`` with ``source="powermetrics"`` and a note that
says "Apple energy model (not shunt resistors)" on every sensor, so no reader mistakes them for
rail measurements. ``estimated`` stays reserved for edgeprof's own models (e.g. the TDP model).

Energy: each sample carries ``*_energy`` in mJ over ``elapsed_ns``, so the package sensor also
yields a cumulative ``energy_j`` (sum of CPU+GPU+ANE energies) — the total.

powermetrics needs root. Without it the sensors are NullSensors that say so and how to enable it.
Where ``zeus-apple-silicon`` works, its IOReport energy COUNTERS (no sudo) are the total instead
(``devices/_ioreport.py``), and powermetrics only adds power, clocks and GPU busy.
"""
from __future__ import annotations

import platform as _platform
import subprocess
from pathlib import Path
from typing import Any, Callable

from .base import MEASURED, BaseDevice, DeviceInfo, NullSensor, Precision, Reading, Sensor, SensorInfo
from ._ioreport import IOReportEnergy, load_monitor
from ._powermetrics import (HINT, NOTE, PowermetricsStream, Runner, default_runner, energy_j, num, parse_stream,
                            power_w, section)
from .errors import DeviceError

__all__ = ["AppleSoc", "NOTE", "HINT", "energy_j", "parse_stream", "power_w"]


class PowermetricsSensor(Sensor):
    """One quantity out of the latest powermetrics sample."""

    def __init__(self, stream: PowermetricsStream, info: SensorInfo, pick: Callable[[dict], float | None],
                 carries_energy: bool = False):
        super().__init__(info)
        self.stream, self.pick, self.carries_energy = stream, pick, carries_energy

    def _read(self, t_ns: int) -> list[Reading]:
        sample, why = self.stream.snapshot()
        out = [self.reading(t_ns, self.pick(sample) if sample else None, reason=why)]
        if self.carries_energy:  # the package sensor also carries the cumulative energy
            total_j, note = self.stream.energy()
            out.append(self.reading(t_ns, total_j, quantity="energy_j", name="apple:pm_energy", note=note,
                                    reason=None if total_j is not None else "no sample with energy keys yet"))
        return out

    def read(self, t_ns: int) -> list[Reading]:
        out = super().read(t_ns)
        return [r if r.value is not None or r.reason else
                self.reading(t_ns, None, reason="not in this powermetrics sample") for r in out]

    def close(self) -> None:
        self.stream.close()


def _gpu_freq_mhz(sample: dict) -> float | None:
    hz = num(section(sample, "gpu").get("freq_hz"))
    return None if hz is None else hz / 1e6


def _gpu_busy(sample: dict) -> float | None:
    idle = num(section(sample, "gpu").get("idle_ratio"))
    return None if idle is None or not 0 <= idle <= 1 else 1.0 - idle


def _clusters_mhz(sample: dict) -> list[tuple[str, float]]:
    clusters = section(sample, "processor").get("clusters")
    out = []
    for i, c in enumerate(clusters if isinstance(clusters, list) else []):
        hz = num(c.get("freq_hz")) if isinstance(c, dict) else None
        if hz is not None:
            out.append((str(c.get("name", i)).lower()[:40], hz / 1e6))
    return out


class ClusterClocks(Sensor):
    """CPU clock: the fastest cluster, then one reading per cluster (E-Cluster, P-Cluster...)."""

    def __init__(self, stream: "PowermetricsStream", info: SensorInfo):
        super().__init__(info)
        self.stream = stream

    def _read(self, t_ns: int) -> list[Reading]:
        sample, why = self.stream.snapshot()
        clusters = _clusters_mhz(sample) if sample else []
        if not clusters:
            return [self.reading(t_ns, None, reason=why or "no CPU cluster in the sample")]
        return [self.reading(t_ns, max(hz for _, hz in clusters))] + [
            self.reading(t_ns, hz, name=f"apple:{name}_clock") for name, hz in clusters]


class AppleSoc(BaseDevice):
    kind = "apple"
    covers_host_cpu = True

    @staticmethod
    def is_available(root: Path | str = "/", *, host_platform: tuple[str, str] | None = None) -> bool:
        system, machine = host_platform or (_platform.system(), _platform.machine())
        return system == "Darwin" and machine == "arm64"

    @classmethod
    def open(cls, root: Path | str = "/", *, powermetrics: Runner | None = None, ioreport: Any | None = None,
             interval_ms: int = 100, chip: str | None = None) -> "AppleSoc":
        """Energy from IOReport counters when zeus-apple-silicon works (``ioreport`` = an injected
        monitor, ``False`` to skip it), else from powermetrics; clocks and GPU busy from
        powermetrics either way (where sudo allows)."""
        import psutil

        monitor = ioreport if ioreport is not None else load_monitor()
        sensors: list[Sensor] = [IOReportEnergy(monitor)] if monitor else []
        energy_source = "ioreport (zeus-apple-silicon, Apple energy model)" if monitor else None
        try:
            stream = PowermetricsStream(powermetrics or default_runner, interval_ms)
            sensors += _stream_sensors(stream, package_total=not monitor)
            energy_source = energy_source or "powermetrics (Apple energy model)"
        except DeviceError as exc:
            sensors += [NullSensor(f"apple:{p}", "power_w", "powermetrics", scope, reason=str(exc),
                                   hint=exc.hint or HINT)
                        for p, scope in (("package", "soc_package"), ("cpu", "cpu_cluster"),
                                         ("gpu", "gpu"), ("ane", "ane"))]
        sensors.append(_Memory())
        name = chip or _sysctl("machdep.cpu.brand_string") or "Apple Silicon"
        info = DeviceInfo(id=f"apple0:{name.lower().replace(' ', '-')}", kind="apple", name=name,
                          memory_bytes=int(psutil.virtual_memory().total),
                          specs={"energy_source": energy_source, "sample_interval_ms": interval_ms,
                                 "provenance_note": NOTE})
        return cls(info, sensors)


def _stream_sensors(stream: PowermetricsStream, package_total: bool) -> list[Sensor]:
    """Every value is the average over one powermetrics interval (``-i``): that is its update period,
    and reading faster only repeats it; powers are printed in mW and energies in mJ."""
    period_s = stream.interval_ms / 1e3

    def si(name: str, quantity: str, scope: str, total: bool = False) -> SensorInfo:
        p = Precision(resolution=1e-3, update_period_s=period_s, averaging_s=period_s,
                      source="powermetrics(1): one sample per -i interval; mW / mJ integers") \
            if quantity == "power_w" else None
        return SensorInfo(name=f"apple:{name}", quantity=quantity, source="powermetrics", scope=scope,
                          kind=MEASURED, note=NOTE, total=total, read_period_s=period_s, precision=p)

    return [
        PowermetricsSensor(stream, si("package", "power_w", "soc_package", total=package_total),
                           lambda s: power_w(s, "combined"), carries_energy=True),
        PowermetricsSensor(stream, si("cpu", "power_w", "cpu_cluster"), lambda s: power_w(s, "cpu")),
        PowermetricsSensor(stream, si("gpu", "power_w", "gpu"), lambda s: power_w(s, "gpu")),
        PowermetricsSensor(stream, si("ane", "power_w", "ane"), lambda s: power_w(s, "ane")),
        PowermetricsSensor(stream, si("gpu_clock", "clock_mhz", "gpu"), _gpu_freq_mhz),
        PowermetricsSensor(stream, si("gpu_utilization", "utilization", "gpu"), _gpu_busy),
        ClusterClocks(stream, si("cpu_clock", "clock_mhz", "cpu_cluster")),
    ]


class _Memory(Sensor):
    """Used unified memory (total − available) from psutil (the real OS, never re-rooted)."""

    def __init__(self):
        super().__init__(SensorInfo(name="mem:used", quantity="memory_used_bytes", source="psutil",
                                    scope="system", kind=MEASURED, note="unified memory (CPU+GPU)"))

    def _read(self, t_ns: int) -> list[Reading]:
        import psutil

        vm = psutil.virtual_memory()
        return [self.reading(t_ns, float(vm.total - vm.available))]


def _sysctl(key: str) -> str | None:
    try:
        out = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
