"""The four steps of one case, as typed values the sweep hands from one to the next.

``Sweep.run_one`` is prepare → execute → assess → persist. Each step's result is a frozen type
(:class:`CaseRun`, :class:`Executed`, :class:`Assessed`), so a change to one step (a new stall
check while executing, a new field of the context) is made in one place and the next step reads
attributes, never keys of a dict being filled in along the way. This module holds what the steps
compute without the sweep's state (the preflight checks and the assessment); the sweep holds the
sampler, the meter and the worker.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from edgeprof.analysis.inference import InferenceFacts
from edgeprof.analysis.metrics import PowerSource, Trace, compute, perf_crosscheck
from edgeprof.analysis.stalls import dropped_warnings
from edgeprof.analysis.throttling import throttle_state, throttle_warning
from edgeprof.analysis.uncertainty import short_windows
from edgeprof.engine.config import Settings
from edgeprof.engine.contention import case_load, worker_cpu_s
from edgeprof.engine.launcher import Outcome
from edgeprof.engine.plan import Case
from edgeprof.engine.record import CaseContext, build_record
from edgeprof.models.trust import artifact_problem
from edgeprof.results.conditions import IdleBaseline, Load, ThrottleEvidence
from edgeprof.results.schema import ErrorInfo, Record


@dataclass(frozen=True)
class CaseRun:
    """What ``prepare`` settled before the worker starts: the device the case runs on, its power
    rule and idle baseline, and the record's context so far."""

    case: Case
    device: Any                       # devices.base.Device
    power: PowerSource | None
    baseline: IdleBaseline | None     # the device's idle baseline (baseline.json)
    context: CaseContext
    preflight: Outcome | None = None  # set when the case must not run (bad file, too little memory)


@dataclass(frozen=True)
class Executed:
    """What ``execute`` brings back: the worker's outcome (status already set for a cancel or a
    skip), the harness's own CPU time and the machine-load snapshots around the worker."""

    outcome: Outcome
    harness_cpu_s: float
    load_before: Any
    load_after: Any


@dataclass(frozen=True)
class Assessed:
    """What ``assess`` made of an execution: the record, and the samples and repetitions the case's
    samples files are written from (none for a case that never started)."""

    record: Record
    samples: list = field(default_factory=list)
    reps: list = field(default_factory=list)


def preflight(case: Case, settings: Settings) -> Outcome | None:
    """Why the case must not start, as the outcome its record carries, or None. Untrusted files are
    checked again right before they run; the memory check can be turned off."""
    bad = artifact_problem(case.artifact)
    if bad:
        return Outcome(error=ErrorInfo("bad_model", bad, "preflight"))
    skip = None if settings.ignore_memory_check else memory_problem(case)
    if skip:
        return Outcome(status="skipped", error=ErrorInfo("memory_check", skip, "plan"))
    return None


def memory_problem(case: Case) -> str | None:
    """Why this machine has too little free memory for the case's artifact, or None."""
    import psutil

    need = int(case.artifact.size_bytes or 0) * 1.2 + 256 * 2**20
    avail = psutil.virtual_memory().available
    if need > avail:
        return (f"needs about {need / 2**30:.1f} GiB but {avail / 2**30:.1f} GiB is available; "
                f"free memory or pass --ignore-memory-check")
    return None


def inference_facts(case: Case, outcome: Outcome) -> InferenceFacts | None:
    """What an inference case's metrics need beyond its repetitions (None for a decoder case)."""
    w = case.workload
    if not w.inference:
        return None
    stats, extra = outcome.worker_stats, (outcome.loaded.extra if outcome.loaded else None) or {}
    return InferenceFacts(batch=w.batch or 1, tokens_per_sample=w.prompt_tokens,
                          audio_s_per_sample=extra.get("audio_s_per_sample"), load_ns=stats.get("load_ns"),
                          first_inference_ns=stats.get("first_inference_ns"))


def assess(run: CaseRun, done: Executed, samples: list, meter, sample_hz: float,
           rate_warnings: list[str]) -> Record:
    """The case's record from its outcome and the sampler's window: machine load, metrics,
    short-window and throttling warnings (the order of the warnings is the record's)."""
    outcome, baseline, device, case = done.outcome, run.baseline, run.device, run.case
    info = device.info()
    load, warnings = case_load(meter, done.load_before, done.load_after,
                               worker_cpu_s(outcome.worker_stats, samples), baseline)
    warnings += dropped_warnings(outcome.dropped)
    metrics = {}
    if outcome.reps:
        a = case.artifact
        tr = Trace(reps=outcome.reps, samples=samples, power=run.power,
                   idle_power_w=baseline.idle_power_w if baseline else None,
                   idle_provenance=baseline.provenance if baseline else None,
                   memory_total_bytes=info.memory_bytes,
                   params=(outcome.loaded.n_params if outcome.loaded else None) or a.model.params,
                   artifact_size_bytes=a.size_bytes, baseline_size_bytes=a.baseline_size,
                   quality_retention=a.quality_retention, sample_hz=sample_hz,
                   worker_peak_rss_bytes=outcome.worker_stats.get("peak_rss_bytes"), t0_ns=outcome.t_start_ns,
                   worker_peak_rss_source=outcome.worker_stats.get("peak_rss_source") or "unknown",
                   logical_cores=info.specs.get("logical_cores"), device_kind=info.kind,
                   inference=inference_facts(case, outcome))
        metrics = compute(tr, perf_crosscheck(outcome.reps))
        warnings += tr.warnings
        if run.power is not None:
            warnings += short_windows(outcome.reps, device.window_warning)
    warnings = rate_warnings + warnings
    throttled, evidence = throttle_state(samples, [x.info for x in device.sensors()])
    warnings += [w for w in (throttle_warning(evidence),) if w]
    ctx = replace(run.context, harness_cpu_s=done.harness_cpu_s, load=Load.from_dict(load),
                  throttle_evidence=ThrottleEvidence.from_dict(evidence))
    rec = build_record(case, outcome, ctx, metrics, throttled=throttled, warnings=tuple(warnings))
    return with_graph_flops(rec, case) if case.workload.inference and outcome.reps else rec


def with_graph_flops(rec: Record, case: Case) -> Record:
    """An ONNX inference row with its FLOPs per pass counted from the graph at its shapes
    (``analysis/flops.py``; here in the parent, so the worker's peak RSS is the model's alone)."""
    extra = rec.conditions.runtime_extra or {}
    if case.artifact.format != "onnx" or extra.get("flops_per_inference"):
        return rec
    from edgeprof.analysis.flops import onnx_flops

    fc = onnx_flops(case.artifact.path, case.workload.inputs or {})
    if fc is None:
        return rec
    return replace(rec, conditions=replace(rec.conditions, runtime_extra={**extra, "flops_per_inference": fc.to_dict()}))
