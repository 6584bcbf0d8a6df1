"""NVIDIA Jetson boards, read from sysfs/procfs under ``root`` (NVML does not work on Tegra).

- power: INA3221/INA238 rails (``devices/_rails.py``); the board-input rail chosen by name is the
  total; boards without one (AGX Xavier, AGX Orin) say so and have NO total — never a fake sum.
  Energy is integrated from rail power by the sampler: this adapter only reports ``power_w``.
- GPU load from devfreq (``<devfreq>/device/load``, per mille; the devfreq node is found by its
  ``device/of_node/name`` as jetson_stats ``jtop/core/gpu.py`` does: gv11b, gp10b, ga10b, gpu);
  GPU/CPU clocks and governors; EMC rate where debugfs is readable; thermal zones;
  unified memory, including ``NvMapMemUsed`` (nvmap = GPU/multimedia buffers) from /proc/meminfo.
- identity: board from ``/proc/device-tree/model``, L4T from ``/etc/nv_tegra_release``, power mode
  from an injectable ``nvpmodel -q`` runner or ``/var/lib/nvpmodel/status`` + ``/etc/nvpmodel.conf``,
  jetson_clocks state inferred from min == max clock floors (what jetson_clocks writes).
- throttling (devices/throttle.py): thermal zones at their trip points, clocks below the nvpmodel
  mode's ceiling; CPU busy from /proc/stat (the real OS unless ``proc_root`` says otherwise).
Sensors keep their files open and declare how often they are worth reading (``read_period_s``).
"""
from __future__ import annotations

import logging
import re
import subprocess
from pathlib import Path
from typing import Callable

from ._rails import SUM_NOTE, rail_sensors
from .base import MEASURED, BaseDevice, DeviceInfo, NullSensor, Precision, Reading, Sensor, SensorInfo
from .cpu import CpuFrequency, CpuUtilization, SystemMemory, ThermalZone, _meminfo_bytes, meminfo_keys, slug
from .errors import DeviceError, NotPresent
from .sysfs import FileReader, FileValue
from .throttle import jetson_throttle

log = logging.getLogger(__name__)

IGPU_NAMES = ("gv11b", "gp10b", "ga10b", "gb10b", "gpu")
GPU_LOAD_FALLBACKS = ("/sys/devices/platform/bus@0/17000000.gpu/load", "/sys/devices/platform/17000000.ga10b/load",
                      "/sys/devices/17000000.ga10b/load", "/sys/devices/17000000.gv11b/load",
                      "/sys/devices/gpu.0/load", "/sys/devices/57000000.gpu/load")
EMC_RATE_PATHS = ("/sys/kernel/debug/bpmp/debug/clk/emc/rate", "/sys/kernel/debug/clk/emc/clk_rate")
NvpmodelRunner = Callable[[], str]


class NvMapMemory(Sensor):
    """Memory allocated through nvmap (GPU and multimedia buffers) in the shared DRAM."""

    def __init__(self, reader: FileReader):
        super().__init__(SensorInfo(name="mem:nvmap", quantity="memory_used_bytes",
                                    source="/proc/meminfo NvMapMemUsed", scope="gpu", kind=MEASURED,
                                    read_period_s=0.5,
                                    note="unified memory: nvmap buffers are part of system used memory"))
        self.handle = reader.handle("/proc/meminfo")

    def _read(self, t_ns: int) -> list[Reading]:
        m = meminfo_keys(self.handle.read_bytes(8192), (b"NvMapMemUsed:",))
        if not m:
            raise NotPresent("/proc/meminfo has no NvMapMemUsed")
        return [self.reading(t_ns, float(m[b"NvMapMemUsed:"]))]

    def close(self) -> None:
        self.handle.close()


# --------------------------------------------------------------------------- identity helpers
def board_model(reader: FileReader) -> str | None:
    text = reader.try_text("/proc/device-tree/model")
    return text.replace("\x00", "").strip() if text else None


def l4t_release(reader: FileReader) -> str | None:
    """``# R36 (release), REVISION: 4.3, ...`` -> ``36.4.3``."""
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", reader.try_text("/etc/nv_tegra_release") or "")
    return f"{m.group(1)}.{m.group(2)}" if m else None


def parse_nvpmodel(text: str) -> tuple[str | None, int | None]:
    """``nvpmodel -q`` output -> (mode name, mode id)."""
    name = mode_id = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("NV Power Mode:"):
            name = line.split(":", 1)[1].strip() or None
        elif line.isdigit() and name is not None and mode_id is None:
            mode_id = int(line)
    return name, mode_id


def power_mode(reader: FileReader, runner: NvpmodelRunner | None) -> dict[str, object]:
    """Current nvpmodel mode from the runner, else from the status file nvpmodel writes."""
    if runner is not None:
        try:
            name, mode_id = parse_nvpmodel(runner())
            if name is not None:
                return {"power_mode": name, "power_mode_id": mode_id, "power_mode_source": "nvpmodel -q"}
        except (OSError, DeviceError, subprocess.SubprocessError) as exc:
            log.info("nvpmodel -q failed (%s); trying /var/lib/nvpmodel/status", exc)
    m = re.search(r"pmode:0*(\d+)", reader.try_text("/var/lib/nvpmodel/status") or "")
    if not m:
        return {"power_mode": None, "power_mode_id": None, "power_mode_source": None}
    mode_id = int(m.group(1))
    conf = reader.try_text("/etc/nvpmodel.conf") or ""
    n = re.search(rf"<\s*POWER_MODEL\s+ID={mode_id}\s+NAME=(\S+?)\s*>", conf)
    return {"power_mode": n.group(1) if n else None, "power_mode_id": mode_id,
            "power_mode_source": "/var/lib/nvpmodel/status"}


def _real_nvpmodel() -> str:
    done = subprocess.run(["nvpmodel", "-q"], capture_output=True, text=True, timeout=10, check=True)
    return done.stdout


def find_igpu(reader: FileReader) -> str | None:
    """The devfreq node of the integrated GPU (by of_node name, as jetson_stats does)."""
    for name_path in reader.glob("/sys/class/devfreq/*/device/of_node/name"):
        if (reader.try_text(name_path) or "").replace("\x00", "").strip() in IGPU_NAMES:
            return name_path.rsplit("/device/of_node/name", 1)[0]
    return None


def _gpu_load_path(reader: FileReader, devfreq: str | None) -> str | None:
    """``<devfreq>/device/load`` (the GPU device dir), else the known per-SoC paths, else a glob."""
    candidates = ([f"{devfreq}/device/load"] if devfreq else []) + list(GPU_LOAD_FALLBACKS)
    found = next((p for p in candidates if reader.exists(p)), None)
    if found is None:
        globbed = (reader.glob("/sys/devices/platform/*gpu*/load")
                   + reader.glob("/sys/devices/platform/bus@0/*gpu*/load"))
        found = globbed[0] if globbed else None
    return found


def jetson_clocks_state(reader: FileReader, devfreq: str | None) -> str | None:
    """'on' when every CPU and the GPU have their floor at their ceiling (what jetson_clocks
    writes), 'off' when any does not, None when the files are missing. Inferred, not queried."""
    pairs = [(f"{c}/scaling_min_freq", f"{c}/scaling_max_freq")
             for c in reader.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq")]
    if devfreq:
        pairs.append((f"{devfreq}/min_freq", f"{devfreq}/max_freq"))
    values = [(reader.try_text(a), reader.try_text(b)) for a, b in pairs]
    values = [v for v in values if None not in v]
    if not values:
        return None
    return "on" if all(a == b for a, b in values) else "off"


# --------------------------------------------------------------------------- the device
class JetsonBoard(BaseDevice):
    kind = "jetson"
    covers_host_cpu = True

    @staticmethod
    def is_available(root: Path | str = "/") -> bool:
        reader = FileReader(root)
        if reader.exists("/etc/nv_tegra_release"):
            return True
        compatible = (reader.try_text("/proc/device-tree/compatible") or "").lower()
        return "nvidia,tegra" in compatible or "jetson" in (board_model(reader) or "").lower()

    @classmethod
    def open(cls, root: Path | str = "/", *, nvpmodel: NvpmodelRunner | None = None,
             reader: FileReader | None = None, proc_root: Path | str = "/") -> "JetsonBoard":
        """``nvpmodel`` runs ``nvpmodel -q``; by default the real command, but only when ``root``
        is ``/`` (a re-rooted tree describes another machine than the local command would).
        ``proc_root`` holds the live ``/proc/stat`` for the CPU busy fraction."""
        reader = reader or FileReader(root)
        if nvpmodel is None and Path(root) == Path("/"):
            nvpmodel = _real_nvpmodel
        model = board_model(reader) or "NVIDIA Jetson (unknown model)"
        mem = _meminfo_bytes(reader)
        devfreq = find_igpu(reader)
        specs: dict[str, object] = {"l4t": l4t_release(reader), "board_model": model}
        specs.update(power_mode(reader, nvpmodel))
        specs["jetson_clocks"] = jetson_clocks_state(reader, devfreq)
        specs["jetson_clocks_basis"] = "inferred: cpufreq and GPU devfreq floors equal their ceilings"
        unknown = specs.setdefault("unknown", {})
        if specs["jetson_clocks"] is None:
            unknown["jetson_clocks"] = ("no cpufreq scaling_min_freq/scaling_max_freq and no GPU devfreq "
                                        "min_freq/max_freq to compare")
        sensors, total = rail_sensors(reader)
        if not sensors:
            sensors.append(NullSensor("ina3221:none", "power_w", "ina3221", "soc_module",
                                      reason="no INA3221/INA238 rails found under /sys/bus/i2c/drivers "
                                             "or /sys/class/hwmon",
                                      hint="some modules (e.g. Jetson Nano 2GB) have no power monitor; "
                                           "on JetPack 5+ check 'ls /sys/bus/i2c/drivers/ina3221'"))
            specs["total_power"] = "none: no power monitor found"
        elif total is None:
            specs["total_power"] = "none: " + SUM_NOTE
        else:
            specs["total_power"] = f"rail {total.label} (board input, chosen by name)"
        specs["energy_source"] = "integrated rail power" if total else None
        gpu = _gpu_sensors(reader, devfreq, specs)
        util = CpuUtilization(proc_root=proc_root)
        gpu_load = next((g.value_at for g in gpu if isinstance(g, FileValue) and g.info.quantity == "utilization"),
                        lambda _t: None)
        sensors += gpu + _cpu_sensors(reader, specs) + [util]
        if specs.get("cpu_governor") is None:
            unknown["cpu_governor"] = "no /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"
        if specs.get("power_mode") is None:
            why = ("no mode in /var/lib/nvpmodel/status" + ("" if nvpmodel else " and 'nvpmodel -q' is not run on a "
                                                                              "sysroot (it would query this machine)"))
            unknown["power_mode"] = why
        if not unknown:
            del specs["unknown"]
        sensors.append(_emc_sensor(reader))
        sensors += _thermal_sensors(reader)
        sensors += [SystemMemory(reader), NvMapMemory(reader)]
        sensors.append(jetson_throttle(reader, specs.get("power_mode"), specs.get("power_mode_id"),  # type: ignore[arg-type]
                                       {"cpu": util.busy_at, "gpu": gpu_load}))
        info = DeviceInfo(id=f"jetson0:{slug(model)}", kind="jetson", name=model,
                          memory_bytes=mem.get("MemTotal"), specs=specs)
        return cls(info, sensors)


def _gpu_sensors(reader: FileReader, devfreq: str | None, specs: dict) -> list[Sensor]:
    out: list[Sensor] = []
    load = _gpu_load_path(reader, devfreq)
    if load:
        poll_ms = _int_or_none(reader, f"{devfreq}/polling_interval") if devfreq else None
        period = poll_ms / 1e3 if poll_ms and poll_ms > 0 else None
        out.append(FileValue(reader, load, 1e-3, SensorInfo(
            name="gpu:utilization", quantity="utilization", source="devfreq load", scope="gpu",
            read_period_s=period, precision=Precision(
                resolution=1e-3, update_period_s=period,
                source="per-mille load file; update period = devfreq polling_interval (ms) where exposed"),
            note=f"{load} (per mille of the last devfreq window)")))
    else:
        out.append(NullSensor("gpu:utilization", "utilization", "devfreq load", "gpu",
                              reason="no GPU load file found (devfreq of_node gv11b/gp10b/ga10b/gpu)",
                              hint="check /sys/class/devfreq/*/device/load"))
    if devfreq and reader.exists(f"{devfreq}/cur_freq"):
        specs["gpu_governor"] = reader.try_text(f"{devfreq}/governor")
        out.append(FileValue(reader, f"{devfreq}/cur_freq", 1e-6, SensorInfo(
            name="gpu:clock", quantity="clock_mhz", source="devfreq cur_freq", scope="gpu", read_period_s=0.5,
            note=f"governor {specs['gpu_governor']}")))
    return out


def _cpu_sensors(reader: FileReader, specs: dict) -> list[Sensor]:
    freq = reader.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_cur_freq")
    specs["cpu_governor"] = reader.try_text("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    specs["cpu_cores"] = len(reader.glob("/sys/devices/system/cpu/cpu[0-9]*")) or None
    return [CpuFrequency(reader, freq)] if freq else []


def _emc_sensor(reader: FileReader) -> Sensor:
    reason = "EMC (memory controller) clock is only in debugfs, which is not mounted here"
    for path in EMC_RATE_PATHS:
        if not reader.exists(path):
            continue
        try:
            reader.read_int(path)
        except DeviceError as exc:
            reason = str(exc)
            continue
        return FileValue(reader, path, 1e-6, SensorInfo(name="emc:clock", quantity="clock_mhz",
                                                         source="bpmp debugfs emc rate", scope="memory",
                                                         read_period_s=1.0))
    return NullSensor("emc:clock", "clock_mhz", "bpmp debugfs emc rate", "memory", reason=reason,
                      hint="run edgeprof as root (debugfs at /sys/kernel/debug is root-only)")


def _thermal_sensors(reader: FileReader) -> list[Sensor]:
    out: list[Sensor] = []
    for zone in reader.glob("/sys/class/thermal/thermal_zone*"):
        ztype = (reader.try_text(f"{zone}/type") or zone.rsplit("/", 1)[-1]).strip()
        try:
            milli_c = reader.read_int(f"{zone}/temp")
        except (DeviceError, ValueError) as exc:
            log.info("skipped thermal zone %s (%s): %s", zone, ztype, exc)
            continue
        if milli_c <= -40000:  # Tegra reports -256000 for zones that are switched off
            log.info("skipped thermal zone %s (%s): offline (%d)", zone, ztype, milli_c)
            continue
        out.append(ThermalZone(reader, zone, ztype, scope="soc_module"))
    return out


def _int_or_none(reader: FileReader, path: str) -> int | None:
    try:
        return reader.read_int(path)
    except (DeviceError, ValueError, OSError):
        return None
