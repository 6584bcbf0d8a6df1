"""What the model itself costs on a shared machine: process-attributed CPU energy and the model's
memory footprint (issue 13, item 3).

Why: a device figure (package power, used system memory) moves with every other process. On a
2-core machine shared with other tenants the TDP estimate said 12 W "for the model" while other
processes kept the cores busy, and ``memory_utilization`` was the whole system's used memory.

- ``process_energy_j`` (and ``process_energy_per_token_j``): the approach of Scaphandre and
  PowerJoular — host power × the process's CPU time ÷ the busy CPU time of all cores — applied
  to each repetition's gross energy, with the worker's share measured over the span of the
  measured repetitions (one share for the case: a single 150 ms repetition is shorter than the
  utilization window, so a per-repetition share would be mostly sampling noise). Only for a CPU
  package power (RAPL or the TDP estimate): a GPU board or a SoC module also burns power for work
  that CPU time does not see. Provenance kind ``estimated``, scope ``process``, method named.
- ``memory_utilization``: the model's footprint ÷ device memory — the worker's RSS plus the GPU
  memory the process holds where a sensor reports it; on a discrete GPU the footprint is that GPU
  memory ÷ GPU memory (host RSS is ``avg_rss_bytes``). The system-wide figure is
  ``system_memory_utilization`` (analysis/metrics.py).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from edgeprof.analysis import energy as en
from edgeprof.analysis.stats import metric
from edgeprof.results.schema import Metric, Provenance

CPU_SCOPES = ("cpu_package",)
DISCRETE_GPUS = ("nvidia", "amd")
METHOD = ("Scaphandre/PowerJoular attribution: host power x worker CPU time / busy CPU time of all cores "
          "over the measured repetitions")


def _delta(ser: en.Series, t0: int, t1: int) -> float | None:
    a, b = en.interp(ser, t0), en.interp(ser, t1)
    return None if a is None or b is None else b - a


def _worker_cpu(tr, reps: list, t0: int, t1: int) -> tuple[float | None, str]:
    """The worker's CPU-seconds over [t0, t1]: its own clock at the repetitions' edges (exact;
    the worker may exit before the sampler reads it after the last one), else the sampled
    ``worker:cpu_time``."""
    first = min(reps, key=lambda r: r.window[0]).extra.get("worker_cpu_s")
    last = max(reps, key=lambda r: r.window[1]).extra.get("worker_cpu_s")
    if first and last:
        return last[1] - first[0], "the worker's CPU clock at the repetitions' edges"
    return _delta(en.series(tr.samples, "worker:cpu_time", "cpu_time_s"), t0, t1), "sampled worker:cpu_time"


def cpu_share(tr) -> dict[str, Any] | None:
    """The worker's share of the busy CPU time over the measured repetitions, with its inputs:
    ``{share, worker_cpu_s, busy_cpu_s, window_s, basis}``; None when either is unknown."""
    reps = [r for r in tr.reps if r.prefill or r.decode]
    if not reps:
        return None
    t0, t1 = min(r.window[0] for r in reps), max(r.window[1] for r in reps)
    worker, worker_basis = _worker_cpu(tr, reps, t0, t1)
    busy = _delta(en.series(tr.samples, "cpu:busy_time", "cpu_time_s"), t0, t1)
    basis = f"cpu:busy_time (busy CPU-seconds from {en.reading_source(tr.samples, 'cpu:busy_time', 'cpu_time_s')})"
    if busy is None:
        avg = en.time_average(en.series(tr.samples, "cpu:utilization", "utilization"), t0, t1)
        if avg is None or not tr.logical_cores:
            return None
        busy = avg * tr.logical_cores * (t1 - t0) / 1e9
        basis = f"mean cpu:utilization x {tr.logical_cores} cores x window"
    if worker is None or busy <= 0:
        return None
    return {"share": min(1.0, max(0.0, worker / busy)), "worker_cpu_s": round(worker, 4),
            "busy_cpu_s": round(busy, 4), "window_s": round((t1 - t0) / 1e9, 4),
            "basis": f"{worker_basis} / {basis}"}


def process_energy_metrics(tr, energy: dict[str, Metric]) -> dict[str, Metric]:
    """``process_energy_j`` / ``process_energy_per_token_j`` from the case's gross energy figures."""
    gross = energy.get("energy_gross_j")
    if tr.power is None or gross is None or tr.power.provenance.scope not in CPU_SCOPES:
        return {}
    sh = cpu_share(tr)
    if sh is None:
        tr.warnings.append("process_energy_j not computed: the worker's CPU time or the system's busy time "
                           "was not sampled over the repetitions (raise --sample-hz)")
        return {}
    share = sh["share"]
    src = tr.power.provenance
    prov = Provenance("estimated", f"worker CPU share x {src.source}", "process", gross.provenance.period_s,
                      f"{METHOD}; share {share:.3f} = worker {sh['worker_cpu_s']:.3g} CPU-s / busy "
                      f"{sh['busy_cpu_s']:.3g} CPU-s over {sh['window_s']:.3g} s ({sh['basis']}); power: "
                      f"{src.kind} {src.source}", extra={"cpu_share": sh})
    out = {"process_energy_j": _scaled(gross, share, "J", prov)}
    per_tok = energy.get("energy_per_token_j")
    if per_tok is not None:
        out["process_energy_per_token_j"] = _scaled(per_tok, share, "J/token", prov)
    return out


def _scaled(m: Metric, share: float, unit: str, prov: Provenance) -> Metric:
    """``m`` × share, its sensor uncertainty scaled alike (the attribution's own error is not known)."""
    out = metric([e * share for e in m.samples], unit, prov)
    if "uncertainty_basis" not in m.extra:
        return out
    u = m.extra.get("uncertainty")
    return replace(out, extra={"uncertainty": None if u is None else u * share,
                               "uncertainty_basis": f"sensor part only: {m.extra['uncertainty_basis']}; the "
                                                    f"attribution's own error is not quantified"})


def _process_gpu_sensor(samples: list) -> str | None:
    for s in samples:
        for r in s.readings:
            if r.scope == "process" and r.quantity == "memory_used_bytes" and r.value is not None:
                return r.sensor
    return None


def footprint_metrics(tr) -> dict[str, Metric]:
    """``memory_utilization``: the model's footprint ÷ device memory, per repetition."""
    total = tr.memory_total_bytes
    if not total:
        return {}
    rss = en.series(tr.samples, "worker:rss", "rss_bytes")
    gpu_name = _process_gpu_sensor(tr.samples)
    gpu = en.series(tr.samples, gpu_name, "memory_used_bytes") if gpu_name else []
    discrete = bool(gpu) and tr.device_kind in DISCRETE_GPUS
    utils = []
    for r in tr.reps:
        t0, t1 = r.window
        g = en.time_average(gpu, t0, t1) if gpu else None
        if discrete:
            if g is not None:
                utils.append(g / total)
            continue
        m = en.time_average(rss, t0, t1)
        if m is not None:
            utils.append((m + (g or 0.0)) / total)
    if not utils:
        return {}
    what = (f"GPU memory held by the worker ({gpu_name}) / GPU memory; host RSS is avg_rss_bytes" if discrete else
            "worker RSS" + (f" + its GPU memory ({gpu_name})" if gpu else "") + " / device memory")
    period = en.read_period_s(rss) or (1.0 / tr.sample_hz if tr.sample_hz else None)
    prov = Provenance("derived", what, "process", period,
                      f"the model's footprint: {what}, time-averaged per repetition (system-wide used memory "
                      f"is system_memory_utilization)")
    return {"memory_utilization": metric(utils, "ratio", prov)}
