"""A device as a run describes it to its views, before anything is read: its identity, every
sensor as declared (available or not, why, and how to enable it) and, for the run's first
device, every other device of the machine. Built once where the devices are opened
(``engine.session.describe_devices``); it travels in ``run_started`` / ``case_scheduled`` events
(pickled across the pipe, as JSON to a remote board's viewer) and the views read attributes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from edgeprof.results.dicts import _Dict

#: the keys of a described device that are not its specs
_OWN = ("id", "kind", "name", "memory_bytes", "sensors", "devices")


@dataclass(frozen=True, slots=True)
class SensorDecl(_Dict):
    """One sensor as declared (``devices.base.SensorInfo``'s fields; keys a newer version adds
    stay in ``extra``)."""
    name: str = ""
    quantity: str = ""
    source: str = ""
    scope: str = ""
    kind: str = ""
    available: bool = True
    reason: str | None = None
    hint: str | None = None
    note: str = ""
    total: bool = False
    read_period_s: float | None = None
    floor_hz: float | None = None
    precision: dict | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeviceDesc:
    """A device's identity, its specs (driver, power mode, cores…: ``specs``), its sensors
    (None: not described) and, for the run's device, the machine's ``devices``. ``power_label``
    is the view's own note of the headline power source (not written)."""
    id: str | None = None
    kind: str | None = None
    name: str | None = None
    memory_bytes: int | None = None
    specs: Mapping[str, Any] = field(default_factory=dict)
    sensors: tuple[SensorDecl, ...] | None = None
    devices: tuple["DeviceDesc", ...] = ()
    power_label: str = ""

    def __bool__(self) -> bool:
        return bool(self.id or self.name or self.sensors or self.devices)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "DeviceDesc":
        d = d or {}
        sensors = d.get("sensors")
        return cls(d.get("id"), d.get("kind"), d.get("name"), d.get("memory_bytes"),
                   {k: v for k, v in d.items() if k not in _OWN},
                   None if sensors is None else tuple(SensorDecl.from_dict(s) for s in sensors),
                   tuple(cls.from_dict(x) for x in d.get("devices") or ()))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self:
            out = {"id": self.id, "kind": self.kind, "name": self.name, "memory_bytes": self.memory_bytes,
                   **self.specs}
        if self.sensors is not None:
            out["sensors"] = [s.to_dict() for s in self.sensors]
        if self.devices:
            out["devices"] = [x.to_dict() for x in self.devices]
        return out

    @property
    def all(self) -> tuple["DeviceDesc", ...]:
        """Every device of the machine (this one alone when it lists none)."""
        return self.devices or ((self,) if self else ())

    def spec(self, key: str) -> Any:
        return self.specs.get(key)


@dataclass(frozen=True, slots=True)
class RunEnv:
    """A run's ``env.json`` (``engine.session.env_info``): the versions, the machine, its devices
    and every sensor as declared. The report's appendix reads it; ``raw`` is the file's object."""
    edgeprof: str | None = None
    python: str | None = None
    platform: str | None = None
    host: str | None = None
    device: DeviceDesc = field(default_factory=DeviceDesc)
    versions: Mapping[str, Any] | None = None
    cpu_governor: str | None = None
    loadavg_before: Any = None
    sensors: tuple[SensorDecl, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "RunEnv":
        d = d if isinstance(d, Mapping) else {}
        sensors = []
        for s in d.get("sensors") or ():
            try:
                sensors.append(SensorDecl.from_dict(s))
            except ValueError:   # a hand-edited env.json: that sensor is left out of the appendix, not the report
                continue
        dev = d.get("device")
        return cls(d.get("edgeprof"), d.get("python"), d.get("platform"), d.get("host"),
                   DeviceDesc.from_dict(dev if isinstance(dev, Mapping) else None), d.get("versions"),
                   d.get("cpu_governor"), d.get("loadavg_before"), tuple(sensors), dict(d))
