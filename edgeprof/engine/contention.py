"""Is the machine busy? Other processes' CPU before a run (the idle-baseline window) and during
each case, recorded in every row and judged ``quiet`` or ``contended`` (issue 13, item 7).

Why: on a 2-core machine shared with other tenants a bench decodes 2–3× slower, an idle baseline
taken on busy cores is not idle (``energy_net_j`` collapses towards 0), and a TDP estimate charges
other processes' CPU to the model. None of that may be hidden: a row measured on contended cores
says so, with the figures.

The windows come from ``devices.load.LoadMeter`` (system CPU time from /proc/stat minus this
process's own CPU): ``other_cpu_cores`` is CPU used by every process except the parent, in cores.
During a case the worker is one of those "others", so its own CPU time (reported by the worker at
exit, else its last sampled ``worker:cpu_time``) is taken out again. The verdict is
``devices.load.judge``: other processes above a fifth of a core (5 % of the cores on big
machines), or hypervisor steal above 5 %, is contention.
"""
from __future__ import annotations

from typing import Any

from edgeprof.devices.load import CONTENDED, LoadMeter, judge

from edgeprof.results.conditions import IdleBaseline


def new_meter() -> LoadMeter:
    """A load meter on the real OS (never re-rooted: live CPU time is not a device file)."""
    return LoadMeter()


def without_worker(window: dict, worker_cpu_s: float | None) -> dict:
    """A case window with the worker's own CPU taken out of ``other_cpu_cores``."""
    w = dict(window)
    if worker_cpu_s is not None and w.get("window_s"):
        w["worker_cpu_cores"] = round(worker_cpu_s / w["window_s"], 3)
        w["other_cpu_cores"] = round(max(0.0, (w.get("other_cpu_cores") or 0.0) - w["worker_cpu_cores"]), 3)
    else:
        w["note"] = "worker CPU time unknown: other_cpu_cores includes the worker"
    return w


def assess(before: dict | None, during: dict | None) -> dict[str, Any]:
    """The row's ``load`` field: both windows and the verdict over them."""
    windows = [w for w in (before, during) if w]
    status, why = judge(windows) if windows else ("unknown", "no load window was measured")
    return {"status": status, "why": why, "before_status": judge([before])[0] if before else "unknown",
            "during_status": judge([during])[0] if during else "unknown", "before": before, "during": during}


def baseline_warning(window: dict | None, idle_power_w: float | None) -> str | None:
    """The warning an idle baseline taken on a busy machine carries into every row and the legend."""
    if not window:
        return None
    status, why = judge([window])
    if status != CONTENDED:
        return None
    busy = window.get("busy_fraction")
    watts = f"idle_power_w {idle_power_w:.2f} W" if idle_power_w is not None else "the idle figure"
    return (f"idle baseline taken on a busy machine ({why}; {100 * (busy or 0):.0f} % of all cores busy): "
            f"{watts} includes other processes' load, so energy_net_j understates this model's energy; "
            f"use process_energy_j, or re-run on a quiet machine")


def case_warning(load: dict) -> str | None:
    """The warning of a case measured on contended cores (None when its own window was quiet: a
    busy machine before the case is the baseline warning's business)."""
    during = load.get("during")
    if not during:
        return None
    status, why = judge([during])
    if status != CONTENDED:
        return None
    return (f"measured on contended cores ({why}; load average {during.get('loadavg_1m')}): timings are slower "
            f"than on a quiet machine and the device's energy includes other processes' load")


def worker_cpu_s(worker_stats: dict, samples: list) -> float | None:
    """The worker's CPU time: what it reported at exit, else its last sampled ``worker:cpu_time``
    (a worker that crashed reports nothing)."""
    v = (worker_stats or {}).get("cpu_time_s")
    if v is not None:
        return float(v)
    vals = [r.value for s in samples for r in s.readings if r.sensor == "worker:cpu_time" and r.value is not None]
    return float(vals[-1]) if vals else None


def case_load(meter, snap0, snap1, worker_cpu: float | None, baseline: IdleBaseline | None) -> tuple[dict, list[str]]:
    """The row's ``load`` and the warnings it implies (baseline taken on a busy machine, case
    measured on contended cores)."""
    before = baseline.load.to_dict() if baseline and baseline.load else None
    load = assess(before, without_worker(meter.between(snap0, snap1), worker_cpu))
    warnings = [w for w in (baseline.warning if baseline else None, case_warning(load)) if w]
    return load, warnings
