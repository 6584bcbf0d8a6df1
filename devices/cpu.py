"""The host CPU: identity from ``/proc/cpuinfo`` and ``/proc/meminfo`` (under ``root``), package
energy from RAPL powercap, and — where RAPL is absent or unreadable — a labelled TDP estimate.

RAPL rules (kernel ``Documentation/power/powercap/powercap.rst``):
- only top-level ``intel-rapl:N`` zones whose ``name`` starts with ``package`` are summed; the
  ``intel-rapl:N:M`` subzones (core, uncore, dram) are parts of a package and would double count,
  ``psys`` is the whole platform and is reported on its own, never added;
- ``energy_uj`` wraps at ``max_energy_range_uj``: each sensor unwraps it into a monotonic counter;
- since CVE-2020-8694 ``energy_uj`` is root-only (0400): that is a NoPermission with a fix.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .base import ESTIMATED, MEASURED, BaseDevice, DeviceInfo, NullSensor, Reading, Sensor, SensorInfo
from .errors import DeviceError, NoPermission, NotPresent
from .sysfs import FileReader

POWERCAP = "/sys/class/powercap"
RAPL_HINT = ("RAPL energy counters are root-only since Linux 5.10 (CVE-2020-8694): run "
             "'sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj' or run edgeprof as root; "
             "on a VM or ARM board there is no RAPL and the estimate is all there is")


# --------------------------------------------------------------------------- identity
def _cpuinfo(reader: FileReader) -> dict[str, object]:
    text = reader.try_text("/proc/cpuinfo") or ""
    model, flags, cores = None, [], set()
    n_logical, phys = 0, None
    for line in text.splitlines():
        key, _, val = line.partition(":")
        key, val = key.strip(), val.strip()
        if key == "processor":
            n_logical += 1
        elif key in ("model name", "Model", "Hardware") and model is None and val:
            model = val
        elif key in ("flags", "Features") and not flags:
            flags = val.split()
        elif key == "physical id":
            phys = val
        elif key == "core id":
            cores.add((phys, val))
    return {"model": model, "flags": flags, "logical": n_logical or None,
            "physical": len(cores) or None}


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
@dataclass(slots=True)
class _Zone:
    path: str
    name: str
    max_range_uj: int
    last_uj: int | None = None
    total_uj: int = 0


class RaplEnergy(Sensor):
    """Package energy: the sum of all ``package-*`` zones, each unwrapped on its own."""

    def __init__(self, reader: FileReader, zones: list[_Zone]):
        super().__init__(SensorInfo(name="rapl:package", quantity="energy_j", source="rapl",
                                    scope="cpu_package", kind=MEASURED, total=True,
                                    note=f"sum of {len(zones)} package zone(s): "
                                         + ", ".join(z.name for z in zones)))
        self.reader = reader
        self.zones = zones

    def _read(self, t_ns: int) -> list[Reading]:
        out = []
        for z in self.zones:
            raw = self.reader.read_int(f"{z.path}/energy_uj")
            if z.last_uj is not None:
                delta = raw - z.last_uj
                if delta < 0:  # the counter wrapped at max_energy_range_uj
                    delta += z.max_range_uj + 1
                z.total_uj += delta
            z.last_uj = raw
            out.append(self.reading(t_ns, z.total_uj / 1e6, name=f"rapl:{z.name}", note=""))
        total = sum(z.total_uj for z in self.zones) / 1e6
        return [self.reading(t_ns, total)] + (out if len(out) > 1 else [])


class CpuUtilization(Sensor):
    """Busy fraction of all cores, from the real OS (psutil ``/proc/stat``), refreshed at most every
    ``min_period_s``: generating /proc/stat costs the kernel ~0.2 ms (it sums every IRQ counter),
    which at 20 Hz would be the parent's largest cost on a machine whose cores are all decoding."""

    def __init__(self, min_period_s: float = 0.2):
        super().__init__(SensorInfo(name="cpu:utilization", quantity="utilization", source="psutil cpu_times",
                                    scope="system", kind=MEASURED,
                                    note=f"busy fraction over windows of at least {min_period_s:g} s"))
        self.min_period_ns = int(min_period_s * 1e9)
        import psutil

        self._psutil = psutil
        self._last = psutil.cpu_times()
        self.last_value = 0.0
        self._last_t_ns: int | None = None

    def busy_at(self, t_ns: int) -> float:
        """Busy fraction since the previous sample; sensors reading at the same ``t_ns`` (the
        utilization and the TDP estimate of one sample) share one /proc/stat read and one window."""
        if self._last_t_ns is None or t_ns - self._last_t_ns >= self.min_period_ns:
            self._last_t_ns = t_ns
            self.sample_busy()
        return self.last_value

    def sample_busy(self) -> float:
        now = self._psutil.cpu_times()
        d_total = sum(now) - sum(self._last)
        d_idle = (now.idle + getattr(now, "iowait", 0.0)) - (self._last.idle + getattr(self._last, "iowait", 0.0))
        self._last = now
        if d_total > 0:
            self.last_value = min(1.0, max(0.0, 1.0 - d_idle / d_total))
        return self.last_value

    def _read(self, t_ns: int) -> list[Reading]:
        return [self.reading(t_ns, self.busy_at(t_ns))]


class TdpModelPower(Sensor):
    """Estimated package power: ``share × TDP × (idle_fraction + (1 − idle_fraction) × busy)``.

    ``share`` is the fraction of the socket's cores this OS sees (a 2-vCPU VM on a 56-core Xeon
    gets 2/56 of the TDP). Every reading is ``kind=estimated`` and names the model and inputs.
    """

    def __init__(self, util: CpuUtilization, tdp_w: float, share: float, idle_fraction: float,
                 basis: str):
        self.tdp_w, self.share, self.idle_fraction = tdp_w, share, idle_fraction
        note = (f"ESTIMATE: {share:.3g} x {tdp_w:g} W TDP x ({idle_fraction:g} + "
                f"{1 - idle_fraction:g} x CPU busy); TDP from {basis}")
        super().__init__(SensorInfo(name="cpu:power_estimate", quantity="power_w", source="tdp_model",
                                    scope="cpu_package", kind=ESTIMATED, total=True, note=note))
        self.util = util

    def power_at(self, busy: float) -> float:
        return self.share * self.tdp_w * (self.idle_fraction + (1 - self.idle_fraction) * busy)

    def _read(self, t_ns: int) -> list[Reading]:
        return [self.reading(t_ns, self.power_at(self.util.busy_at(t_ns)))]


class SystemMemory(Sensor):
    """Used system memory (MemTotal − MemAvailable) from ``/proc/meminfo`` under root, refreshed at
    most every ``min_period_s`` (the kernel builds the whole file on every read, ~0.2 ms)."""

    def __init__(self, reader: FileReader, min_period_s: float = 0.25):
        super().__init__(SensorInfo(name="mem:used", quantity="memory_used_bytes", source="/proc/meminfo",
                                    scope="system", kind=MEASURED, note=f"refreshed at most every {min_period_s:g} s"))
        self.reader = reader
        self.min_period_ns = int(min_period_s * 1e9)
        self._at: int | None = None
        self._value: float | None = None

    def _read(self, t_ns: int) -> list[Reading]:
        if self._at is None or t_ns - self._at >= self.min_period_ns:
            m = _meminfo_bytes(self.reader, ("MemTotal", "MemAvailable"))
            if "MemTotal" not in m or "MemAvailable" not in m:
                raise NotPresent("/proc/meminfo lacks MemTotal/MemAvailable")
            self._at, self._value = t_ns, float(m["MemTotal"] - m["MemAvailable"])
        return [self.reading(t_ns, self._value)]


class CpuFrequency(Sensor):
    """Mean current frequency over cores from cpufreq ``scaling_cur_freq`` (kHz)."""

    def __init__(self, reader: FileReader, paths: list[str]):
        super().__init__(SensorInfo(name="cpu:clock", quantity="clock_mhz", source="cpufreq",
                                    scope="cpu_package", kind=MEASURED))
        self.reader, self.paths = reader, paths

    def _read(self, t_ns: int) -> list[Reading]:
        vals = [self.reader.read_int(p) / 1e3 for p in self.paths]
        return [self.reading(t_ns, sum(vals) / len(vals))]


class ThermalZone(Sensor):
    def __init__(self, reader: FileReader, path: str, zone_type: str):
        super().__init__(SensorInfo(name=f"thermal:{zone_type}", quantity="temperature_c",
                                    source="thermal_zone", scope="cpu_package", kind=MEASURED))
        self.reader, self.path = reader, path

    def _read(self, t_ns: int) -> list[Reading]:
        return [self.reading(t_ns, self.reader.read_int(f"{self.path}/temp") / 1e3)]


# --------------------------------------------------------------------------- discovery
def rapl_zones(reader: FileReader) -> list[_Zone]:
    """Top-level package zones only; raises NoPermission when energy_uj is unreadable."""
    zones = []
    for path in reader.glob(f"{POWERCAP}/intel-rapl:*"):
        base = path.rsplit("/", 1)[-1]
        if base.count(":") != 1:  # intel-rapl:0:0 is a subzone of a package
            continue
        name = reader.try_text(f"{path}/name") or base
        if not name.startswith("package"):
            continue
        max_range = reader.read_int(f"{path}/max_energy_range_uj")
        reader.read_int(f"{path}/energy_uj")  # permission probe
        zones.append(_Zone(path=path, name=name, max_range_uj=max_range))
    return zones


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
        reader = reader or FileReader(root)
        ci = _cpuinfo(reader)
        import psutil

        logical = ci["logical"] or psutil.cpu_count() or 1
        physical = ci["physical"] or psutil.cpu_count(logical=False) or logical
        model = str(ci["model"] or os.uname().machine)
        mem = _meminfo_bytes(reader).get("MemTotal")
        flags = [f for f in ISA_FLAGS if f in set(ci["flags"])]  # type: ignore[arg-type]
        return DeviceInfo(id=f"cpu0:{slug(model)}", kind="cpu", name=model, memory_bytes=mem,
                          specs={"physical_cores": physical, "logical_cores": logical,
                                 "isa_flags": flags, "arch": os.uname().machine})

    @classmethod
    def open(cls, root: Path | str = "/", *, tdp: TdpSpec | None = None,
             reader: FileReader | None = None) -> "HostCpu":
        reader = reader or FileReader(root)
        info = cls.identify(root, reader)
        sensors: list[Sensor] = []
        util = CpuUtilization()
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
            sensors.append(_estimate_sensor(util, tdp, info))
        sensors += [util, SystemMemory(reader)]
        freq = reader.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq")
        if freq:
            sensors.append(CpuFrequency(reader, freq))
        for zone in reader.glob("/sys/class/thermal/thermal_zone*"):
            ztype = reader.try_text(f"{zone}/type") or ""
            if ztype in ("x86_pkg_temp", "cpu-thermal", "CPU-therm", "k10temp", "acpitz"):
                sensors.append(ThermalZone(reader, zone, ztype))
                break
        info.specs["energy_source"] = "rapl" if rapl.available else "tdp_model (estimated)"
        return cls(info, sensors)


def _estimate_sensor(util: CpuUtilization, tdp: TdpSpec | None, info: DeviceInfo) -> Sensor:
    if tdp is None:
        return NullSensor("cpu:power_estimate", "power_w", "tdp_model", "cpu_package",
                          reason="no RAPL and no TDP known for this CPU",
                          hint="pass --cpu-tdp-w WATTS or add the CPU to assets/devices/cpus.csv")
    logical = info.specs.get("logical_cores") or 1
    share = 1.0 if not tdp.socket_cores else min(1.0, float(logical) / float(tdp.socket_cores))
    return TdpModelPower(util, tdp.tdp_w, share, tdp.idle_fraction, tdp.basis)
