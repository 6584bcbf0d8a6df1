"""AMD GPUs (amdgpu driver) from sysfs under ``root``: ``/sys/class/drm/cardN/device``.

Files (kernel ``Documentation/gpu/amdgpu/thermal.rst`` and ``driver-misc.rst``):
- ``hwmon/hwmonM/power1_average`` (µW, "average power used by the GPU", from the SMU firmware) or,
  where the driver has no average (newer parts), ``power1_input`` (µW, instantaneous);
  ``power1_cap`` (µW) the selected power cap;
- ``hwmon/hwmonM/temp1_input`` (m°C, "edge"); ``gpu_busy_percent`` (%);
- ``mem_info_vram_used`` / ``mem_info_vram_total`` (bytes); ``pp_dpm_sclk`` / ``pp_dpm_mclk``
  (one line per DPM level, the current one marked ``*``, e.g. ``1: 1800Mhz *``).
Power comes from the GPU's own power management firmware (SMU): device telemetry, so ``measured``
(like RAPL), with the file named in the note. Whether it covers the whole board or only the chip
depends on the ASIC; the note says which file it was, never more.
"""
from __future__ import annotations

import re
from pathlib import Path

from .base import MEASURED, BaseDevice, DeviceInfo, NullSensor, Reading, Sensor, SensorInfo
from .errors import DeviceError, NotPresent
from .precision import file_unit
from .sysfs import FileReader, FileValue

AMD_VENDOR = "0x1002"
SCOPE = "gpu_board"


def amd_cards(reader: FileReader) -> list[str]:
    """``/sys/class/drm/cardN`` paths of AMD GPUs (connectors like card0-DP-1 are skipped)."""
    out = []
    for card in reader.glob("/sys/class/drm/card[0-9]*"):
        if "-" in card.rsplit("/", 1)[-1]:
            continue
        if (reader.try_text(f"{card}/device/vendor") or "").lower() == AMD_VENDOR:
            out.append(card)
    return out


def current_dpm_mhz(text: str) -> float:
    """The ``*``-marked level of a ``pp_dpm_*`` table, in MHz."""
    for line in text.splitlines():
        if line.rstrip().endswith("*"):
            m = re.search(r"(\d+)\s*Mhz", line, re.IGNORECASE)
            if m:
                return float(m.group(1))
    raise ValueError("no current ('*') level in the pp_dpm table")


class _Dpm(FileValue):
    def _read(self, t_ns: int) -> list[Reading]:
        return [self.reading(t_ns, current_dpm_mhz(self.handle.read_bytes(4096).decode(errors="replace")))]


class AmdGpu(BaseDevice):
    kind = "amd"

    @staticmethod
    def is_available(root: Path | str = "/") -> bool:
        return bool(amd_cards(FileReader(root)))

    @classmethod
    def open(cls, root: Path | str = "/", *, reader: FileReader | None = None) -> list["AmdGpu"]:
        reader = reader or FileReader(root)
        return [cls._open_card(reader, i, card) for i, card in enumerate(amd_cards(reader))]

    @classmethod
    def _open_card(cls, reader: FileReader, idx: int, card: str) -> "AmdGpu":
        dev = f"{card}/device"
        hwmon = next(iter(reader.glob(f"{dev}/hwmon/hwmon*")), None)
        uevent = dict(line.split("=", 1) for line in (reader.try_text(f"{dev}/uevent") or "").splitlines()
                      if "=" in line)
        slot = uevent.get("PCI_SLOT_NAME") or card.rsplit("/", 1)[-1]
        device_id = reader.try_text(f"{dev}/device")
        name = reader.try_text(f"{dev}/product_name") or f"AMD GPU {device_id or ''}".strip()
        vram = _int_or_none(reader, f"{dev}/mem_info_vram_total")
        cap = _int_or_none(reader, f"{hwmon}/power1_cap") if hwmon else None
        specs = {"pci_slot": slot, "pci_device_id": device_id, "driver": uevent.get("DRIVER"),
                 "power_limit_w": cap / 1e6 if cap else None,
                 "vbios_version": reader.try_text(f"{dev}/vbios_version")}

        def si(name_: str, quantity: str, source: str, note: str = "", total: bool = False,
               read_period_s: float | None = None, precision=None) -> SensorInfo:
            return SensorInfo(name=f"amd{idx}:{name_}", quantity=quantity, source=source, scope=SCOPE,
                              kind=MEASURED, note=note, total=total, read_period_s=read_period_s,
                              precision=precision)

        sensors: list[Sensor] = []
        power_file = next((f for f in ("power1_average", "power1_input")
                           if hwmon and reader.exists(f"{hwmon}/{f}")), None)
        if power_file:
            note = ("SMU-averaged GPU power (µW)" if power_file == "power1_average"
                    else "instantaneous GPU power (µW)") + f": {hwmon}/{power_file}"
            sensors.append(FileValue(reader, f"{hwmon}/{power_file}", 1e-6, si(
                "power", "power_w", f"amdgpu_hwmon:{power_file}", note, total=True,
                precision=file_unit(1e-6, "kernel Documentation/gpu/amdgpu/thermal.rst: power1_average/"
                                          "power1_input in uW; the SMU's averaging window is not published"))))
        else:
            sensors.append(NullSensor(f"amd{idx}:power", "power_w", "amdgpu_hwmon", SCOPE,
                                      reason=f"no power1_average/power1_input under {dev}/hwmon",
                                      hint="needs the amdgpu driver with power management enabled"))
        specs["energy_source"] = f"integrated {power_file}" if power_file else None
        # read periods: levels that matter over tenths of a second (a choice, not a published figure)
        for fname, sname, quantity, scale, source, period in (
                ("mem_info_vram_used", "memory_used", "memory_used_bytes", 1.0, "amdgpu mem_info_vram_used", 0.25),
                ("gpu_busy_percent", "utilization", "utilization", 0.01, "amdgpu gpu_busy_percent", 0.2)):
            if reader.exists(f"{dev}/{fname}"):
                sensors.append(FileValue(reader, f"{dev}/{fname}", scale, si(sname, quantity, source, read_period_s=period)))
        if hwmon and reader.exists(f"{hwmon}/temp1_input"):
            label = reader.try_text(f"{hwmon}/temp1_label") or "edge"
            sensors.append(FileValue(reader, f"{hwmon}/temp1_input", 1e-3,
                                 si("temperature", "temperature_c", "amdgpu_hwmon temp1", note=label, read_period_s=1.0)))
        for fname, sname in (("pp_dpm_sclk", "clock_sclk"), ("pp_dpm_mclk", "clock_mclk")):
            if reader.exists(f"{dev}/{fname}"):
                sensors.append(_Dpm(reader, f"{dev}/{fname}", 1.0, si(sname, "clock_mhz", f"amdgpu {fname}",
                                                                      read_period_s=0.5)))
        info = DeviceInfo(id=f"amd{idx}:{slot}", kind="amd", name=name, memory_bytes=vram, specs=specs)
        return cls(info, sensors)


def _int_or_none(reader: FileReader, path: str) -> int | None:
    try:
        return reader.read_int(path)
    except (DeviceError, NotPresent, ValueError, OSError):
        return None
