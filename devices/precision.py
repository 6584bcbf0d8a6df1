"""Published resolution and update period of each energy/power source, and what they mean for a
measured window: its energy uncertainty and whether it is too short.

Why (issue 13, item 9): a 30 ms prefill measured with a counter that moves every 100 ms, or a
1-s-averaged power, is not a measurement of that prefill. Each figure below cites where it comes
from; a figure nobody publishes is None ("unknown"), never a guess. Adapters attach these to their
``SensorInfo.precision``; the engine calls ``energy_uncertainty_j`` / ``too_short`` per window.
"""
from __future__ import annotations

import math

from .base import Precision

#: Intel SDM Vol. 3B §14.9.1 "RAPL Interfaces": MSR_RAPL_POWER_UNIT energy status unit 1/2^ESU J,
#: default ESU = 10000b, "15.3 micro-Joules increment" (AMD's RAPL MSRs use the same default).
#: Update interval ~1 ms: Hähnel et al., "Measuring Energy Consumption for Short Code Paths Using
#: RAPL", ACM SIGMETRICS PER 40(3), 2012. The powercap file reports µJ; the quantum is the MSR's.
RAPL = Precision(resolution=2.0 ** -16, update_period_s=1e-3,
                 source="Intel SDM Vol. 3B 14.9.1 (energy unit 1/2^16 J = 15.3 uJ); update ~1 ms per "
                        "Haehnel et al., SIGMETRICS PER 2012")

#: NVML API reference, nvmlDeviceGetTotalEnergyConsumption: mJ since the driver loaded (1 mJ
#: steps). Its refresh period is not documented: the adapter measures it at open (devices/_nvml.py)
#: and passes it here; Yang et al., "Part-time Power Measurements: nvidia-smi's Lack of Attention"
#: (arXiv 2312.02741, SC24) show the on-board sensor samples only part of the runtime on A100/H100.
NVML_ENERGY_SOURCE = ("NVML nvmlDeviceGetTotalEnergyConsumption (mJ); update period measured at open "
                      "(undocumented; Yang et al. arXiv 2312.02741 on partial sampling)")
#: nvmlDeviceGetPowerUsage: mW; "On Ampere (except GA100) or newer GPUs, the API returns power
#: averaged over 1 sec interval" (NVML API reference); accuracy "+/- 5 watts" (nvidia-smi
#: --help-query-gpu, power.draw).
NVML_POWER_SOURCE = ("NVML nvmlDeviceGetPowerUsage (mW; 1 s average on Ampere except GA100 and newer); "
                     "accuracy +/- 5 W per nvidia-smi power.draw")

#: TI INA3221 data sheet (SBOS576): shunt-voltage LSB 40 uV, bus-voltage LSB 8 mV; Linux
#: Documentation/hwmon/ina3221.rst: shunt[123]_resistor (uOhm), samples, update_interval (ms) =
#: channels x samples x (bus + shunt conversion time).
INA3221_SHUNT_LSB_V = 40e-6
INA3221_BUS_LSB_V = 8e-3
INA3221_SOURCE = ("TI INA3221 data sheet SBOS576 (shunt LSB 40 uV, bus LSB 8 mV); kernel "
                  "Documentation/hwmon/ina3221.rst (shunt*_resistor, update_interval)")


def ina3221(shunt_uohm: int | None, bus_mv: float, current_ma: float,
            update_interval_ms: int | None) -> Precision:
    """Power resolution of one INA3221 rail: V·ΔI + I·ΔV, with ΔI = 40 µV / R_shunt, at the
    operating point read at discovery (None when the driver does not expose the shunt)."""
    resolution = None
    if shunt_uohm and shunt_uohm > 0:
        d_i = INA3221_SHUNT_LSB_V / (shunt_uohm * 1e-6)
        resolution = abs(bus_mv) / 1e3 * d_i + abs(current_ma) / 1e3 * INA3221_BUS_LSB_V
    period = update_interval_ms / 1e3 if update_interval_ms and update_interval_ms > 0 else None
    return Precision(resolution=resolution, update_period_s=period, source=INA3221_SOURCE)


def file_unit(unit_w: float, source: str, update_period_s: float | None = None) -> Precision:
    """A power file whose only published property is its unit (INA3221 IIO mW, INA238 µW,
    amdgpu µW): the resolution is that unit at best; the update period is not published."""
    return Precision(resolution=unit_w, update_period_s=update_period_s, source=source)


def energy_uncertainty_j(p: Precision | None, quantity: str, window_s: float,
                         power_w: float | None = None) -> float | None:
    """± energy uncertainty of one window measured by a sensor of precision ``p``.

    - counter (``energy_j``): one resolution step at each end, plus up to one update period of
      energy at each end (the counter is stale by up to a period when read): 2·res + 2·P·period;
    - power (``power_w``): the resolution integrated over the window, plus, for an averaged
      power, P × averaging window at each end (the average lags the load);
    - the vendor accuracy (± W) over the window where published.
    None when the figures needed are unknown: the caller says "uncertainty unknown".
    """
    if p is None or window_s < 0:
        return None
    watts = abs(power_w or 0.0)
    if quantity == "energy_j":
        if p.resolution is None:
            return None
        u = 2 * p.resolution
        if p.update_period_s:
            u += 2 * watts * p.update_period_s
        return u
    if quantity == "power_w":
        if p.resolution is None and p.accuracy is None:
            return None
        u = (p.resolution or 0.0) * window_s + (p.accuracy or 0.0) * window_s
        if p.averaging_s:
            u += 2 * watts * min(p.averaging_s, window_s)
        return u
    return None


def min_window_s(p: Precision | None, min_updates: int = 5) -> float | None:
    """The shortest window that spans ``min_updates`` updates (or averaging windows)."""
    if p is None:
        return None
    period = max(p.update_period_s or 0.0, p.averaging_s or 0.0)
    return period * min_updates if period > 0 else None


def too_short(p: Precision | None, window_s: float, min_updates: int = 5) -> str | None:
    """A warning with the repetitions needed when a window is shorter than ``min_window_s``."""
    need = min_window_s(p, min_updates)
    if need is None or window_s >= need:
        return None
    reps = math.ceil(need / max(window_s, 1e-9))
    what = "averaging window" if (p.averaging_s or 0) >= (p.update_period_s or 0) else "update period"
    period = max(p.update_period_s or 0.0, p.averaging_s or 0.0)
    return (f"window {window_s * 1e3:.0f} ms is shorter than {min_updates} x the sensor's {what} "
            f"({period * 1e3:.0f} ms): energy of one window is not resolved; measure >= {need:.2f} s "
            f"(about {reps} repetitions of this length, or a longer case)")
