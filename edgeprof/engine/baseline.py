"""The idle baseline of a device and the cool-down before a case (CONTRACTS.md "Idle baseline").

Idle power is measured over a window with no worker running, once per device before its first
case (``--idle-each``: before every case), and copied into every row; ``energy_net_j`` subtracts
it. Cool-down waits until the device is back within a margin of its idle temperature.
"""
from __future__ import annotations

import datetime as dt
import time
from typing import Any

from edgeprof.analysis.energy import mean_power_w, series
from edgeprof.analysis.metrics import PowerSource
from edgeprof.engine.config import Settings
from edgeprof.engine.contention import baseline_warning, new_meter
from edgeprof.results.conditions import IdleBaseline
from edgeprof.results.schema import Provenance


def _temps(samples) -> list[float]:
    return [r.value for smp in samples for r in smp.readings if r.quantity == "temperature_c" and r.value is not None]


def measure_idle(sampler, power: PowerSource | None, device_id: str, settings: Settings,
                 meter=None) -> dict[str, Any]:
    """Idle power over ``settings.idle_s`` seconds; the dict written to baseline.json.

    The same window measures what other processes did (``load``, engine/contention.py): an idle
    figure taken while they keep the cores busy is not idle, and ``warning`` says so (copied into
    every row's warnings, hence the table legend)."""
    meter = meter or new_meter()
    snap0 = meter.snapshot()
    t0 = time.monotonic_ns()
    if settings.sample_hz == 0:
        sampler.sample_once()
    time.sleep(settings.idle_s)
    if settings.sample_hz == 0:
        sampler.sample_once()
    t1 = time.monotonic_ns()
    load = meter.between(snap0, meter.snapshot())
    window = sampler.window(t0, t1)
    power_w = None
    prov = Provenance("measured", "none", "device", note="no power sensor available")
    if power is not None:
        ser = series(window, power.sensor, power.quantity)
        power_w = mean_power_w(ser, power.quantity, max(t0, ser[0][0]) if ser else t0,
                               min(t1, ser[-1][0]) if ser else t1)
        prov = power.provenance.noted(f"idle window {(t1 - t0) / 1e9:.2f} s")
        prov = Provenance(prov.kind, prov.source, prov.scope, (t1 - t0) / 1e9, prov.note)
    temps = _temps(window)
    busy = [r.value for smp in window for r in smp.readings
            if r.sensor == "cpu:utilization" and r.quantity == "utilization" and r.value is not None]
    return {"device_id": device_id, "t0_ns": t0, "t1_ns": t1, "idle_temperature_c": max(temps) if temps else None,
            "idle_window_s": (t1 - t0) / 1e9, "idle_power_w": power_w, "provenance": prov.to_dict(),
            "cpu_busy_ratio": sum(busy) / len(busy) if busy else None,
            "load": load, "warning": baseline_warning(load, power_w),
            "measured_at": dt.datetime.now(dt.timezone.utc).isoformat()}


def cool_down(sampler, baseline: IdleBaseline | None, settings: Settings, margin_c: float = 2.0,
              poll_s: float = 0.5) -> float:
    """Wait until the device is back within ``margin_c`` of its idle temperature, or for
    ``--cooldown`` seconds at most (the whole time when no temperature sensor exists)."""
    t0 = time.monotonic()
    idle_c = baseline.idle_temperature_c if baseline else None
    while time.monotonic() - t0 < settings.cooldown_s:
        if idle_c is not None and settings.sample_hz:
            now = time.monotonic_ns()
            temps = _temps(sampler.window(now - int(poll_s * 1e9), now))
            if temps and max(temps) <= idle_c + margin_c:
                break
        time.sleep(min(poll_s, max(0.0, settings.cooldown_s - (time.monotonic() - t0))))
    return time.monotonic() - t0
