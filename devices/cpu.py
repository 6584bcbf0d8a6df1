"""The host CPU: identity from ``/proc/cpuinfo`` and ``/proc/meminfo`` (under ``root``), package
energy from RAPL powercap (devices/rapl.py), and — where RAPL is absent or unreadable — a labelled
TDP estimate driven by the CPU utilization; throttle evidence from devices/throttle.py.

Every sensor declares how often it is worth reading (``read_period_s``) and, for the energy
sources, its published precision (devices/precision.py), so the sampler reads only what changed.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from pathlib import Path

from .base import (ESTIMATED, MEASURED, WARMING_UP, BaseDevice, DeviceInfo, NullSensor, Precision, Reading,
                   Sensor, SensorInfo)
from .errors import DeviceError, NoPermission, NotPresent
from .load import USER_HZ, ProcStat, PsutilStat, system_stat
from .rapl import POWERCAP, RaplEnergy, rapl_zones
from .sysfs import FileReader
from .topology import cpu_identity, is_live

__all__ = ["CpuUtilization", "HostCpu", "RaplEnergy", "TdpModelPower", "TdpSpec", "rapl_zones", "slug"]
RAPL_HINT = ("RAPL energy counters are root-only since Linux 5.10 (CVE-2020-8694): run "
             "'sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj' or run edgeprof as root; "
             "on a VM or ARM board there is no RAPL and the estimate is all there is")


# --------------------------------------------------------------------------- identity
def _meminfo_bytes(reader: FileReader, want: tuple[str, ...] = ()) -> dict[str, int]:
    """/proc/meminfo in bytes; with ``want`` it stops as soon as those keys are found (the sampler
    reads it 20 times a second and needs two keys)."""
    out: dict[str, int] = {}
    for line in (reader.try_text("/proc/meminfo") or "").splitlines():
        if want and all(k in out for k in want):
            break
        key, _, val = line.partition(":")
        parts = val.split()
        if parts and parts[0].isdigit():
            out[key.strip()] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return out


ISA_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512_bf16", "avx512_vnni",
             "avx_vnni", "amx_tile", "amx_bf16", "amx_int8", "asimd", "asimddp", "sve", "i8mm")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --------------------------------------------------------------------------- sensors
class CpuUtilization(Sensor):
    """Busy fraction of all cores from ``/proc/stat`` (devices/load.py), over windows of at least
    ``min_period_s``, plus ``cpu:busy_time``: busy CPU-seconds of all cores since the sensor
    opened (the denominator of a process-attributed energy: worker CPU time ÷ busy CPU time).

    No silent zero (issue 13): until a window of ``min_window_s`` has passed since the sensor
    opened, the value is None with a ``warming up`` reason. Generating /proc/stat costs the
    kernel work proportional to CPUs × IRQs, so it is refreshed at most every ``min_period_s``;
    readers in the same sample (the TDP estimate, the throttle rule) share one refresh through
    ``busy_at``, whoever asks first. ``cpu:busy_time`` comes out in every sample in which
    /proc/stat was read, whichever reader triggered the read; a read that hits the cache repeats
    the utilization of the last window and leaves ``cpu:busy_time`` out (a counter value is never
    re-served under a newer time). ``expire`` makes the next read fresh (the end-of-case flush).
    """

    def __init__(self, min_period_s: float = 0.2, *, min_window_s: float = 0.1,
                 stat: ProcStat | PsutilStat | None = None, proc_root: Path | str = "/"):
        stat = stat or system_stat(proc_root)
        super().__init__(SensorInfo(
            name="cpu:utilization", quantity="utilization", scope="system",
            source=getattr(stat, "source", "/proc/stat"),
            kind=MEASURED, read_period_s=min_period_s,
            precision=Precision(update_period_s=1.0 / USER_HZ, source=(
                "psutil cpu_times (no /proc/stat here)" if isinstance(stat, PsutilStat)
                else f"proc(5): /proc/stat CPU times in USER_HZ ({USER_HZ}/s) ticks")),
            note=f"busy fraction of all cores over windows of at least {min_period_s:g} s"))
        self.min_period_ns = int(min_period_s * 1e9)
        self.min_window_ns = int(min_window_s * 1e9)
        self.stat = stat
        self._first = self._base = self.stat.read()
        self._base_ns = time.monotonic_ns()
        self.last_value: float | None = None
        self._last_t_ns: int | None = None   # sample time of the last utilization window
        self._busy_s, self._busy_t_ns = 0.0, None   # busy CPU-seconds since open, and the sample it was read in
        self._expired = False

    def busy_at(self, t_ns: int) -> float | None:
        """Busy fraction of the latest window (None while warming up); one refresh per
        ``min_period_s`` of sample time, shared by every caller."""
        last = self._last_t_ns
        if self._expired or last is None or t_ns < last or t_ns - last >= 0.9 * self.min_period_ns:
            self._refresh(t_ns)
        return self.last_value

    def expire(self) -> None:
        """The next read re-reads /proc/stat whatever the period (the sampler's end-of-case flush):
        ``cpu:busy_time`` is then known after the last repetition, not up to a period before."""
        self._expired = True

    def _refresh(self, t_ns: int) -> None:
        forced, self._expired = self._expired, False
        now_ns = time.monotonic_ns()
        if now_ns - self._base_ns < self.min_window_ns and not forced:
            return  # the window since the last refresh is too short to mean anything yet
        now = self.stat.read()
        self._busy_s, self._busy_t_ns = now.busy_s - self._first.busy_s, t_ns  # a counter: exact when read
        d_total = now.total_s - self._base.total_s
        if d_total <= 0 or now_ns - self._base_ns < self.min_window_ns:
            return  # no tick elapsed, or a forced read too soon: the utilization window stays open
        d_idle = now.idle_s - self._base.idle_s
        self.last_value = min(1.0, max(0.0, 1.0 - d_idle / d_total))
        self._base, self._base_ns, self._last_t_ns = now, now_ns, t_ns

    def warming_reason(self) -> str:
        return (f"{WARMING_UP}: CPU utilization needs a window of at least "
                f"{self.min_window_ns / 1e9:g} s since the sensor opened")

    def _read(self, t_ns: int) -> list[Reading]:
        busy = self.busy_at(t_ns)
        out = [self.reading(t_ns, busy, reason=None if busy is not None else self.warming_reason())]
        if self._busy_t_ns == t_ns:  # /proc/stat read in this sample (by this sensor or the estimate before it)
            out.append(self.reading(t_ns, self._busy_s, quantity="cpu_time_s", name="cpu:busy_time",
                                    note="busy CPU-seconds of all cores since the sensor opened"))
        return out

    def close(self) -> None:
        self.stat.close()


class TdpModelPower(Sensor):
    """Estimated package power: ``share × TDP × (idle_fraction + (1 − idle_fraction) × busy)``.

    ``share`` is the fraction of the socket's cores this OS sees (a 2-vCPU VM on a 56-core Xeon
    gets 2/56 of the TDP). Every reading is ``kind=estimated`` and names the model and inputs;
    while the CPU utilization is warming up, so is the estimate (None, never a 0-busy figure).
    """

    def __init__(self, util: CpuUtilization, tdp_w: float, share: float, idle_fraction: float,
                 basis: str):
        self.tdp_w, self.share, self.idle_fraction = tdp_w, share, idle_fraction
        note = (f"ESTIMATE: {share:.3g} x {tdp_w:g} W TDP x ({idle_fraction:g} + "
                f"{1 - idle_fraction:g} x CPU busy); TDP from {basis}")
        super().__init__(SensorInfo(
            name="cpu:power_estimate", quantity="power_w", source="tdp_model", scope="cpu_package",
            kind=ESTIMATED, total=True, note=note, read_period_s=util.info.read_period_s,
            precision=Precision(update_period_s=util.info.read_period_s,
                                source="a model, not a measurement: no accuracy is published for it")))
        self.util = util

    def expire(self) -> None:
        self.util.expire()

    def power_at(self, busy: float) -> float:
        return self.share * self.tdp_w * (self.idle_fraction + (1 - self.idle_fraction) * busy)

    def _read(self, t_ns: int) -> list[Reading]:
        busy = self.util.busy_at(t_ns)
        if busy is None:
            return [self.reading(t_ns, None, reason=self.util.warming_reason())]
        return [self.reading(t_ns, self.power_at(busy))]


class SystemMemory(Sensor):
    """Used system memory (MemTotal − MemAvailable) from ``/proc/meminfo`` under root, kept open;
    read every ``min_period_s`` (the kernel builds the whole file on every read, ~0.2 ms)."""

    def __init__(self, reader: FileReader, min_period_s: float = 0.25):
        super().__init__(SensorInfo(name="mem:used", quantity="memory_used_bytes", source="/proc/meminfo",
                                    scope="system", kind=MEASURED, read_period_s=min_period_s,
                                    note=f"read every {min_period_s:g} s"))
        self.handle = reader.handle("/proc/meminfo")

    def _read(self, t_ns: int) -> list[Reading]:
        m = meminfo_keys(self.handle.read_bytes(4096), (b"MemTotal:", b"MemAvailable:"))
        if len(m) < 2:
            raise NotPresent("/proc/meminfo lacks MemTotal/MemAvailable")
        return [self.reading(t_ns, float(m[b"MemTotal:"] - m[b"MemAvailable:"]))]

    def close(self) -> None:
        self.handle.close()


def meminfo_keys(data: bytes, keys: tuple[bytes, ...]) -> dict[bytes, int]:
    """The ``keys`` of /proc/meminfo content, in bytes, parsing only up to the last one found."""
    out: dict[bytes, int] = {}
    for line in data.split(b"\n"):
        parts = line.split()
        if len(parts) >= 2 and parts[0] in keys:
            if not parts[1].isdigit() or len(parts[1]) > 19:
                raise ValueError(f"/proc/meminfo: {line[:60]!r} is not a number")
            out[parts[0]] = int(parts[1]) * (1024 if parts[2:] == [b"kB"] else 1)
            if len(out) == len(keys):
                break
    return out


class CpuFrequency(Sensor):
    """Mean current frequency over cores from cpufreq ``scaling_cur_freq`` (kHz), kept open.
    Read every 0.5 s: a level that matters over seconds, one file per core (a choice, not a
    published period)."""

    def __init__(self, reader: FileReader, paths: list[str]):
        super().__init__(SensorInfo(name="cpu:clock", quantity="clock_mhz", source="cpufreq",
                                    scope="cpu_package", kind=MEASURED, read_period_s=0.5))
        self.paths = paths
        self.handles = [reader.handle(p) for p in paths]

    def mean_mhz(self) -> float:
        vals = [h.read_int() / 1e3 for h in self.handles]
        return sum(vals) / len(vals)

    def _read(self, t_ns: int) -> list[Reading]:
        return [self.reading(t_ns, self.mean_mhz())]

    def close(self) -> None:
        for h in self.handles:
            h.close()


class ThermalZone(Sensor):
    """One thermal zone's ``temp`` (m°C), kept open, read every second (temperatures move over
    seconds; on SoCs a read can be a firmware call)."""

    def __init__(self, reader: FileReader, path: str, zone_type: str, scope: str = "cpu_package"):
        super().__init__(SensorInfo(name=f"thermal:{zone_type}", quantity="temperature_c",
                                    source="thermal_zone", scope=scope, kind=MEASURED, read_period_s=1.0))
        self.path = path
        self.handle = reader.handle(f"{path}/temp")

    def _read(self, t_ns: int) -> list[Reading]:
        return [self.reading(t_ns, self.handle.read_int() / 1e3)]

    def close(self) -> None:
        self.handle.close()


@dataclass(frozen=True, slots=True)
class TdpSpec:
    """A TDP for the estimate, with where it came from (assets table, CLI flag, per-core rule)."""

    tdp_w: float
    socket_cores: int | None
    idle_fraction: float
    basis: str


class HostCpu(BaseDevice):
    kind = "cpu"

    @staticmethod
    def is_available(root: Path) -> bool:
        return True  # psutil works everywhere; identity degrades gracefully

    @classmethod
    def identify(cls, root: Path | str = "/", reader: FileReader | None = None) -> DeviceInfo:
        """Identity read through ``root`` (devices/topology.py): a figure a fixture tree lacks is
        None with why in ``specs["unknown"]``, never the live machine's."""
        reader = reader or FileReader(root)
        ci = cpu_identity(reader, root)
        model = str(ci["model"] or "unknown CPU")
        mem = _meminfo_bytes(reader).get("MemTotal")
        flags = [f for f in ISA_FLAGS if f in set(ci["flags"])]  # type: ignore[arg-type]
        specs = {"physical_cores": ci["physical"], "logical_cores": ci["logical"], "isa_flags": flags,
                 "arch": ci["arch"]}
        if ci["unknown"]:
            specs["unknown"] = ci["unknown"]
        return DeviceInfo(id=f"cpu0:{slug(model)}", kind="cpu", name=model, memory_bytes=mem, specs=specs)

    @classmethod
    def open(cls, root: Path | str = "/", *, tdp: TdpSpec | None = None,
             reader: FileReader | None = None, proc_root: Path | str = "/", covered_by: str | None = None) -> "HostCpu":
        """``proc_root`` holds the live ``/proc/stat`` (the real OS unless a test builds one).
        ``covered_by``: the measured total sensor of a board whose power includes this CPU (a
        Jetson's VDD_IN): no TDP estimate is made then — a measured total wins over an estimate,
        and a second "total" beside it would be read as the CPU's own measurement."""
        reader = reader or FileReader(root)
        info = cls.identify(root, reader)
        sensors: list[Sensor] = []
        util = CpuUtilization(proc_root=proc_root)
        if not is_live(root) and Path(proc_root).resolve() == Path("/"):
            util.info = replace(util.info, note=util.info.note + "; the live CPU time of the machine running edgeprof "
                                                                  "(/proc/stat is never re-rooted to the sysroot)")
        rapl: Sensor
        try:
            zones = rapl_zones(reader)
            rapl = RaplEnergy(reader, zones) if zones else NullSensor(
                "rapl:package", "energy_j", "rapl", "cpu_package",
                reason=f"no RAPL package zones under {POWERCAP}", hint=RAPL_HINT)
        except NoPermission as exc:
            rapl = NullSensor("rapl:package", "energy_j", "rapl", "cpu_package", reason=str(exc), hint=RAPL_HINT)
        except (DeviceError, ValueError) as exc:
            rapl = NullSensor("rapl:package", "energy_j", "rapl", "cpu_package", reason=str(exc), hint=RAPL_HINT)
        sensors.append(rapl)
        if not rapl.available:
            sensors.append(_estimate_sensor(util, tdp, info, covered_by))
        sensors += [util, SystemMemory(reader)]
        freq = reader.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq")
        if freq:
            sensors.append(CpuFrequency(reader, freq))
        for zone in reader.glob("/sys/class/thermal/thermal_zone*"):
            ztype = reader.try_text(f"{zone}/type") or ""
            if ztype in ("x86_pkg_temp", "cpu-thermal", "CPU-therm", "k10temp", "acpitz"):
                sensors.append(ThermalZone(reader, zone, ztype))
                break
        from .throttle import cpu_throttle  # local: throttle.py imports this module

        throttle = cpu_throttle(reader, util)
        if throttle is not None:
            sensors.append(throttle)
        info.specs["energy_source"] = ("rapl" if rapl.available else f"the board's measured total ({covered_by})"
                                       if covered_by else "tdp_model (estimated)")
        return cls(info, sensors)


def _estimate_sensor(util: CpuUtilization, tdp: TdpSpec | None, info: DeviceInfo, covered_by: str | None) -> Sensor:
    if covered_by:
        return NullSensor("cpu:power_estimate", "power_w", "tdp_model", "cpu_package",
                          reason=f"not estimated: the board's measured total {covered_by} includes this CPU (a "
                                 f"measured total wins over a TDP estimate)")
    if tdp is None:
        return NullSensor("cpu:power_estimate", "power_w", "tdp_model", "cpu_package",
                          reason="no RAPL and no TDP known for this CPU",
                          hint="pass --cpu-tdp-w WATTS or add the CPU to assets/devices/cpus.csv")
    logical = info.specs.get("logical_cores") or 1
    share = 1.0 if not tdp.socket_cores else min(1.0, float(logical) / float(tdp.socket_cores))
    return TdpModelPower(util, tdp.tdp_w, share, tdp.idle_fraction, tdp.basis)
