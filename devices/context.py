"""The run context of a case: every setting that moves a power or speed figure without being part
of the case — the things a published edge number most often fails to record (jetson-containers
#532, MLPerf inference_results_v2.1 #7): Jetson power mode, jetson_clocks and clock ceilings;
NVIDIA power limits, persistence mode and application clocks; CPU governor, energy-performance
preference, boost and RAPL power limits; macOS low-power mode and power source; AC or battery;
and the temperature of every thermal zone.

``read_context`` returns flat ``{field: value}`` and ``{field: why unknown}``; the engine reads it
before and after each case. Every field but the temperatures is power context (``compare`` refuses a
better/worse verdict when they differ); temperatures (``temp_c.*``) are conditions, not settings.
Files are read under ``root`` (CONTRACTS ``EDGEPROF_SYSROOT``); commands and NVML are injected.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DeviceError
from .jetson import find_igpu, jetson_clocks_state, power_mode
from .sysfs import FileReader

CPUFREQ = "/sys/devices/system/cpu/cpu0/cpufreq"
#: prefixes of the fields that are conditions (measured), not settings: everything else is power context
CONDITIONS = ("temp_c",)
EMC_CAP = "/sys/kernel/nvpmodel_emc_cap/emc_iso_cap"   # where nvpmodel writes the EMC ceiling (Hz) on Orin


def is_power(name: str) -> bool:
    """A setting that moves power or speed (compare refuses a verdict across it), not a condition."""
    return not name.startswith(CONDITIONS)


@dataclass
class Context:
    values: dict[str, Any] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)

    def put(self, name: str, value: Any, why: str | None = None) -> None:
        if value is None:
            if why:
                self.unknown[name] = why
        else:
            self.values[name] = value


def _mhz(reader: FileReader, path: str, per_mhz: float) -> float | None:
    try:
        return round(reader.read_int(path) / per_mhz, 1)
    except (DeviceError, ValueError, OSError):
        return None


def jetson(ctx: Context, reader: FileReader, commands=None) -> None:
    run = None
    if commands is not None and commands.has("nvpmodel"):
        run = lambda: commands.run("nvpmodel", "-q").stdout  # noqa: E731
    pm = power_mode(reader, run)
    why = "no 'nvpmodel -q' and no /var/lib/nvpmodel/status"
    ctx.put("power_mode", pm.get("power_mode"), why)
    ctx.put("power_mode_id", pm.get("power_mode_id"), why)
    devfreq = find_igpu(reader)
    ctx.put("jetson_clocks", jetson_clocks_state(reader, devfreq), "no cpufreq/devfreq floors and ceilings")
    if devfreq:
        ctx.put("gpu_max_mhz", _mhz(reader, f"{devfreq}/max_freq", 1e6), f"{devfreq}/max_freq unreadable")
    ctx.put("emc_max_mhz", _mhz(reader, EMC_CAP, 1e6) if reader.exists(EMC_CAP) else None, f"no {EMC_CAP}")


def nvidia(ctx: Context, device) -> None:
    lib, h = device.nvml_handle()
    tag = f"nvidia{device.info().specs.get('nvml_index', 0)}"
    if lib is None:
        return
    clocks = (lib.const("NVML_CLOCK_GRAPHICS", 0), lib.const("NVML_CLOCK_MEM", 2))
    for name, call, scale in (("power_limit_w", ("nvmlDeviceGetEnforcedPowerLimit",), 1e-3),
                              ("power_limit_default_w", ("nvmlDeviceGetPowerManagementDefaultLimit",), 1e-3),
                              ("persistence_mode", ("nvmlDeviceGetPersistenceMode",), None),
                              ("app_clock_mhz", ("nvmlDeviceGetApplicationsClock", clocks[0]), 1),
                              ("app_mem_clock_mhz", ("nvmlDeviceGetApplicationsClock", clocks[1]), 1)):
        try:
            v = lib.call(call[0], h, *call[1:])
            ctx.put(f"{tag}.{name}", ("on" if v else "off") if scale is None else round(float(v) * scale, 3))
        except (DeviceError, TypeError, ValueError) as exc:
            ctx.unknown[f"{tag}.{name}"] = str(exc)[:120]


def cpu(ctx: Context, reader: FileReader) -> None:
    govs = {reader.try_text(p) for p in reader.glob("/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor")}
    govs.discard(None)
    ctx.put("cpu_governor", (govs.pop() if len(govs) == 1 else "mixed: " + ", ".join(sorted(govs))) if govs else None,
            "no cpufreq scaling_governor (a VM or a kernel without cpufreq)")
    ctx.put("cpu_max_mhz", _mhz(reader, f"{CPUFREQ}/scaling_max_freq", 1e3), "no cpufreq scaling_max_freq")
    ctx.put("cpu_epp", reader.try_text(f"{CPUFREQ}/energy_performance_preference"))
    no_turbo = reader.try_text("/sys/devices/system/cpu/intel_pstate/no_turbo")
    boost = reader.try_text("/sys/devices/system/cpu/cpufreq/boost")
    ctx.put("cpu_boost", "off" if no_turbo == "1" else "on" if no_turbo == "0" else
            ("on" if boost == "1" else "off" if boost == "0" else None))
    for zone in reader.glob("/sys/class/powercap/intel-rapl:*"):
        name = reader.try_text(f"{zone}/name") or zone.rsplit("/", 1)[-1]
        for lim in reader.glob(f"{zone}/constraint_*_power_limit_uw"):
            n = re.search(r"constraint_(\d+)_", lim).group(1)  # type: ignore[union-attr]
            kind = reader.try_text(f"{zone}/constraint_{n}_name") or f"constraint_{n}"
            try:
                ctx.put(f"rapl.{name}.{kind}_w", round(reader.read_int(lim) / 1e6, 3))
            except (DeviceError, ValueError):
                pass


def supply(ctx: Context, reader: FileReader) -> None:
    """AC or battery (``/sys/class/power_supply/*``: ``type`` Mains/Battery, ``online``, ``status``;
    kernel Documentation/ABI/testing/sysfs-class-power)."""
    mains = batteries = None
    for d in reader.glob("/sys/class/power_supply/*"):
        kind = reader.try_text(f"{d}/type")
        if kind == "Mains":
            mains = (mains or False) or reader.try_text(f"{d}/online") == "1"
        elif kind == "Battery":
            batteries = (batteries or False) or reader.try_text(f"{d}/status") == "Discharging"
    if batteries is not None or mains is not None:
        ctx.put("power_source", "battery" if batteries and not mains else "ac")


def macos(ctx: Context, commands) -> None:
    """``pmset -g`` (``lowpowermode 1``) and ``pmset -g batt`` (``Now drawing from 'AC Power'``)."""
    if commands is None or not commands.has("pmset"):
        return
    try:
        m = re.search(r"lowpowermode\s+(\d)", commands.run("pmset", "-g").stdout)
        ctx.put("low_power_mode", ("on" if m.group(1) == "1" else "off") if m else None)
        m = re.search(r"drawing from '([^']+)'", commands.run("pmset", "-g", "batt").stdout)
        ctx.put("power_source", ("battery" if "Battery" in m.group(1) else "ac") if m else None)
    except DeviceError as exc:
        ctx.unknown["low_power_mode"] = str(exc)


def temperatures(ctx: Context, reader: FileReader) -> None:
    for zone in reader.glob("/sys/class/thermal/thermal_zone*"):
        kind = reader.try_text(f"{zone}/type") or zone.rsplit("/", 1)[-1]
        try:
            milli = reader.read_int(f"{zone}/temp")
        except (DeviceError, ValueError):
            continue
        if milli > -40000:  # Tegra reports -256000 for zones that are off
            ctx.put(f"temp_c.{kind}", round(milli / 1e3, 1))


def read_context(devices: list, root: Path | str = "/", commands=None) -> Context:
    """Everything above, for the devices found (see the module docstring)."""
    reader, ctx = FileReader(root), Context()
    kinds = {d.info().kind for d in devices}
    if "jetson" in kinds:
        jetson(ctx, reader, commands)
    for d in devices:
        if d.info().kind == "nvidia" and hasattr(d, "nvml_handle"):
            nvidia(ctx, d)
    cpu(ctx, reader)
    supply(ctx, reader)
    if commands is not None and commands.has("pmset"):  # macOS (Commands.for_root names it there)
        macos(ctx, commands)
    temperatures(ctx, reader)
    if not any(k.startswith("temp_c.") for k in ctx.values):
        ctx.unknown["temp_c"] = "no thermal zones under /sys/class/thermal"
    return ctx

