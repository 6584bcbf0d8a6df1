"""Metric functions against traces with known answers (no hardware, no clock)."""
from __future__ import annotations

import math

import pytest

from edgeprof.devices.base import Reading
from edgeprof.analysis import energy as en
from edgeprof.analysis.metrics import PowerSource, Trace, compute
from edgeprof.engine.sampler import Sample
from edgeprof.analysis.stats import bootstrap_ci, percentile, summarize
from edgeprof.results.schema import Provenance, Repetition

S = 1_000_000_000


def _samples(fn, sensor="p", quantity="power_w", t_end_s=10.0, hz=20.0, extra=None):
    out = []
    n = int(t_end_s * hz) + 1
    for i in range(n):
        t = int(i * S / hz)
        rs = [Reading(sensor, quantity, fn(t / S), t, "test", "cpu_package")]
        if extra:
            rs += extra(t / S, t)
        out.append(Sample(t, tuple(rs)))
    return out


def test_trapezoid_integral_of_a_ramp_is_exact():
    ser = en.series(_samples(lambda t: 2.0 * t), "p", "power_w")  # P = 2t W
    # ∫_1^3 2t dt = 9 - 1 = 8 J, edges interpolated between samples
    assert en.integrate_power_j(ser, int(1.013 * S), int(3.0 * S)) == pytest.approx(9 - 1.013**2, rel=1e-9)
    assert en.integrate_power_j(ser, 1 * S, 3 * S) == pytest.approx(8.0, rel=1e-12)


def test_counter_difference_is_interpolated_and_never_extrapolated():
    ser = en.series(_samples(lambda t: 100 + 5.0 * t, quantity="energy_j"), "p", "energy_j")  # 5 W
    assert en.counter_delta_j(ser, int(2.5 * S), int(4.5 * S)) == pytest.approx(10.0)
    assert en.counter_delta_j(ser, 9 * S, 11 * S) is None  # beyond the samples: unknown, not zero
    assert en.mean_power_w(ser, "energy_j", 1 * S, 3 * S) == pytest.approx(5.0)


def test_sampled_figures_name_the_readings_source_and_read_period():
    """No restated provenance: ``cpu_busy_ratio`` says /proc/stat where the reading does (psutil
    cpu_times on macOS), memory figures name their sensors' sources, and each ``period_s`` is how
    often that sensor was read (/proc/meminfo every 0.25 s while the worker is read at 20 Hz)."""
    def extra(t, tn):
        out = [Reading("worker:rss", "rss_bytes", 1e8, tn, "procfs /proc/<pid>/stat (psutil fallback)", "process")]
        if tn % (S // 4) == 0:
            out.append(Reading("mem:used", "memory_used_bytes", 2e9, tn, "/proc/meminfo", "system"))
        if tn % (S // 5) == 0:
            out.append(Reading("cpu:utilization", "utilization", 0.5, tn, src, "system"))
        return out

    reps = [_rep(i, (1 + 2 * i) * S, 0.5, 1.0) for i in range(3)]
    for src in ("/proc/stat", "psutil cpu_times"):
        tr = Trace(reps=reps, samples=_samples(lambda t: 10.0, extra=extra), sample_hz=20, memory_total_bytes=8e9,
                   worker_peak_rss_bytes=2e8)
        m = compute(tr)
        busy = m["cpu_busy_ratio"].provenance
        assert (busy.source, busy.scope, busy.period_s) == (src, "system", pytest.approx(0.2))
    sysmem = m["system_memory_utilization"].provenance
    assert (sysmem.source, sysmem.period_s) == ("/proc/meminfo", pytest.approx(0.25))
    rss = m["avg_rss_bytes"].provenance
    assert rss.source.startswith("procfs /proc/<pid>/stat") and rss.period_s == pytest.approx(0.05)
    assert m["peak_rss_bytes"].provenance.source.startswith("VmHWM (/proc/<worker>/status) + procfs")


def _rep(i, t0, p_s, d_s, n_prefill=100, n_decode=9):
    return Repetition(rep=i, prefill=(t0, t0 + int(p_s * S)), n_prefill=n_prefill,
                      decode=(t0 + int(p_s * S), t0 + int((p_s + d_s) * S)), n_decode=n_decode,
                      token_ns=(int(d_s * S / n_decode),) * n_decode, n_generated=n_decode + 1)


def test_case_metrics_from_a_synthetic_trace():
    # constant 10 W, idle 4 W; reps: 0.5 s prefill (100 tok) + 1.0 s decode (9 tok)
    reps = [_rep(i, (1 + 2 * i) * S, 0.5, 1.0) for i in range(3)]
    mem = lambda t, tn: [Reading("worker:rss", "rss_bytes", 1e8 + (5e7 if 3 < t < 3.2 else 0), tn, "psutil", "process"),
                         Reading("mem:used", "memory_used_bytes", 2e9, tn, "/proc/meminfo", "system"),
                         Reading("cpu:utilization", "utilization", 0.75, tn, "psutil", "system")]
    tr = Trace(reps=reps, samples=_samples(lambda t: 10.0, extra=mem), sample_hz=20,
               power=PowerSource("p", "power_w", Provenance("estimated", "tdp_model", "cpu_package")),
               idle_power_w=4.0, idle_provenance=Provenance("estimated", "tdp_model"),
               memory_total_bytes=8e9, params=1_000_000, artifact_size_bytes=500_000)
    m = compute(tr)
    assert m["ttft_ms"].value == pytest.approx(500.0)
    assert m["prefill_tokens_per_s"].value == pytest.approx(200.0)
    assert m["decode_tokens_per_s"].value == pytest.approx(9.0)
    assert m["tpot_ms"].value == pytest.approx(1000 / 9, rel=1e-6)
    assert m["e2e_ms"].value == pytest.approx(1500.0)
    assert m["energy_gross_j"].value == pytest.approx(15.0)
    assert m["energy_net_j"].value == pytest.approx(15.0 - 4.0 * 1.5)
    assert m["avg_power_w"].value == pytest.approx(10.0)
    assert m["energy_per_token_j"].value == pytest.approx(1.5)        # 15 J / 10 generated tokens
    assert m["prefill_energy_per_token_j"].value == pytest.approx(0.05)
    assert m["decode_energy_per_token_j"].value == pytest.approx(10 / 9)
    assert m["energy_per_token_j"].provenance.kind == "estimated"
    assert m["energy_per_token_j"].provenance.period_s == pytest.approx(0.05)
    assert m["peak_rss_bytes"].value == pytest.approx(1.5e8)            # the spike in rep 2
    assert m["avg_rss_bytes"].samples[0] == pytest.approx(1e8)
    assert m["memory_utilization"].value == pytest.approx(1e8 / 8e9)  # the model's footprint: worker RSS
    assert m["memory_utilization"].provenance.scope == "process"
    assert m["system_memory_utilization"].value == pytest.approx(0.25)  # every process's used memory
    assert m["cpu_busy_ratio"].value == pytest.approx(0.75)
    assert m["compression_rate"].value == pytest.approx(4.0)
    assert m["compression_rate"].provenance.kind == "derived"
    assert m["decode_tokens_per_s"].n == 3


def test_prefill_only_and_decode_only_cases():
    pp = [Repetition(rep=0, prefill=(0, S // 10), n_prefill=64, n_generated=0)]
    m = compute(Trace(reps=pp))
    assert "ttft_ms" not in m and "decode_tokens_per_s" not in m
    assert m["prefill_tokens_per_s"].value == pytest.approx(640.0)
    tg = [Repetition(rep=0, decode=(0, S), n_decode=64, token_ns=(S // 64,) * 64, n_generated=64)]
    m = compute(Trace(reps=tg))
    assert "ttft_ms" not in m and m["decode_tokens_per_s"].value == pytest.approx(64.0)


def test_no_power_sensor_means_no_energy_not_zero():
    m = compute(Trace(reps=[_rep(0, S, 0.5, 1.0)], samples=[]))
    assert not any(k.startswith("energy") or k == "avg_power_w" for k in m)


def test_statistics():
    xs = [1.0, 2.0, 3.0, 4.0, 100.0]
    s = summarize(xs)
    assert s["median"] == 3.0 and s["value"] == 3.0 and s["n"] == 5
    assert s["p90"] == pytest.approx(percentile(xs, 90)) == pytest.approx(61.6)
    lo, hi = s["ci95"]
    assert lo <= 3.0 <= hi and bootstrap_ci(xs) == bootstrap_ci(xs)  # seeded: reproducible
    assert summarize([5.0])["ci95"] is None and summarize([5.0])["cv"] is None
    assert math.isclose(summarize([2.0, 2.0])["cv"], 0.0)


def test_a_counter_that_never_moves_is_stale_not_zero_watts():
    samples = _samples(lambda t: 1234.0, quantity="energy_j")
    tr = Trace(reps=[_rep(0, S, 0.5, 1.0)], samples=samples,
               power=PowerSource("p", "energy_j", Provenance("measured", "nvml_energy_counter")))
    m = compute(tr)
    assert "energy_gross_j" not in m and "avg_power_w" not in m
    assert tr.warnings and "stale counter" in tr.warnings[0]
