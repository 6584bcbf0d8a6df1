"""Figures of an ``inference`` case (a model that is not a causal LM) from its repetitions: each
repetition is a block of back-to-back forward passes with every pass's latency
(``engine/inference_loop.py``).

``latency_ms`` pools every timed pass (p50 as the value, p90, p99 from 20 passes on), its interval a
bootstrap over repetitions (passes of one block share the machine's state, as ``itl_ms``'s tokens);
its samples are per-repetition medians, so ``compare`` pairs them like ``tpot_ms``. Throughput is
per repetition: passes ÷ the block's span, × batch for samples/s, × sequence length for an
encoder's tokens/s, × seconds of audio per sample for the real-time factor. Energy per inference
is each repetition's window energy ÷ its passes, from the same sensor series and with the same
sensor-loss rule as every other energy figure, and its sensor uncertainty by the catalogue's rule.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass

from edgeprof.analysis import energy as en
from edgeprof.analysis.itl import cluster_ci, itl_quantiles
from edgeprof.analysis.stats import cv, metric
from edgeprof.analysis.uncertainty import annotate
from edgeprof.results.schema import Metric, Provenance


@dataclass(frozen=True)
class InferenceFacts:
    """What the metrics need to know about an inference case beyond its repetitions."""

    batch: int = 1
    tokens_per_sample: int | None = None       # a text model's sequence length
    audio_s_per_sample: float | None = None    # an audio model's seconds of audio per sample
    load_ns: int | None = None
    first_inference_ns: int | None = None


def _reps(tr):
    return [r for r in tr.reps if r.inference and r.n_inferences]


def latency_metric(reps, prov: Provenance) -> Metric | None:
    groups = [[t / 1e6 for t in r.latency_ns] for r in reps if r.latency_ns]
    pooled = [x for g in groups for x in g]
    if not pooled:
        return None
    qs = itl_quantiles(pooled)
    note = (f"every timed pass of {len(groups)} repetition(s) ({len(pooled)} passes): p50 value, p90, p99; "
            f"interval: bootstrap over repetitions; samples: per-repetition medians")
    return Metric(value=qs[50], unit="ms", provenance=prov.noted(note), n=len(pooled), median=qs[50], p90=qs[90],
                  p99=qs[99], cv=cv(pooled), ci95=cluster_ci(groups),
                  samples=tuple(statistics.median(g) for g in groups), extra={"n_reps": len(groups)})


def timing(tr, facts: InferenceFacts, clock: Provenance) -> dict[str, Metric]:
    reps = _reps(tr)
    out: dict[str, Metric] = {}
    if facts.load_ns:
        out["load_ms"] = metric([facts.load_ns / 1e6], "ms", clock.noted("runtime session / model creation"))
    if facts.first_inference_ns:
        out["first_inference_ms"] = metric([facts.first_inference_ns / 1e6], "ms",
                                           clock.noted("the first forward pass after load (cold), once per case"))
    lat = latency_metric(reps, clock)
    if lat is None:
        return out
    out["latency_ms"] = lat
    rates = [r.n_inferences / ((r.inference[1] - r.inference[0]) / 1e9) for r in reps
             if r.inference[1] > r.inference[0]]
    if not rates:
        return out
    b = facts.batch
    out["inferences_per_s"] = metric(rates, "inferences/s", clock.noted("passes / span of each repetition"))
    out["samples_per_s"] = metric([x * b for x in rates], "samples/s", clock.noted(f"inferences/s x batch {b}"))
    if facts.tokens_per_sample:
        n = facts.tokens_per_sample
        out["tokens_per_s"] = metric([x * b * n for x in rates], "tokens/s",
                                     clock.noted(f"inferences/s x batch {b} x sequence length {n}"))
    if facts.audio_s_per_sample:
        s = facts.audio_s_per_sample
        out["rtfx"] = metric([x * b * s for x in rates], "x real time",
                             clock.noted(f"samples/s x {s:g} s of audio per sample (1/RTF)"))
    return out


def energy(tr, facts: InferenceFacts, gross: Metric | None) -> dict[str, Metric]:
    """Energy per inference and per sample, with the provenance of the gross figure they divide."""
    if tr.power is None or gross is None:
        return {}
    ser = en.series(tr.samples, tr.power.sensor, tr.power.quantity)
    lost = en.gaps(tr.samples, tr.power.sensor, tr.power.quantity)
    per_inf, per_sample = [], []
    for r in _reps(tr):
        t0, t1 = r.window
        if en.overlaps(lost, t0, t1):
            continue
        e = en.window_energy_j(ser, tr.power.quantity, t0, t1)
        if e is None:
            continue
        per_inf.append(e / r.n_inferences)
        per_sample.append(e / (r.n_inferences * facts.batch))
    if not per_inf or not any(per_inf):
        return {}
    prov = gross.provenance
    out = {"energy_per_inference_j": metric(per_inf, "J/inference", prov.noted("gross energy of a repetition / "
                                                                              "its forward passes")),
           "energy_per_sample_j": metric(per_sample, "J/sample", prov.noted(f"energy per inference / batch "
                                                                            f"{facts.batch}"))}
    return annotate(tr, out, lambda a, b: en.window_energy_j(ser, tr.power.quantity, a, b))
