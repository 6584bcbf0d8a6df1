"""Pure functions from a case's trace to its figures (CONTRACTS.md "Metric names").

Each metric is a :class:`~edgeprof.results.schema.Metric` (value, unit, n, median, p90, cv, ci95,
samples, provenance) whose samples are repetition-level values. Nothing here touches hardware or
the clock: give it the same trace and it gives the same numbers, which is what the tests with
known answers rely on.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from typing import Any

from edgeprof.analysis import energy as en
from edgeprof.analysis import inference as inf
from edgeprof.analysis.attribution import footprint_metrics, process_energy_metrics
from edgeprof.analysis.itl import itl_metric
from edgeprof.analysis.stats import metric
from edgeprof.analysis.uncertainty import annotate
from edgeprof.results.schema import Metric, Provenance, Repetition

CLOCK = Provenance("measured", "monotonic clock in the worker", "process")


@dataclass(frozen=True)
class PowerSource:
    """The device's headline power/energy sensor (the total-power rule's choice)."""

    sensor: str
    quantity: str                  # energy_j (counter) | power_w
    provenance: Provenance         # kind/source/scope/note from the sensor
    precision: Any = None          # devices.base.Precision: published resolution/update period (or None)


@dataclass
class Trace:
    reps: list[Repetition]
    samples: list = field(default_factory=list)
    power: PowerSource | None = None
    idle_power_w: float | None = None
    idle_provenance: Provenance | None = None
    memory_total_bytes: int | None = None
    params: int | None = None
    artifact_size_bytes: int | None = None
    baseline_size_bytes: tuple[float, Provenance] | None = None   # 16-bit equivalent size and its basis
    quality_retention: tuple[float, Provenance] | None = None     # from the export manifest
    sample_hz: float = 0.0
    worker_peak_rss_bytes: int | None = None              # the worker's own RSS high-water mark (VmHWM)
    worker_peak_rss_source: str = "VmHWM (/proc/<worker>/status)"   # how the worker read it
    t0_ns: int | None = None                              # when the case started (times in warnings)
    logical_cores: int | None = None                      # of the device (busy fraction -> CPU-seconds)
    device_kind: str | None = None                        # cpu | nvidia | jetson | apple | amd
    inference: inf.InferenceFacts | None = None           # set for an inference case (analysis/inference.py)
    warnings: list[str] = field(default_factory=list)     # filled by the metric functions


def timing_metrics(reps: list[Repetition], perf_note: str = "") -> dict[str, Metric]:
    out: dict[str, Metric] = {}
    prov = replace(CLOCK, note=perf_note)
    pre = [r for r in reps if r.prefill]
    dec = [r for r in reps if r.decode and r.n_decode]
    if pre and reps[0].n_generated > 0:
        out["ttft_ms"] = metric([(r.prefill[1] - r.prefill[0]) / 1e6 for r in pre], "ms", prov)
    if pre:
        out["prefill_tokens_per_s"] = metric(
            [r.n_prefill / ((r.prefill[1] - r.prefill[0]) / 1e9) for r in pre], "tokens/s", prov)
    if dec:
        out["tpot_ms"] = metric([statistics.median(r.token_ns) / 1e6 for r in dec if r.token_ns], "ms",
                                prov.noted("samples are per-repetition medians of per-token latency"))
        out["decode_tokens_per_s"] = metric(
            [r.n_decode / ((r.decode[1] - r.decode[0]) / 1e9) for r in dec], "tokens/s", prov)
        itl = itl_metric(dec, prov)
        if itl is not None:
            out["itl_ms"] = itl
    if reps:
        out["e2e_ms"] = metric([(r.window[1] - r.window[0]) / 1e6 for r in reps], "ms", prov)
    return out


def energy_metrics(tr: Trace) -> dict[str, Metric]:
    """Gross/net energy, power and J/token per phase from the headline power sensor."""
    out: dict[str, Metric] = {}
    if tr.idle_power_w is not None:
        out["idle_power_w"] = metric([tr.idle_power_w], "W", tr.idle_provenance or Provenance("measured"))
    if tr.power is None:
        return out
    ser = en.series(tr.samples, tr.power.sensor, tr.power.quantity)
    lost = en.gaps(tr.samples, tr.power.sensor, tr.power.quantity)
    prov = replace(tr.power.provenance, period_s=_period(tr, ser))
    gross, net, power, per_tok, pre_tok, dec_tok = [], [], [], [], [], []
    for r in tr.reps:
        t0, t1 = r.window
        if en.overlaps(lost, t0, t1):
            continue  # the sensor was missing for part of this repetition: nothing is interpolated across
        e = en.window_energy_j(ser, tr.power.quantity, t0, t1)
        if e is None:
            continue
        dt = (t1 - t0) / 1e9
        gross.append(e)
        if dt > 0:
            power.append(e / dt)
        if tr.idle_power_w is not None:
            net.append(e - tr.idle_power_w * dt)
        if r.n_generated:
            per_tok.append(e / r.n_generated)
        if r.prefill and r.n_prefill:
            ep = en.window_energy_j(ser, tr.power.quantity, *r.prefill)
            if ep is not None:
                pre_tok.append(ep / r.n_prefill)
        if r.decode and r.n_decode:
            ed = en.window_energy_j(ser, tr.power.quantity, *r.decode)
            if ed is not None:
                dec_tok.append(ed / r.n_decode)
    if tr.power.quantity == "energy_j" and gross and not any(gross):
        # a counter that never moved over a whole case is stale, not a device drawing 0 W
        tr.warnings.append(f"energy counter {tr.power.sensor} did not move during the case: stale counter, "
                           f"no energy reported (run 'edgeprof devices --check')")
        return out
    if lost:
        prov = _sensor_loss(tr, lost, len(gross), prov)
        if not gross:
            return out
    elif not gross and tr.reps:
        why = next((r.reason for s in reversed(tr.samples) for r in s.readings
                    if r.sensor == tr.power.sensor and r.quantity == tr.power.quantity and r.reason), None)
        tr.warnings.append(f"power sensor {tr.power.sensor} gave no reading that covers a repetition"
                           f"{f' ({why})' if why else ''}; energy omitted")
        return out
    for name, xs, unit in (("energy_gross_j", gross, "J"), ("avg_power_w", power, "W"),
                           ("energy_per_token_j", per_tok, "J/token"),
                           ("prefill_energy_per_token_j", pre_tok, "J/token"),
                           ("decode_energy_per_token_j", dec_tok, "J/token")):
        if xs:
            out[name] = metric(xs, unit, prov)
    if net:
        idle_note = tr.idle_provenance.source if tr.idle_provenance else "idle baseline"
        out["energy_net_j"] = metric(net, "J", prov.noted(f"net = gross - idle power ({idle_note}) x duration"))
    return annotate(tr, out, lambda t0, t1: en.window_energy_j(ser, tr.power.quantity, t0, t1))


def _sensor_loss(tr: Trace, lost: list, covered: int, prov: Provenance) -> Provenance:
    """A power sensor that vanished mid-case: one warning saying when and what became of the
    energy (partial from the repetitions measured before, or omitted); never silent."""
    start = tr.t0_ns if tr.t0_ns is not None else (tr.samples[0].t_ns if tr.samples else lost[0][0])
    _, t_back, reason, t_lost = lost[0]
    when = f"{(t_lost - start) / 1e9:.1f} s into the case"
    back = f", back at {(t_back - start) / 1e9:.1f} s" if t_back is not None else ""
    head = f"power sensor {tr.power.sensor} vanished {when}{back} ({reason}); its readings are absent from then on"
    if covered:
        note = (f"partial: energy from {covered} of {len(tr.reps)} repetitions, measured before "
                f"{tr.power.sensor} vanished")
        tr.warnings.append(f"{head}; energy is partial — from {covered} of {len(tr.reps)} repetitions")
        return prov.noted(note)
    tr.warnings.append(f"{head}; energy omitted — no repetition was measured whole before it vanished")
    return prov


def _period(tr: Trace, ser: en.Series) -> float | None:
    """A sampled figure's ``period_s``: how often its sensor was read in this case (each sensor
    has its own period), else the nominal ``1 / --sample-hz``."""
    return en.read_period_s(ser) or (1.0 / tr.sample_hz if tr.sample_hz else None)


def _sampled(tr: Trace, ser: en.Series, sensor: str, quantity: str, scope: str, note: str) -> Provenance:
    """Provenance of a figure from one sensor's readings: their own source, their read period."""
    return Provenance("measured", en.reading_source(tr.samples, sensor, quantity) or sensor, scope,
                      _period(tr, ser), note)


def memory_metrics(tr: Trace) -> dict[str, Metric]:
    out: dict[str, Metric] = {}
    rss = en.series(tr.samples, "worker:rss", "rss_bytes")
    used = en.series(tr.samples, "mem:used", "memory_used_bytes")
    busy = en.series(tr.samples, "cpu:utilization", "utilization")
    prov = _sampled(tr, rss, "worker:rss", "rss_bytes", "process", "worker process tree")
    peaks, avgs, utils, busys = [], [], [], []
    for r in tr.reps:
        t0, t1 = r.window
        inside = [v for t, v in rss if t0 <= t <= t1]
        edge = [x for x in (en.interp(rss, t0), en.interp(rss, t1)) if x is not None]
        if inside or edge:
            peaks.append(max(inside + edge))
        a = en.time_average(rss, t0, t1)
        if a is not None:
            avgs.append(a)
        u = en.time_average(used, t0, t1)
        if u is not None and tr.memory_total_bytes:
            utils.append(u / tr.memory_total_bytes)
        b = [v for t, v in busy if t0 < t <= t1]
        if b:
            busys.append(sum(b) / len(b))
    all_rss = [v for _, v in rss]
    if tr.worker_peak_rss_bytes:
        hw = float(tr.worker_peak_rss_bytes)
        out["peak_rss_bytes"] = metric(peaks or [hw], "B", replace(
            prov, source=f"{tr.worker_peak_rss_source} + {prov.source} samples",
            note="value: max of the worker's own RSS high-water mark (load included; not the bench parent's) "
                 "and sampled tree RSS; samples: sampled per-repetition peaks"), value=max(peaks + all_rss + [hw]))
    elif peaks:
        out["peak_rss_bytes"] = metric(peaks, "B", prov, value=max(peaks + all_rss))
    if avgs:
        out["avg_rss_bytes"] = metric(avgs, "B", prov)
    if utils:
        out["system_memory_utilization"] = metric(utils, "ratio", _sampled(
            tr, used, "mem:used", "memory_used_bytes", "system",
            "average used system memory / total, every process included (the model's own share is "
            "memory_utilization)"))
    if busys:
        out["cpu_busy_ratio"] = metric(busys, "ratio", _sampled(
            tr, busy, "cpu:utilization", "utilization", "system",
            "busy fraction of all cores during the timed repetitions"))
    return out


def size_metrics(tr: Trace) -> dict[str, Metric]:
    out: dict[str, Metric] = {}
    if tr.artifact_size_bytes:
        if tr.baseline_size_bytes:
            base, prov = tr.baseline_size_bytes
        elif tr.params:
            base = tr.params * 2
            prov = Provenance("derived", "params x 2 bytes", "artifact",
                              note="16-bit size unknown; estimated as parameter count x 2 bytes")
        else:
            return out
        cr = base / tr.artifact_size_bytes
        out["compression_rate"] = metric([cr], "ratio", prov)
        if tr.quality_retention:
            q, qprov = tr.quality_retention
            out["mcr"] = metric([cr * q], "ratio", replace(
                qprov, kind="derived", note=f"compression_rate x quality retention ({qprov.note})"))
    return out


def compute(tr: Trace, perf_note: str = "") -> dict[str, Metric]:
    out = inf.timing(tr, tr.inference, CLOCK) if tr.inference is not None else timing_metrics(tr.reps, perf_note)
    energy = energy_metrics(tr)
    out.update(energy)
    if tr.inference is not None:
        out.update(inf.energy(tr, tr.inference, energy.get("energy_gross_j")))
    out.update(process_energy_metrics(tr, energy))
    out.update(memory_metrics(tr))
    out.update(footprint_metrics(tr))
    out.update(size_metrics(tr))
    return out


def perf_crosscheck(reps: list[Repetition]) -> str:
    """How far the engine's own counters are from the worker's clock (median %, per phase)."""
    pre, dec = [], []
    for r in reps:
        p = r.perf or {}
        if r.prefill and p.get("t_p_eval_ms"):
            wall = (r.prefill[1] - r.prefill[0]) / 1e6
            pre.append(100 * (wall - p["t_p_eval_ms"]) / p["t_p_eval_ms"])
        if r.decode and p.get("t_eval_ms"):
            wall = (r.decode[1] - r.decode[0]) / 1e6
            dec.append(100 * (wall - p["t_eval_ms"]) / p["t_eval_ms"])
    parts = []
    if pre:
        parts.append(f"prefill {statistics.median(pre):+.1f}%")
    if dec:
        parts.append(f"decode {statistics.median(dec):+.1f}%")
    return ("wall clock vs engine perf counters: " + ", ".join(parts)) if parts else ""
