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
from typing import Any, Iterable, Protocol, runtime_checkable

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
class SensorInfo:
    """What a sensor is, before it is read: shown by ``edgeprof devices``."""

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Sensor:
    """Base sensor. Subclasses set ``info`` and implement ``_read(t_ns)``.

    ``read`` never raises for expected hardware trouble: it returns Readings with ``value=None``
    and a reason, so one broken rail never stops a sample.
    """

    info: SensorInfo

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
        from .errors import DeviceError  # local: keeps module import cheap and cycle-free

        try:
            return self._read(t_ns)
        except (DeviceError, OSError, ValueError) as exc:
            return [self.reading(t_ns, None, reason=f"{type(exc).__name__}: {exc}")]

    def _read(self, t_ns: int) -> list[Reading]:  # pragma: no cover - abstract
        raise NotImplementedError

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
    """One piece of hardware that can run a case and be sampled."""

    def info(self) -> DeviceInfo: ...

    def sensors(self) -> list[Sensor]: ...

    def close(self) -> None: ...


class BaseDevice:
    """Convenience base: holds an info and a sensor list built once (read strategy chosen once)."""

    def __init__(self, info: DeviceInfo, sensors: Iterable[Sensor]):
        self._info = info
        self._sensors = list(sensors)

    def info(self) -> DeviceInfo:
        return self._info

    def sensors(self) -> list[Sensor]:
        return list(self._sensors)

    def total_power_sensor(self) -> Sensor | None:
        """The sensor the total-power rule picked (``SensorInfo.total``), available or not."""
        for s in self._sensors:
            if s.info.total:
                return s
        return None

    def close(self) -> None:
        for s in self._sensors:
            s.close()
