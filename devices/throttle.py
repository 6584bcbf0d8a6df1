"""Throttle evidence as ``throttled`` readings (1.0 / 0.0) whose note says why (issue 13, item 5).

CPU (``cpu:throttled``):
- ``/sys/devices/system/cpu/cpu*/thermal_throttle/{core,package}_throttle_count``: Intel's
  thermal-monitor event counters (kernel ``drivers/thermal/intel/therm_throt.c``,
  Documentation/admin-guide/thermal/intel_thermal_throttle.rst); a counter that rose since the
  previous read means the CPU throttled in between;
- under load (all cores ≥ 90 % busy) the mean ``scaling_cur_freq`` below the base frequency
  (``cpufreq/base_frequency``, kHz, intel_pstate; else ACPI CPPC ``acpi_cppc/nominal_freq``, MHz,
  Documentation/admin-guide/acpi/cppc_sysfs.rst) by more than 5 %: power or thermal capping.
Jetson (``soc:throttled``):
- a thermal zone at or above one of its ``passive``/``hot``/``critical`` trip points
  (``trip_point_N_temp`` m°C / ``trip_point_N_type``, Documentation/driver-api/thermal/sysfs-api.rst);
- a CPU cluster or the GPU whose ceiling (``scaling_max_freq`` / devfreq ``max_freq``) is below
  the current nvpmodel mode's ``MAX_FREQ`` (a thermal/power cap), or whose current clock is below it
  while that unit is ≥ 90 % busy. Mode limits come from ``/etc/nvpmodel.conf`` (``< PARAM
  TYPE=CLOCK NAME=… >`` sections map names to sysfs files; ``< POWER_MODEL ID=… >`` sections give
  the values, in the unit of each file; -1 or INT_MAX mean "no cap"), as NVIDIA's own templates
  in public MLPerf submissions lay it out.
Without any of these files the sensor is a NullSensor that says so (a VM hides cpufreq and MSRs).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Callable

from .base import MEASURED, WARMING_UP, NullSensor, Reading, Sensor, SensorInfo
from .errors import DeviceError
from .sysfs import FileReader

log = logging.getLogger(__name__)

BUSY = 0.9            # "under load"
FREQ_MARGIN = 0.05    # below base / mode max by more than this
TRIP_TYPES = ("passive", "hot", "critical")
NO_CAP = 2147483647   # nvpmodel.conf "no limit" (INT_MAX); -1 means the same


def _info(name: str, source: str, scope: str, note: str) -> SensorInfo:
    return SensorInfo(name=name, quantity="throttled", source=source, scope=scope, kind=MEASURED,
                      read_period_s=1.0, note=note)


class CpuThrottle(Sensor):
    """Throttle counters that rose, or frequency below base under load."""

    def __init__(self, reader: FileReader, counters: list[str], freq_paths: list[str],
                 base_khz: float | None, base_source: str, busy: Callable[[int], float | None]):
        note = f"{len(counters)} throttle counter(s)"
        if base_khz:
            note += f"; base {base_khz / 1e3:g} MHz from {base_source}"
        super().__init__(_info("cpu:throttled", "thermal_throttle counters + cpufreq", "cpu_package", note))
        self.counters = [(p, reader.handle(p)) for p in counters]
        self.freqs = [reader.handle(p) for p in freq_paths] if base_khz else []
        self.base_khz, self.busy = base_khz, busy
        self._last: list[int] | None = None

    def _read(self, t_ns: int) -> list[Reading]:
        evidence, decided = [], False
        if self.counters:
            now = [h.read_int() for _, h in self.counters]
            if self._last is not None:
                decided = True
                rose = [f"{_short(p)} +{n - l}" for (p, _), n, l in zip(self.counters, now, self._last) if n > l]
                if rose:
                    evidence.append("thermal throttle counter(s) rose: " + ", ".join(rose))
            self._last = now
        if self.freqs:
            busy = self.busy(t_ns)
            if busy is not None and busy >= BUSY:
                decided = True
                mhz = sum(h.read_int() for h in self.freqs) / len(self.freqs) / 1e3
                base = self.base_khz / 1e3  # type: ignore[operator]
                if mhz < base * (1 - FREQ_MARGIN):
                    evidence.append(f"mean scaling_cur_freq {mhz:.0f} MHz < base {base:.0f} MHz while "
                                    f"CPU {100 * busy:.0f} % busy")
        if not decided and not evidence:
            return [self.reading(t_ns, None, reason=f"{WARMING_UP}: throttle counters need a previous read "
                                                    f"and the frequency rule a CPU >= {100 * BUSY:.0f} % busy")]
        return [self.reading(t_ns, 1.0 if evidence else 0.0,
                             note="; ".join(evidence) or "no throttle counter rose; clock not below base under load")]

    def close(self) -> None:
        for _, h in self.counters:
            h.close()
        for h in self.freqs:
            h.close()


def _short(path: str) -> str:
    m = re.search(r"/(cpu\d+)/thermal_throttle/(\w+)$", path)
    return f"{m.group(1)} {m.group(2)}" if m else path


def cpu_base_khz(reader: FileReader) -> tuple[float | None, str]:
    """The base (nominal) frequency in kHz and the file it came from."""
    for path, scale in (("/sys/devices/system/cpu/cpu0/cpufreq/base_frequency", 1.0),
                        ("/sys/devices/system/cpu/cpu0/acpi_cppc/nominal_freq", 1e3)):
        try:
            value = reader.read_int(path) * scale
        except (DeviceError, ValueError, OSError):
            continue
        if value > 0:
            return value, path
    return None, "none"


def cpu_throttle(reader: FileReader, util) -> Sensor:
    """The CPU throttle sensor, or a NullSensor saying which files are missing."""
    counters = reader.glob("/sys/devices/system/cpu/cpu[0-9]*/thermal_throttle/core_throttle_count")
    seen: set[str] = set()  # a package counter reads the same on every CPU of the package: one each
    for path in reader.glob("/sys/devices/system/cpu/cpu[0-9]*/thermal_throttle/package_throttle_count"):
        cpu_dir = path.rsplit("/thermal_throttle/", 1)[0]
        package = reader.try_text(f"{cpu_dir}/topology/physical_package_id") or cpu_dir
        if package not in seen:
            seen.add(package)
            counters.append(path)
    freq = reader.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq")
    base_khz, base_source = cpu_base_khz(reader)
    if not counters and not (freq and base_khz):
        return NullSensor("cpu:throttled", "throttled", "thermal_throttle counters + cpufreq", "cpu_package",
                          reason="no thermal_throttle counters (Intel only) and no cpufreq base frequency "
                                 "(virtual machines hide both): throttling cannot be detected here",
                          hint="on bare metal load the intel_pstate/acpi-cpufreq driver; counters need an Intel CPU")
    return CpuThrottle(reader, counters, freq, base_khz if freq else None, base_source, util.busy_at)


# --------------------------------------------------------------------------- Jetson
@dataclass(frozen=True, slots=True)
class ClockCap:
    label: str          # e.g. "CPU_A78_0", "GPU"
    max_path: str       # the ceiling file nvpmodel writes
    cur_path: str       # the current clock next to it
    mode_max: int       # the mode's MAX_FREQ, in the file's unit
    unit_hz: float      # 1e3 for cpufreq (kHz), 1 for devfreq (Hz)
    load: str           # "cpu" | "gpu"


def parse_nvpmodel_conf(text: str) -> tuple[dict[str, dict[str, str]], dict[int, tuple[str, list[tuple[str, str, str]]]]]:
    """``/etc/nvpmodel.conf`` -> (CLOCK params {name: {arg: path}}, modes {id: (name, [(param, arg, value)])})."""
    params: dict[str, dict[str, str]] = {}
    modes: dict[int, tuple[str, list[tuple[str, str, str]]]] = {}
    section: tuple[str, object] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"<\s*PARAM\s+TYPE=(\w+)\s+NAME=(\S+?)\s*>", line)
        if m:
            section = ("param", m.group(2)) if m.group(1) == "CLOCK" else None
            if section:
                params.setdefault(m.group(2), {})
            continue
        m = re.match(r"<\s*POWER_MODEL\s+ID=(\d+)\s+NAME=(\S+?)\s*>", line)
        if m:
            section = ("mode", int(m.group(1)))
            modes[int(m.group(1))] = (m.group(2), [])
            continue
        if line.startswith("<"):
            section = None
            continue
        parts = line.split()
        if section and section[0] == "param" and len(parts) == 2:
            params[section[1]].setdefault(parts[0], parts[1])  # type: ignore[index]
        elif section and section[0] == "mode" and len(parts) == 3:
            modes[section[1]][1].append((parts[0], parts[1], parts[2]))  # type: ignore[index]
    return params, modes


def mode_caps(reader: FileReader, conf: str, mode_id: int | None) -> list[ClockCap]:
    """The current mode's clock ceilings that map to a readable max/cur file pair."""
    if mode_id is None:
        return []
    params, modes = parse_nvpmodel_conf(conf)
    out = []
    for param, arg, value in modes.get(mode_id, ("", []))[1]:
        path = params.get(param, {}).get(arg)
        if arg != "MAX_FREQ" or not path or not re.fullmatch(r"-?\d+", value):
            continue
        limit = int(value)
        if limit <= 0 or limit >= NO_CAP:
            continue  # no cap in this mode: nothing to be below
        if path.endswith("/scaling_max_freq"):
            cur, unit, load = path[: -len("max_freq")] + "cur_freq", 1e3, "cpu"
        elif path.endswith("/max_freq"):
            cur, unit, load = path[: -len("max_freq")] + "cur_freq", 1.0, "gpu"
        else:
            continue
        if reader.exists(path) and reader.exists(cur):
            out.append(ClockCap(param, path, cur, limit, unit, load))
        else:
            log.info("nvpmodel %s %s: %s or %s not found, cap not checked", param, arg, path, cur)
    return out


class JetsonThrottle(Sensor):
    """Thermal zones at a trip point, clock ceilings below the nvpmodel mode, clocks below it under load."""

    def __init__(self, reader: FileReader, trips: list[tuple[str, str, list[tuple[float, str, int]]]],
                 caps: list[ClockCap], mode: str | None, loads: dict[str, Callable[[int], float | None]],
                 mode_id: int | None = None):
        super().__init__(_info("soc:throttled", "thermal trips + nvpmodel clocks", "soc_module",
                               f"{len(trips)} zone(s) with trip points; {len(caps)} clock cap(s) of mode {mode}"))
        self.reader = reader
        self.trips = [(zone, reader.handle(p), pts) for zone, p, pts in trips]
        self.caps = [(c, reader.handle(c.max_path), reader.handle(c.cur_path)) for c in caps]
        self.mode, self.mode_id, self.loads = mode, mode_id, loads

    def _follow_mode(self) -> None:
        """A power mode switched since the last read (``nvpmodel -m``, a power sweep) brings its own
        ceilings: the caps are those of the mode in /var/lib/nvpmodel/status now, never the mode
        the board was opened in (a lower mode is not a throttled higher one)."""
        m = re.search(r"pmode:0*(\d+)", self.reader.try_text("/var/lib/nvpmodel/status") or "")
        now = int(m.group(1)) if m else None
        if now is None or now == self.mode_id:
            return
        conf = self.reader.try_text("/etc/nvpmodel.conf") or ""
        for _, a, b in self.caps:
            a.close()
            b.close()
        caps = mode_caps(self.reader, conf, now)
        self.caps = [(c, self.reader.handle(c.max_path), self.reader.handle(c.cur_path)) for c in caps]
        self.mode_id, self.mode = now, parse_nvpmodel_conf(conf)[1].get(now, (str(now), []))[0]

    def _read(self, t_ns: int) -> list[Reading]:
        self._follow_mode()
        evidence = []
        for zone, h, points in self.trips:
            temp_c = h.read_int() / 1e3
            hit = [(c, kind, n) for c, kind, n in points if temp_c >= c]
            if hit:
                c, kind, n = max(hit)
                evidence.append(f"{zone} {temp_c:.1f} C >= {kind} trip_point_{n} {c:.1f} C")
        for cap, hmax, hcur in self.caps:
            ceiling, cur = hmax.read_int(), hcur.read_int()
            mhz = lambda v: v * cap.unit_hz / 1e6  # noqa: E731
            if ceiling < cap.mode_max:
                evidence.append(f"{cap.label} ceiling {mhz(ceiling):.0f} MHz < nvpmodel {self.mode} MAX_FREQ "
                                f"{mhz(cap.mode_max):.0f} MHz (capped)")
                continue
            busy = self.loads.get(cap.load, lambda _t: None)(t_ns)
            if busy is not None and busy >= BUSY and cur < cap.mode_max * (1 - FREQ_MARGIN):
                evidence.append(f"{cap.label} at {mhz(cur):.0f} MHz < nvpmodel {self.mode} MAX_FREQ "
                                f"{mhz(cap.mode_max):.0f} MHz while {100 * busy:.0f} % busy")
        return [self.reading(t_ns, 1.0 if evidence else 0.0,
                             note="; ".join(evidence) or "no zone at a trip point; clocks at the mode's ceiling")]

    def close(self) -> None:
        for _, h, _ in self.trips:
            h.close()
        for _, a, b in self.caps:
            a.close()
            b.close()


def zone_trips(reader: FileReader) -> list[tuple[str, str, list[tuple[float, str, int]]]]:
    """(zone type, temp path, [(trip °C, type, index)]) for zones with passive/hot/critical trips."""
    out = []
    for zone in reader.glob("/sys/class/thermal/thermal_zone*"):
        points = []
        for tpath in reader.glob(f"{zone}/trip_point_*_type"):
            n = int(re.search(r"trip_point_(\d+)_type$", tpath).group(1))  # type: ignore[union-attr]
            kind = (reader.try_text(tpath) or "").strip()
            try:
                milli_c = reader.read_int(f"{zone}/trip_point_{n}_temp")
            except (DeviceError, ValueError, OSError):
                continue
            if kind in TRIP_TYPES and milli_c > 0:
                points.append((milli_c / 1e3, kind, n))
        if points:
            ztype = (reader.try_text(f"{zone}/type") or zone.rsplit("/", 1)[-1]).strip()
            out.append((ztype, f"{zone}/temp", points))
    return out


def jetson_throttle(reader: FileReader, mode: str | None, mode_id: int | None,
                    loads: dict[str, Callable[[int], float | None]]) -> Sensor:
    trips = zone_trips(reader)
    caps = mode_caps(reader, reader.try_text("/etc/nvpmodel.conf") or "", mode_id)
    if not trips and not caps:
        return NullSensor("soc:throttled", "throttled", "thermal trips + nvpmodel clocks", "soc_module",
                          reason="no thermal trip points and no nvpmodel clock limits for the current mode",
                          hint="check /sys/class/thermal/thermal_zone*/trip_point_* and /etc/nvpmodel.conf")
    return JetsonThrottle(reader, trips, caps, mode, loads, mode_id)
