"""The vendor-neutral device protocol: a Device has an identity and Sensors; a Sensor's read()
returns Readings, and every Reading says what it is and where it came from.

Why this shape (Zeus ``zeus/device``, nvitop snapshots): the sampler and every front-end only ever
see Readings, so a Jetson rail, a RAPL counter, an NVML energy counter and a TDP estimate travel
through the same code, each labelled. Absent hardware is a sensor that says so (``available`` is
False, ``reason`` and ``hint`` say why and how to enable it), never a silent zero.

Units are part of every quantity name (``power_w``, ``energy_j``, ``memory_used_bytes``...).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from math import isfinite as _isfinite
from typing import Any, Iterable, Protocol, runtime_checkable

from .errors import DeviceError, DeviceLost, NotPresent

#: Every reason of a sensor that has no window yet starts with this (utilization, derived power,
#: anything delta-based): the first reading of such a sensor is None, never a silent 0.
WARMING_UP = "warming up"
#: Every reason of a sensor whose file or device disappeared mid-run starts with this.
VANISHED = "vanished"

#: Provenance kinds of CONTRACTS.md.
MEASURED, ESTIMATED, DERIVED, SPEC = "measured", "estimated", "derived", "spec"
KINDS = (MEASURED, ESTIMATED, DERIVED, SPEC)

#: Well-known quantities (the unit is the suffix). ``energy_j`` readings are CUMULATIVE counters
#: that the sensor has already unwrapped (monotonic non-decreasing for the life of the sensor).
QUANTITIES = {
    "power_w": "W",
    "energy_j": "J",
    "memory_used_bytes": "B",
    "memory_total_bytes": "B",
    "rss_bytes": "B",
    "uss_bytes": "B",
    "utilization": "ratio",
    "cpu_time_s": "s",
    "clock_mhz": "MHz",
    "temperature_c": "C",
    "throttled": "bool",
    "power_limit_w": "W",
}


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one sensor at one instant (``t_ns`` from ``time.monotonic_ns()``)."""

    sensor: str            # stable column name, e.g. "rapl:package-0" or "ina3221:VDD_IN"
    quantity: str          # a key of QUANTITIES
    value: float | None    # None only together with a reason
    t_ns: int
    source: str            # e.g. "rapl", "nvml_energy_counter", "ina3221:VDD_IN", "tdp_model"
    scope: str             # "cpu_package", "gpu_board", "soc_module", "process", "system"...
    kind: str = MEASURED   # measured | estimated | derived | spec
    note: str = ""
    reason: str | None = None

    @property
    def unit(self) -> str:
        return QUANTITIES.get(self.quantity, "")

    @property
    def ok(self) -> bool:
        return self.value is not None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["unit"] = self.unit
        return d


@dataclass(frozen=True, slots=True)
class Precision:
    """How exact one value of a sensor is, from published figures that ``source`` cites.

    ``resolution``: the smallest step of the value, in the quantity's unit (RAPL 15.3e-6 J).
    ``update_period_s``: how often the source refreshes the value (reading faster only repeats
    it). ``averaging_s``: the value is a mean over this trailing window (NVML power on Ampere+:
    1 s), so it smears anything shorter. ``accuracy``: ± absolute error of one value where a
    vendor publishes one. None means "not published": the caller must say "unknown", not 0.
    """

    resolution: float | None = None
    update_period_s: float | None = None
    averaging_s: float | None = None
    accuracy: float | None = None
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """What a sensor is, before it is read: shown by ``edgeprof devices``.

    Sampling fields (the sampler honours them, edgeprof/sampler.py): ``read_period_s`` — read at
    most this often, because the value changes no faster or the read is costly (None: every
    tick); ``floor_hz`` — read at least this often whatever ``--sample-hz`` (a counter that must
    be seen on every update). ``precision`` — resolution and update period with their source.
    """

    name: str
    quantity: str
    source: str
    scope: str
    kind: str = MEASURED
    available: bool = True
    reason: str | None = None      # why unavailable
    hint: str | None = None        # how to enable it
    note: str = ""
    total: bool = False            # the device's headline power/energy (the total-power rule)
    read_period_s: float | None = None
    floor_hz: float | None = None
    precision: Precision | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def period_s(self, hz: float) -> float:
        """How often the sampler reads this sensor when asked for ``hz`` samples a second."""
        period = max(1.0 / hz, self.read_period_s or 0.0)
        return min(period, 1.0 / self.floor_hz) if self.floor_hz else period


class Sensor:
    """Base sensor. Subclasses set ``info`` and implement ``_read(t_ns)``.

    ``read`` never raises for expected hardware trouble: it returns Readings with ``value=None``
    and a reason, so one broken rail never stops a sample. A sensor that worked and then lost its
    file or device (``NotPresent``/``DeviceLost``: a RAPL zone removed, a GPU off the bus) stays
    lost: every later read says ``vanished`` and when (``lost_at_ns``), and nothing is re-read —
    a counter that comes back cannot be trusted to continue where it left off. A non-finite value
    (NaN, inf from a driver) becomes None with a reason: JSON never holds them.
    """

    info: SensorInfo
    lost_at_ns: int | None = None
    _lost_reason: str | None = None
    _good_reads: int = 0

    def __init__(self, info: SensorInfo):
        self.info = info

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def available(self) -> bool:
        return self.info.available

    def reading(self, t_ns: int, value: float | None, *, quantity: str | None = None,
                name: str | None = None, reason: str | None = None, note: str | None = None) -> Reading:
        i = self.info
        return Reading(sensor=name or i.name, quantity=quantity or i.quantity, value=value, t_ns=t_ns,
                       source=i.source, scope=i.scope, kind=i.kind,
                       note=i.note if note is None else note, reason=reason)

    def read(self, t_ns: int) -> list[Reading]:
        if not self.available:
            return [self.reading(t_ns, None, reason=self.info.reason)]
        if self._lost_reason is not None:
            return [self.reading(t_ns, None, reason=self._lost_reason)]
        try:
            out = self._read(t_ns)
        except (NotPresent, DeviceLost) as exc:
            if self._good_reads:
                self.lost_at_ns, self._lost_reason = t_ns, f"{VANISHED} mid-run (t_ns {t_ns}): {exc}"
                return [self.reading(t_ns, None, reason=self._lost_reason)]
            return [self.reading(t_ns, None, reason=f"{type(exc).__name__}: {exc}")]
        except (DeviceError, OSError, ValueError) as exc:
            return [self.reading(t_ns, None, reason=f"{type(exc).__name__}: {exc}")]
        for i, r in enumerate(out):
            if r.value is not None:
                if not _isfinite(r.value):
                    out[i] = self.reading(t_ns, None, name=r.sensor, quantity=r.quantity,
                                          reason=f"non-finite value {r.value!r} from {r.source}")
                else:
                    self._good_reads += 1
        return out

    @property
    def lost(self) -> bool:
        """True once the sensor vanished mid-run (see ``lost_at_ns``)."""
        return self._lost_reason is not None

    def _read(self, t_ns: int) -> list[Reading]:  # pragma: no cover - abstract
        raise NotImplementedError

    def expire(self) -> None:
        """Make the next read fresh, whatever a rate limit cached (the sampler calls it before its
        end-of-case flush). Sensors without a cache have nothing to do."""

    def close(self) -> None:
        """Release handles (NVML, subprocess streams). Idempotent."""


class NullSensor(Sensor):
    """Absent hardware as an object: available=False, a reason, and how to enable it."""

    def __init__(self, name: str, quantity: str, source: str, scope: str, reason: str,
                 hint: str | None = None):
        super().__init__(SensorInfo(name=name, quantity=quantity, source=source, scope=scope,
                                    available=False, reason=reason, hint=hint))

    def _read(self, t_ns: int) -> list[Reading]:
        return [self.reading(t_ns, None, reason=self.info.reason)]


@dataclass(slots=True)
class DeviceInfo:
    """Identity of a device, copied into every record's ``device`` field."""

    id: str                 # stable: e.g. "cpu0:intel-xeon-platinum-8481c", "nvidia0:GPU-uuid"
    kind: str               # cpu | nvidia | jetson | apple | amd
    name: str
    memory_bytes: int | None = None
    specs: dict[str, Any] = field(default_factory=dict)   # cores, flags, driver, peaks...

    def to_dict(self) -> dict[str, Any]:
        d = {"id": self.id, "kind": self.kind, "name": self.name, "memory_bytes": self.memory_bytes}
        d.update(self.specs)
        return d


@runtime_checkable
class Device(Protocol):
    """One piece of hardware that can run a case and be sampled.

    Everything the sweep asks of a device is here (``BaseDevice`` gives each a default), so the
    sweep calls it instead of asking ``hasattr``: ``process_sensor`` — a sensor of what one worker
    process uses on this device (None: the device has no per-process reading; the sampler's own
    process sensors still run); ``window_warning`` — why a measured window is too short for the
    total sensor's update period; ``min_sample_hz`` — the sampling floor; ``total_power_sensor`` —
    the sensor the total-power rule picked."""

    def info(self) -> DeviceInfo: ...

    def sensors(self) -> list[Sensor]: ...

    def process_sensor(self, pid: int) -> Sensor | None: ...

    def window_warning(self, window_s: float, min_updates: int = 5) -> str | None: ...

    def min_sample_hz(self) -> float | None: ...

    def total_power_sensor(self) -> Sensor | None: ...

    def close(self) -> None: ...


class BaseDevice:
    """Convenience base: holds an info and a sensor list built once (read strategy chosen once)."""

    #: True for a board whose measured total includes the host CPU (Jetson, Apple SoC): the CPU
    #: then lists no TDP estimate as a second total (devices.detect)
    covers_host_cpu = False

    def __init__(self, info: DeviceInfo, sensors: Iterable[Sensor]):
        self._info = info
        self._sensors = list(sensors)

    def info(self) -> DeviceInfo:
        return self._info

    def sensors(self) -> list[Sensor]:
        return list(self._sensors)

    def process_sensor(self, pid: int) -> Sensor | None:
        """A sensor of worker ``pid``'s use of this device; None where the device has none (a
        GPU reports its per-process memory, devices/nvidia.py)."""
        return None

    def min_sample_hz(self) -> float | None:
        """The sampling floor: the fastest ``floor_hz`` of this device's sensors (None: no floor)."""
        floors = [s.info.floor_hz for s in self._sensors if s.available and s.info.floor_hz]
        return max(floors) if floors else None

    def window_warning(self, window_s: float, min_updates: int = 5) -> str | None:
        """A warning when a window is too short for the total sensor's published update period or
        averaging window (devices/precision.py ``too_short``), with the repetitions needed."""
        from .precision import too_short  # precision imports this module

        total = self.total_power_sensor()
        return too_short(total.info.precision if total is not None else None, window_s, min_updates)

    def total_power_sensor(self) -> Sensor | None:
        """The sensor the total-power rule picked (``SensorInfo.total``), available or not."""
        for s in self._sensors:
            if s.info.total:
                return s
        return None

    def close(self) -> None:
        for s in self._sensors:
            s.close()
