"""Jetson power rails: INA3221 (hwmon on JetPack 5+, NVIDIA's IIO driver on JetPack 4) and INA238.

Discovery happens once (STYLE J2/Z5): each rail is bound to a read strategy — a power file
(JP4 ``in_powerN_input`` mW, INA238 ``power1_input`` µW) or voltage × current (JP5+ INA3221 has no
power file: ``inK_input`` mV × ``currK_input`` mA). Skipped, and logged: labels containing ``NC``
(not connected) and INA3221 channel 7 (the sum of shunt voltages, not a rail).

The total-power rule (STYLE J3) picks the board-input rail BY NAME (``VDD_IN`` on Orin Nano/NX and
Xavier NX, ``POM_5V_IN`` on Nano, ``VIN`` on Thor's carrier INA238). No name matches on AGX Xavier
and AGX Orin, which have no input sensor: then NO rail is the total and nothing is summed — a sum
of rails under-reads the wall (regulator, carrier and I/O losses are outside every rail).
References: kernel ``Documentation/hwmon/ina3221.rst`` and ``ina238.rst``; jetson_stats
``jtop/core/power.py``; shared/reference/hardware/jetson_power_rails.csv.

Each rail's files stay open (``pread`` per sample). Precision (devices/precision.py): on the
hwmon INA3221 the resolution follows from the data-sheet LSBs and the driver's
``shunt<K>_resistor``, the update period from its ``update_interval``; the IIO and INA238 power
files publish only their unit.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from . import precision as prec
from .base import MEASURED, Precision, Reading, Sensor, SensorInfo
from .errors import DeviceError
from .sysfs import FileReader

log = logging.getLogger(__name__)

#: Board-input rail names, in order of preference.
TOTAL_RAILS = ("VDD_IN", "POM_5V_IN", "VIN")
SUM_NOTE = ("this board has no module-input sensor: no rail is the total, and the sum of rails "
            "would UNDER-read the wall (regulator, carrier and I/O losses are not on any rail)")

HWMON_GLOBS = ("/sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*", "/sys/class/hwmon/hwmon*")
IIO_GLOB = "/sys/bus/i2c/drivers/ina3221x/*/iio:device*"


@dataclass(frozen=True, slots=True)
class Rail:
    """One monitored rail and how to read it (chosen once at discovery)."""

    label: str
    chip: str           # "ina3221" | "ina238"
    power_path: str | None = None   # direct power file
    power_scale: float = 1e-3       # file unit -> W (mW: 1e-3, µW: 1e-6)
    volt_path: str | None = None    # mV
    curr_path: str | None = None    # mA
    where: str = ""
    precision: Precision | None = None


class RailPower(Sensor):
    """Power of one rail in W."""

    def __init__(self, reader: FileReader, rail: Rail, total: bool, no_total_board: bool):
        how = (f"{rail.power_path.rsplit('/', 1)[-1]}" if rail.power_path
               else f"{rail.volt_path.rsplit('/', 1)[-1]} (mV) x {rail.curr_path.rsplit('/', 1)[-1]} (mA)")
        note = f"{rail.chip} rail at {rail.where}; {how}"
        if total:
            note += f"; board input rail chosen by name ({rail.label}) as the total"
        elif no_total_board:
            note += "; " + SUM_NOTE
        else:
            note += "; a part of the board input rail, never added to it"
        super().__init__(SensorInfo(name=f"{rail.chip}:{rail.label}", quantity="power_w",
                                    source=f"{rail.chip}:{rail.label}",
                                    scope="soc_module" if total or no_total_board else "soc_rail",
                                    kind=MEASURED, total=total, note=note, precision=rail.precision))
        self.rail = rail
        paths = [rail.power_path] if rail.power_path else [rail.volt_path, rail.curr_path]
        self.handles = [reader.handle(p) for p in paths]  # type: ignore[arg-type]

    def _read(self, t_ns: int) -> list[Reading]:
        if self.rail.power_path:
            watts = self.handles[0].read_int() * self.rail.power_scale
        else:
            watts = self.handles[0].read_int() * self.handles[1].read_int() / 1e6
        return [self.reading(t_ns, watts)]

    def close(self) -> None:
        for h in self.handles:
            h.close()


def _int_or_none(reader: FileReader, path: str) -> int | None:
    try:
        return reader.read_int(path)
    except (DeviceError, ValueError, OSError):
        return None


def _hwmon_dirs(reader: FileReader) -> list[str]:
    """hwmon directories of INA chips, each once (the driver glob and /sys/class/hwmon overlap)."""
    seen, out = set(), []
    for pattern in HWMON_GLOBS:
        for d in reader.glob(pattern):
            name = (reader.try_text(f"{d}/name") or "").strip()
            if not (name.startswith("ina3221") or name.startswith("ina238")):
                continue
            real = reader.path(d).resolve()
            if real not in seen:
                seen.add(real)
                out.append(d)
    return out


def _ina3221_hwmon(reader: FileReader, d: str) -> list[Rail]:
    rails = []
    for label_path in reader.glob(f"{d}/in*_label"):
        m = re.search(r"/in(\d+)_label$", label_path)
        if not m:
            continue
        k, label = int(m.group(1)), (reader.try_text(label_path) or "").strip()
        if k == 7:
            log.info("skipped %s: INA3221 channel 7 is the sum of shunt voltages, not a rail", label_path)
            continue
        if not label or "NC" in label.split("_") or label == "NC":
            log.info("skipped %s: label %r (not connected)", label_path, label)
            continue
        if not (reader.exists(f"{d}/in{k}_input") and reader.exists(f"{d}/curr{k}_input")):
            log.info("skipped %s (%s): channel has no in%d_input/curr%d_input (disabled)", label_path, label, k, k)
            continue
        p = prec.ina3221(_int_or_none(reader, f"{d}/shunt{k}_resistor"), _int_or_none(reader, f"{d}/in{k}_input") or 0,
                         _int_or_none(reader, f"{d}/curr{k}_input") or 0, _int_or_none(reader, f"{d}/update_interval"))
        rails.append(Rail(label=label, chip="ina3221", volt_path=f"{d}/in{k}_input",
                          curr_path=f"{d}/curr{k}_input", where=d, precision=p))
    return rails


def _ina238_hwmon(reader: FileReader, d: str) -> list[Rail]:
    if not reader.exists(f"{d}/power1_input"):
        return []
    label = (reader.try_text(f"{d}/label") or reader.try_text(f"{d}/power1_label") or "").strip()
    if not label:
        label = "ina238@" + d.rsplit("/", 1)[-1]
        log.info("%s: INA238 without a label file, named %s (never the total)", d, label)
    return [Rail(label=label, chip="ina238", power_path=f"{d}/power1_input", power_scale=1e-6, where=d,
                 precision=prec.file_unit(1e-6, "kernel Documentation/hwmon/ina238.rst (power1_input in uW); "
                                                "the chip's LSB depends on its shunt and is not exposed"))]


def _ina3221_iio(reader: FileReader, d: str) -> list[Rail]:
    rails = []
    for label_path in reader.glob(f"{d}/rail_name_*"):
        n = label_path.rsplit("_", 1)[-1]
        label = (reader.try_text(label_path) or "").strip()
        if not label or label == "NC":
            log.info("skipped %s: label %r (not connected)", label_path, label)
            continue
        rails.append(Rail(label=label, chip="ina3221", power_path=f"{d}/in_power{n}_input",
                          power_scale=1e-3, where=d,
                          precision=prec.file_unit(1e-3, "NVIDIA ina3221x IIO driver in_powerN_input (mW); "
                                                         "its conversion settings are not exposed")))
    return rails


def discover(reader: FileReader) -> list[Rail]:
    """All rails under the reader's root, in a stable order."""
    rails: list[Rail] = []
    for d in _hwmon_dirs(reader):
        name = (reader.try_text(f"{d}/name") or "").strip()
        rails += _ina238_hwmon(reader, d) if name.startswith("ina238") else _ina3221_hwmon(reader, d)
    for d in reader.glob(IIO_GLOB):
        rails += _ina3221_iio(reader, d)
    return rails


def total_rail(rails: list[Rail]) -> Rail | None:
    """The board-input rail by name (first of TOTAL_RAILS present), or None."""
    for name in TOTAL_RAILS:
        for rail in rails:
            if rail.label == name:
                return rail
    return None


def rail_sensors(reader: FileReader) -> tuple[list[Sensor], Rail | None]:
    rails = discover(reader)
    total = total_rail(rails)
    sensors: list[Sensor] = [RailPower(reader, r, total=r is total, no_total_board=total is None)
                             for r in rails]
    return sensors, total
