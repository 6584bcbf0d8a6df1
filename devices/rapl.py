"""RAPL package energy from the powercap tree (kernel ``Documentation/power/powercap/powercap.rst``).

Rules:
- only top-level ``intel-rapl:N`` zones whose ``name`` starts with ``package`` are summed; the
  ``intel-rapl:N:M`` subzones (core, uncore, dram) are parts of a package and would double count,
  ``psys`` is the whole platform and is reported on its own, never added;
- ``energy_uj`` wraps at ``max_energy_range_uj``: each zone is unwrapped into a monotonic counter;
  a raw value outside [0, max_energy_range_uj] is garbage, reported as such, never summed;
- since CVE-2020-8694 ``energy_uj`` is root-only (0400): that is a NoPermission with a fix;
- each ``energy_uj`` stays open and is re-read with ``pread`` (devices/sysfs.py ``Handle``); a zone
  file that disappears mid-run makes the sensor ``vanished`` from then on (devices/base.py).
Precision: 15.3 µJ steps, ~1 ms updates (devices/precision.py ``RAPL``, with its sources).
"""
from __future__ import annotations

from dataclasses import dataclass

from .base import MEASURED, Reading, Sensor, SensorInfo
from .precision import RAPL
from .sysfs import FileReader

POWERCAP = "/sys/class/powercap"


@dataclass(slots=True)
class Zone:
    path: str
    name: str
    max_range_uj: int
    last_uj: int | None = None
    total_uj: int = 0


class RaplEnergy(Sensor):
    """Package energy: the sum of all ``package-*`` zones, each unwrapped on its own."""

    def __init__(self, reader: FileReader, zones: list[Zone]):
        super().__init__(SensorInfo(name="rapl:package", quantity="energy_j", source="rapl",
                                    scope="cpu_package", kind=MEASURED, total=True, precision=RAPL,
                                    note=f"sum of {len(zones)} package zone(s): "
                                         + ", ".join(z.name for z in zones)))
        self.zones = zones
        self.handles = [reader.handle(f"{z.path}/energy_uj") for z in zones]

    def _read(self, t_ns: int) -> list[Reading]:
        raws = [h.read_int() for h in self.handles]  # all zones first: one failing adds nothing
        for z, raw in zip(self.zones, raws):
            if not 0 <= raw <= z.max_range_uj:
                raise ValueError(f"{z.path}/energy_uj = {raw} is outside [0, max_energy_range_uj "
                                 f"{z.max_range_uj}]")
        out = []
        for z, raw in zip(self.zones, raws):
            if z.last_uj is not None:
                delta = raw - z.last_uj
                if delta < 0:  # the counter wrapped at max_energy_range_uj
                    delta += z.max_range_uj + 1
                z.total_uj += delta
            z.last_uj = raw
            out.append(self.reading(t_ns, z.total_uj / 1e6, name=f"rapl:{z.name}", note=""))
        total = sum(z.total_uj for z in self.zones) / 1e6
        return [self.reading(t_ns, total)] + (out if len(out) > 1 else [])

    def close(self) -> None:
        for h in self.handles:
            h.close()


def rapl_zones(reader: FileReader) -> list[Zone]:
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
        zones.append(Zone(path=path, name=name, max_range_uj=max_range))
    return zones
