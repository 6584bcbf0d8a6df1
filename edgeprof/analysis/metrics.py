"""Pure functions from a case's trace to its figures (CONTRACTS.md "Metric names").

Each metric is ``{value, unit, n, median, p90, cv, ci95, samples, provenance}`` where samples are
repetition-level values. Nothing here touches hardware or the clock: give it the same trace and
it gives the same numbers, which is what the tests with known answers rely on.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from edgeprof.analysis import energy as en
from edgeprof.analysis.stats import summarize

CLOCK = {"kind": "measured", "source": "monotonic clock in the worker", "scope": "process",
         "period_s": None, "note": ""}


@dataclass
class PowerSource:
    """The device's headline power/energy sensor (the total-power rule's choice)."""

    sensor: str
    quantity: str                  # energy_j (counter) | power_w
    provenance: dict[str, Any]     # kind/source/scope/note from the sensor


@dataclass
class Trace:
    reps: list[dict]
    samples: list = field(default_factory=list)
    power: PowerSource | None = None
    idle_power_w: float | None = None
    idle_provenance: dict[str, Any] | None = None
    memory_total_bytes: int | None = None
    params: int | None = None
    artifact_size_bytes: int | None = None
    baseline_size_bytes: dict[str, Any] | None = None   # {"bytes": ..., "provenance": ...}
    quality_retention: dict[str, Any] | None = None     # {"value": ..., "provenance": ...}
    sample_hz: float = 0.0
    worker_maxrss_bytes: int | None = None                # getrusage high-water mark of the worker
    warnings: list[str] = field(default_factory=list)     # filled by the metric functions


def metric(samples: list[float], unit: str, provenance: dict[str, Any], value: float | None = None) -> dict:
    m = summarize(samples)
    if value is not None:
        m["value"] = value
    m["unit"] = unit
    m["provenance"] = dict(provenance)
    return m


def _window(rep: dict) -> tuple[int, int]:
    t0 = (rep.get("prefill") or rep.get("decode"))[0]
    t1 = (rep.get("decode") or rep.get("prefill"))[1]
    return t0, t1


def timing_metrics(reps: list[dict], perf_note: str = "") -> dict[str, dict]:
    out: dict[str, dict] = {}
    prov = dict(CLOCK, note=perf_note)
    pre = [r for r in reps if r.get("prefill")]
    dec = [r for r in reps if r.get("decode") and r.get("n_decode")]
    if pre and reps[0].get("n_generated", 0) > 0:
        out["ttft_ms"] = metric([(r["prefill"][1] - r["prefill"][0]) / 1e6 for r in pre], "ms", prov)
    if pre:
        out["prefill_tokens_per_s"] = metric(
            [r["n_prefill"] / ((r["prefill"][1] - r["prefill"][0]) / 1e9) for r in pre], "tokens/s", prov)
    if dec:
        out["tpot_ms"] = metric([statistics.median(r["token_ns"]) / 1e6 for r in dec], "ms",
                                dict(prov, note=(prov["note"] + "; " if prov["note"] else "")
                                     + "samples are per-repetition medians of per-token latency"))
        out["decode_tokens_per_s"] = metric(
            [r["n_decode"] / ((r["decode"][1] - r["decode"][0]) / 1e9) for r in dec], "tokens/s", prov)
    if reps:
        out["e2e_ms"] = metric([(_window(r)[1] - _window(r)[0]) / 1e6 for r in reps], "ms", prov)
    return out


def energy_metrics(tr: Trace) -> dict[str, dict]:
    """Gross/net energy, power and J/token per phase from the headline power sensor."""
    out: dict[str, dict] = {}
    if tr.idle_power_w is not None:
        out["idle_power_w"] = metric([tr.idle_power_w], "W", tr.idle_provenance or {})
    if tr.power is None:
        return out
    ser = en.series(tr.samples, tr.power.sensor, tr.power.quantity)
    period = 1.0 / tr.sample_hz if tr.sample_hz else None
    prov = dict(tr.power.provenance, period_s=period)
    gross, net, power, per_tok, pre_tok, dec_tok = [], [], [], [], [], []
    for r in tr.reps:
        t0, t1 = _window(r)
        e = en.window_energy_j(ser, tr.power.quantity, t0, t1)
        if e is None:
            continue
        dt = (t1 - t0) / 1e9
        gross.append(e)
        power.append(e / dt if dt > 0 else float("nan"))
        if tr.idle_power_w is not None:
            net.append(e - tr.idle_power_w * dt)
        if r.get("n_generated"):
            per_tok.append(e / r["n_generated"])
        if r.get("prefill") and r.get("n_prefill"):
            ep = en.window_energy_j(ser, tr.power.quantity, *r["prefill"])
            if ep is not None:
                pre_tok.append(ep / r["n_prefill"])
        if r.get("decode") and r.get("n_decode"):
            ed = en.window_energy_j(ser, tr.power.quantity, *r["decode"])
            if ed is not None:
                dec_tok.append(ed / r["n_decode"])
    if tr.power.quantity == "energy_j" and gross and not any(gross):
        # a counter that never moved over a whole case is stale, not a device drawing 0 W
        tr.warnings.append(f"energy counter {tr.power.sensor} did not move during the case: stale counter, "
                           f"no energy reported (run 'edgeprof devices --check')")
        return out
    for name, xs, unit in (("energy_gross_j", gross, "J"), ("avg_power_w", power, "W"),
                           ("energy_per_token_j", per_tok, "J/token"),
                           ("prefill_energy_per_token_j", pre_tok, "J/token"),
                           ("decode_energy_per_token_j", dec_tok, "J/token")):
        if xs:
            out[name] = metric(xs, unit, prov)
    if net:
        idle_note = (tr.idle_provenance or {}).get("source", "idle baseline")
        out["energy_net_j"] = metric(net, "J", dict(prov, note=(prov.get("note") or "")
                                                    + f"; net = gross - idle power ({idle_note}) x duration"))
    return out


def memory_metrics(tr: Trace) -> dict[str, dict]:
    out: dict[str, dict] = {}
    rss = en.series(tr.samples, "worker:rss", "rss_bytes")
    used = en.series(tr.samples, "mem:used", "memory_used_bytes")
    busy = en.series(tr.samples, "cpu:utilization", "utilization")
    prov = {"kind": "measured", "source": "psutil", "scope": "process",
            "period_s": 1.0 / tr.sample_hz if tr.sample_hz else None, "note": "worker process tree"}
    peaks, avgs, utils, busys = [], [], [], []
    for r in tr.reps:
        t0, t1 = _window(r)
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
    if tr.worker_maxrss_bytes:
        hw = float(tr.worker_maxrss_bytes)
        out["peak_rss_bytes"] = metric(peaks or [hw], "B", dict(
            prov, source="getrusage ru_maxrss (worker) + psutil samples",
            note="value: max of the kernel's RSS high-water mark (load included) and sampled tree RSS; "
                 "samples: sampled per-repetition peaks"), value=max(peaks + all_rss + [hw]))
    elif peaks:
        out["peak_rss_bytes"] = metric(peaks, "B", prov, value=max(peaks + all_rss))
    if avgs:
        out["avg_rss_bytes"] = metric(avgs, "B", prov)
    if utils:
        out["memory_utilization"] = metric(utils, "ratio", dict(prov, source="/proc/meminfo", scope="system",
                                           note="average used system memory / total (EfficientLLM AMU analogue)"))
    if busys:
        out["cpu_busy_ratio"] = metric(busys, "ratio", dict(prov, source="psutil cpu_times", scope="system",
                                       note="busy fraction of all cores during the timed repetitions"))
    return out


def size_metrics(tr: Trace) -> dict[str, dict]:
    out: dict[str, dict] = {}
    if tr.artifact_size_bytes:
        if tr.baseline_size_bytes:
            base, prov = tr.baseline_size_bytes["bytes"], tr.baseline_size_bytes["provenance"]
        elif tr.params:
            base = tr.params * 2
            prov = {"kind": "derived", "source": "params x 2 bytes", "scope": "artifact", "period_s": None,
                    "note": "16-bit size unknown; estimated as parameter count x 2 bytes"}
        else:
            return out
        cr = base / tr.artifact_size_bytes
        out["compression_rate"] = metric([cr], "ratio", prov)
        if tr.quality_retention:
            q = tr.quality_retention
            out["mcr"] = metric([cr * q["value"]], "ratio", {**q["provenance"], "kind": "derived",
                                "note": f"compression_rate x quality retention ({q['provenance'].get('note', '')})"})
    return out


def compute(tr: Trace, perf_note: str = "") -> dict[str, dict]:
    out = timing_metrics(tr.reps, perf_note)
    out.update(energy_metrics(tr))
    out.update(memory_metrics(tr))
    out.update(size_metrics(tr))
    return out


def perf_crosscheck(reps: list[dict]) -> str:
    """How far the engine's own counters are from the worker's clock (median %, per phase)."""
    pre, dec = [], []
    for r in reps:
        p = r.get("perf") or {}
        if r.get("prefill") and p.get("t_p_eval_ms"):
            wall = (r["prefill"][1] - r["prefill"][0]) / 1e6
            pre.append(100 * (wall - p["t_p_eval_ms"]) / p["t_p_eval_ms"])
        if r.get("decode") and p.get("t_eval_ms"):
            wall = (r["decode"][1] - r["decode"][0]) / 1e6
            dec.append(100 * (wall - p["t_eval_ms"]) / p["t_eval_ms"])
    parts = []
    if pre:
        parts.append(f"prefill {statistics.median(pre):+.1f}%")
    if dec:
        parts.append(f"decode {statistics.median(dec):+.1f}%")
    return ("wall clock vs engine perf counters: " + ", ".join(parts)) if parts else ""
