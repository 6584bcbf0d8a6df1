"""Process-attributed CPU energy and the model's memory footprint, from traces with known answers
and from the samples recorded by a real bench on this busy machine."""
from __future__ import annotations

import csv
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from edgeprof.devices.base import Reading
from edgeprof.analysis.attribution import cpu_share, footprint_metrics
from edgeprof.analysis.metrics import PowerSource, Trace, compute
from edgeprof.engine.sampler import Sample
from edgeprof.results.jsonl import read_records
from edgeprof.results.schema import Provenance, Repetition

S = 1_000_000_000
RUN = Path(__file__).resolve().parents[1] / "fixtures" / "runs" / "q4_k_m"


def _trace(extra, scope="cpu_package", kind="cpu", hz=20.0, t_end_s=10.0, **kw) -> Trace:
    samples = []
    for i in range(int(t_end_s * hz) + 1):
        t = int(i * S / hz)
        rs = [Reading("cpu:power_estimate", "power_w", 10.0, t, "tdp_model", scope, "estimated")]
        samples.append(Sample(t, tuple(rs + extra(t / S, t))))
    reps = [Repetition(rep=i, prefill=((1 + 2 * i) * S, (1 + 2 * i) * S + S // 2), n_prefill=100,
                       decode=((1 + 2 * i) * S + S // 2, (2 + 2 * i) * S + S // 2), n_decode=9,
                       token_ns=(S // 9,) * 9, n_generated=10) for i in range(3)]
    return Trace(reps=reps, samples=samples, sample_hz=hz, logical_cores=2, device_kind=kind,
                 power=PowerSource("cpu:power_estimate", "power_w", Provenance("estimated", "tdp_model", scope)),
                 idle_power_w=4.0, memory_total_bytes=8e9, **kw)


def _worker(cpu_cores: float, rss: float = 1e8):
    """A worker burning ``cpu_cores`` of CPU time per second, holding ``rss`` bytes."""
    return lambda t, tn: [Reading("worker:cpu_time", "cpu_time_s", cpu_cores * t, tn, "procfs", "process"),
                          Reading("worker:rss", "rss_bytes", rss, tn, "procfs", "process")]


def test_worker_share_of_busy_time_from_utilization():
    # 2 cores 75 % busy = 1.5 busy cores; the worker uses 1.0 of them: share 2/3
    tr = _trace(lambda t, tn: _worker(1.0)(t, tn) + [
        Reading("cpu:utilization", "utilization", 0.75, tn, "/proc/stat", "system")])
    m = compute(tr)
    sh = cpu_share(tr)
    assert sh["share"] == pytest.approx(2 / 3, rel=1e-9) and "cpu:utilization" in sh["basis"]
    assert m["energy_gross_j"].value == pytest.approx(15.0)            # 10 W x 1.5 s per repetition
    assert m["process_energy_j"].value == pytest.approx(10.0)         # 2/3 of it is the model's
    assert m["process_energy_per_token_j"].value == pytest.approx(1.0)  # 10 J / 10 tokens
    p = m["process_energy_j"].provenance
    assert (p.kind, p.scope) == ("estimated", "process") and "Scaphandre" in p.note and "tdp_model" in p.source


def test_busy_time_counter_is_preferred_when_the_sensor_gives_one():
    # devices' cpu:busy_time (busy CPU-seconds since open) says 1.6 cores are busy, utilization says 1.0
    tr = _trace(lambda t, tn: _worker(0.8)(t, tn) + [
        Reading("cpu:utilization", "utilization", 0.5, tn, "/proc/stat", "system"),
        Reading("cpu:busy_time", "cpu_time_s", 1.6 * t, tn, "/proc/stat", "system")])
    assert cpu_share(tr)["share"] == pytest.approx(0.5) and "busy_time" in cpu_share(tr)["basis"]


def test_the_workers_own_clock_covers_a_worker_gone_before_the_last_sample():
    """The worker exits right after its last repetition, often before the sampler reads it again:
    its CPU time at the repetitions' edges (``worker_cpu_s``, its own clock) still gives the share."""
    tr = _trace(lambda t, tn: (_worker(1.0)(t, tn) if t < 5.9 else []) + [      # gone 0.6 s before the end
        Reading("cpu:busy_time", "cpu_time_s", 1.6 * t, tn, "/proc/stat", "system")])
    assert cpu_share(tr) is None                                     # sampled worker time stops too early
    tr.reps = [replace(r, extra={"worker_cpu_s": [1.0 * r.window[0] / S, 1.0 * r.window[1] / S]}) for r in tr.reps]
    sh = cpu_share(tr)
    assert sh["share"] == pytest.approx(1.0 / 1.6) and sh["worker_cpu_s"] == pytest.approx(5.5)
    assert sh["basis"] == "the worker's CPU clock at the repetitions' edges / cpu:busy_time (busy CPU-seconds " \
                          "from /proc/stat)"


def test_attribution_through_the_real_sampler_on_this_machine(cpu_burner):
    """The real CPU device and sampler (TDP estimate read before the utilization, as on this
    machine): ``cpu:busy_time`` comes out at every /proc/stat refresh and after the flush, and
    the share of a child that burns 0.6 CPU-s inside the window is its sampled ``worker:cpu_time``
    over that busy time. The child is idle at both edges and both samples around each edge are
    of the idle child, so the sampled figure is what the kernel charged it, on any load (a child
    spinning by the wall clock got 0.14-0.19 CPU-s of its 1.2 s under load, and a share of 0.06)."""
    from edgeprof.engine.device_choice import open_devices, power_source
    from edgeprof.engine.sampler import Sampler

    def sampled_after(sampler, t_ns: int, *sensors: str) -> bool:
        return any(s.t_ns > t_ns and all(s.value(x) is not None for x in sensors)
                   for s in sampler.window(t_ns, time.monotonic_ns()))

    def until(cond, timeout_s: float = 60.0) -> None:
        end = time.monotonic() + timeout_s
        while not cond():
            assert time.monotonic() < end, "the sampler took no sample in a minute"
            time.sleep(0.02)

    dev = next(d for d in open_devices(Path("/")) if d.info().kind == "cpu")
    power = power_source(dev)
    me = psutil.Process(cpu_burner.pid)
    try:
        with Sampler(dev.sensors(), 20) as sampler:
            sampler.attach(cpu_burner.pid)
            until(lambda: sampled_after(sampler, 0, "worker:cpu_time", "cpu:busy_time"))
            c0, t0 = sum(me.cpu_times()[:2]), time.monotonic_ns()
            until(lambda: sampled_after(sampler, t0, "worker:cpu_time", "cpu:busy_time"))
            cpu_burner.burn(0.6)
            burnt_at = time.monotonic_ns()       # a sample of the idle child after the burn, then the edge
            until(lambda: sampled_after(sampler, burnt_at, "worker:cpu_time", "cpu:busy_time"))
            c1, t1 = sum(me.cpu_times()[:2]), time.monotonic_ns()
            until(lambda: sampled_after(sampler, t1, "worker:cpu_time", "cpu:busy_time"))
            sampler.flush()
            samples = sampler.window(t0 - 300_000_000, time.monotonic_ns())
            sampler.detach()
    finally:
        dev.close()
    busy = [s for s in samples if s.value("cpu:busy_time") is not None]
    util = [s for s in samples if s.value("cpu:utilization") is not None]
    assert len(busy) >= 4 and busy[-1].t_ns > t1          # every 0.2 s, and once more at the flush
    assert {s.t_ns for s in util} >= {s.t_ns for s in busy[:-1]}
    rep = Repetition(rep=0, decode=(t0, t1), n_decode=10, n_generated=10, token_ns=(1,) * 10)
    cores = psutil.cpu_count()
    tr = Trace(reps=[rep], samples=samples, logical_cores=cores, sample_hz=20.0, power=power, device_kind="cpu")
    sh = cpu_share(tr)
    assert sh["basis"] == "sampled worker:cpu_time / cpu:busy_time (busy CPU-seconds from /proc/stat)"
    # the sampled figure is what the kernel charged the child over the window, read here
    # independently: 0.6 CPU-s by its own clock, give or take the kernel's 10 ms ticks
    burnt = c1 - c0
    assert burnt == pytest.approx(0.6, abs=0.05) and sh["worker_cpu_s"] == pytest.approx(burnt, abs=0.03), (sh, burnt)
    # the busy time holds the child's and is bounded by every core over the window; the share is
    # the one over the other (how much of it others took depends on the machine's load)
    assert burnt * 0.95 <= sh["busy_cpu_s"] <= cores * sh["window_s"] * 1.05, (sh, cores)
    assert sh["share"] == pytest.approx(min(1.0, sh["worker_cpu_s"] / sh["busy_cpu_s"]), rel=1e-3) and sh["share"] > 0
    m = compute(tr)
    p = m["process_energy_j"].provenance
    assert p.scope == "process" and "cpu:busy_time" in p.note
    assert m["process_energy_j"].value == pytest.approx(sh["share"] * m["energy_gross_j"].value)


def test_no_attribution_of_gpu_or_soc_power_and_no_silent_zero():
    gpu = _trace(lambda t, tn: _worker(1.0)(t, tn) + [
        Reading("cpu:utilization", "utilization", 0.75, tn, "/proc/stat", "system")], scope="gpu_board")
    assert "process_energy_j" not in compute(gpu)  # CPU time says nothing about GPU work
    blind = _trace(lambda t, tn: [Reading("worker:rss", "rss_bytes", 1e8, tn, "procfs", "process")])
    m = compute(blind)
    assert "process_energy_j" not in m and any("process_energy_j not computed" in w for w in blind.warnings)


def test_footprint_is_the_models_memory_not_the_systems():
    tr = _trace(lambda t, tn: _worker(1.0, rss=2e8)(t, tn) + [
        Reading("mem:used", "memory_used_bytes", 6e9, tn, "/proc/meminfo", "system")])
    m = compute(tr)
    assert m["memory_utilization"].value == pytest.approx(2e8 / 8e9)
    assert m["system_memory_utilization"].value == pytest.approx(6e9 / 8e9)  # kept as its own metric


def test_footprint_adds_the_gpu_memory_the_process_holds():
    gpu_mem = lambda t, tn: [Reading("nvidia0:process_memory", "memory_used_bytes", 1e9, tn,  # noqa: E731
                                     "nvml_compute_processes", "process")]
    unified = _trace(lambda t, tn: _worker(1.0, rss=2e8)(t, tn) + gpu_mem(t, tn), kind="jetson")
    assert footprint_metrics(unified)["memory_utilization"].value == pytest.approx(1.2e9 / 8e9)
    discrete = _trace(lambda t, tn: _worker(1.0, rss=2e8)(t, tn) + gpu_mem(t, tn), kind="nvidia")
    m = footprint_metrics(discrete)["memory_utilization"]
    assert m.value == pytest.approx(1e9 / 8e9) and "GPU memory" in m.provenance.source


def _recorded_samples() -> list[Sample]:
    rows = list(csv.DictReader(next(p for p in (RUN / "samples").glob("*.csv") if "tokens" not in p.name).open()))
    out = []
    for r in rows:
        t = int(r["t_ns"])
        rs = []
        for col, v in r.items():
            if col != "t_ns" and v != "":
                sensor, quantity = col.rsplit(".", 1)
                rs.append(Reading(sensor, quantity, float(v), t, "recorded", "system"))
        out.append(Sample(t, tuple(rs)))
    return out


def test_recorded_busy_machine_attributes_a_fraction_of_the_package_estimate():
    """The q4_k_m run was measured while other tenants kept both cores busy: the TDP estimate
    saturates at 12 W whoever runs, and the worker's share of it is what the model cost."""
    rec = read_records(RUN / "records.jsonl")[0]
    samples = _recorded_samples()
    # the recorded timeline places the measured repetitions: rebuild one window per repetition
    toks = list(csv.DictReader(next((RUN / "samples").glob("*.tokens.csv")).open()))
    reps = []
    for k in sorted({int(t["rep"]) for t in toks}):
        ts = [int(t["t_ns"]) for t in toks if int(t["rep"]) == k]
        reps.append(Repetition(rep=k, decode=(ts[0] - 30_000_000, ts[-1]), n_decode=len(ts), n_generated=len(ts),
                               token_ns=(1,) * len(ts)))
    tr = Trace(reps=reps, samples=samples, logical_cores=2, sample_hz=20.0,
               power=PowerSource("cpu:power_estimate", "power_w", Provenance("estimated", "tdp_model", "cpu_package")))
    sh = cpu_share(tr)
    assert 0.05 < sh["share"] < 0.9  # other processes held part of the busy time
    m = compute(tr)
    assert m["process_energy_j"].value < m["energy_gross_j"].value
    # the record written by that run carries the same attribution, labelled
    p = rec.metric("process_energy_j").provenance
    assert (p.kind, p.scope) == ("estimated", "process")
    assert rec.metric("process_energy_j").value < rec.metric("energy_gross_j").value


def test_every_samples_column_keeps_the_provenance_its_readings_carried(tmp_path):
    """``cpu:busy_time`` is a further reading of ``cpu:utilization`` (env.json lists sensors, not
    their readings): ``<case_id>.columns.json`` keeps its kind/source/scope; a file written before
    it existed still labels the worker's columns and leaves the rest honestly unlabelled."""
    from edgeprof.engine.record import write_samples_csv
    from edgeprof.results.samples import columns_path, read_trace

    samples = [Sample(t, (Reading("cpu:utilization", "utilization", 0.5, t, "/proc/stat", "system"),
                          Reading("cpu:busy_time", "cpu_time_s", 0.1 * t, t, "/proc/stat", "system"),
                          Reading("worker:cpu_time", "cpu_time_s", 0.05 * t, t, "procfs /proc/<pid>/stat", "process")))
               for t in (1, 2, 3)]
    path = tmp_path / "c.csv"
    write_samples_csv(path, samples)
    env = {"sensors": [{"name": "cpu:utilization", "kind": "measured", "source": "/proc/stat", "scope": "system",
                        "note": "busy fraction of all cores"}]}
    tr = read_trace(path, env)
    got = {c.name: (c.kind, c.source, c.scope) for c in tr.columns}
    assert got == {"cpu:utilization.utilization": ("measured", "/proc/stat", "system"),
                   "cpu:busy_time.cpu_time_s": ("measured", "/proc/stat", "system"),
                   "worker:cpu_time.cpu_time_s": ("measured", "procfs /proc/<pid>/stat", "process")}
    assert tr.values["cpu:busy_time.cpu_time_s"] == (0.1, 0.2, pytest.approx(0.3))
    columns_path(path).unlink()                              # as an older edgeprof wrote the run
    old = {c.name: (c.kind, c.source) for c in read_trace(path, env).columns}
    assert old["cpu:busy_time.cpu_time_s"] == ("unlabelled", "")
    assert old["worker:cpu_time.cpu_time_s"] == ("measured", "worker process tree (psutil / /proc)")
