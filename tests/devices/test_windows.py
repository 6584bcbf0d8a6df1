"""Sensors that need a window say ``warming up`` until they have one (no silent zeros), and the
raw readings a process-attributed CPU energy needs exist with their provenance.

The system CPU time comes from a synthetic ``/proc/stat`` (tests/fixtures/boards.py ``proc_stat``,
the proc(5) layout) given to the sensors as their ``proc_root``; the worker's CPU time from a real
child process (process metrics are never re-rooted, CONTRACTS.md).
"""
from __future__ import annotations

import time

import pytest
from fx_boards import cpuinfo, meminfo, proc_stat

from edgeprof.devices.cpu import CpuUtilization, HostCpu, TdpSpec
from edgeprof.devices.load import USER_HZ, LoadMeter, ProcStat, process_share
from edgeprof.devices.process import ProcessTree

TDP = TdpSpec(tdp_w=100.0, socket_cores=None, idle_fraction=0.2, basis="test")


def now() -> int:
    return time.monotonic_ns()


def host(tmp_path):
    cpuinfo(tmp_path, "Test CPU", 2)
    meminfo(tmp_path, 8_000_000, 6_000_000)
    proc_stat(tmp_path, user=1000, system=500, idle=8000)
    dev = HostCpu.open(tmp_path, tdp=TDP, proc_root=tmp_path)
    return {s.name: s for s in dev.sensors()}


def test_first_reading_is_warming_up_then_the_window_value(tmp_path):
    s = host(tmp_path)
    util, est = s["cpu:utilization"], s["cpu:power_estimate"]
    for sensor in (util, est):                     # opened a moment ago: no window yet
        (r,) = sensor.read(now())
        assert r.value is None and r.reason.startswith("warming up"), r
    time.sleep(0.12)
    r, busy = util.read(now())                     # a window, but /proc/stat did not move
    assert r.value is None and r.reason.startswith("warming up")
    assert (busy.sensor, busy.value) == ("cpu:busy_time", 0.0)  # the counter was read: nothing busy since open
    proc_stat(tmp_path, user=1000 + 200, system=500 + 100, idle=8000 + 100)   # 300 busy of 400 ticks
    time.sleep(0.12)
    t = now()
    by_name = {r.sensor: r for r in util.read(t)}
    assert by_name["cpu:utilization"].value == pytest.approx(0.75)
    assert by_name["cpu:busy_time"].value == pytest.approx(300 / USER_HZ)
    (p,) = est.read(t)                             # same sample: the same window, no second refresh
    assert p.kind == "estimated" and p.value == pytest.approx(100.0 * (0.2 + 0.8 * 0.75))


def test_a_cached_read_repeats_the_level_but_never_the_counter(tmp_path):
    s = host(tmp_path)
    util = s["cpu:utilization"]
    time.sleep(0.12)
    proc_stat(tmp_path, user=1100, system=500, idle=8100)
    t = now()
    assert {r.sensor for r in util.read(t)} == {"cpu:utilization", "cpu:busy_time"}
    again = util.read(t + 10_000_000)              # 10 ms later: inside min_period_s (0.2 s)
    assert [r.sensor for r in again] == ["cpu:utilization"] and again[0].value == pytest.approx(0.5)


def test_the_estimate_reading_first_does_not_swallow_the_busy_time(tmp_path):
    """The sampler reads the TDP estimate before the utilization (the total-power sensor comes
    first): the estimate's refresh of /proc/stat must still give ``cpu:busy_time`` in that sample."""
    s = host(tmp_path)
    util, est = s["cpu:utilization"], s["cpu:power_estimate"]
    for k in range(1, 4):
        time.sleep(0.21)
        proc_stat(tmp_path, user=1000 + 100 * k, system=500, idle=8000 + 100 * k)
        t = now()
        (p,) = est.read(t)
        got = {r.sensor: r.value for r in util.read(t)}
        assert p.value == pytest.approx(100.0 * (0.2 + 0.8 * 0.5))
        assert got == {"cpu:utilization": pytest.approx(0.5), "cpu:busy_time": pytest.approx(100 * k / USER_HZ)}
    assert [r.sensor for r in util.read(t + 1_000)] == ["cpu:utilization"]  # cached: no counter


def test_expire_gives_the_counter_now_and_keeps_the_window(tmp_path):
    """The end-of-case flush expires the cache: /proc/stat is read again at once for the counter,
    while a window shorter than ``min_window_s`` leaves the utilization as it was."""
    s = host(tmp_path)
    util, est = s["cpu:utilization"], s["cpu:power_estimate"]
    time.sleep(0.12)
    proc_stat(tmp_path, user=1100, system=500, idle=8100)
    t = now()
    assert {r.sensor: r.value for r in util.read(t)}["cpu:busy_time"] == pytest.approx(100 / USER_HZ)
    proc_stat(tmp_path, user=1130, system=500, idle=8100)       # 30 more busy ticks, 5 ms later
    est.expire()                                                 # the estimate passes it on to its utilization
    got = {r.sensor: r.value for r in util.read(t + 5_000_000)}
    assert got == {"cpu:utilization": pytest.approx(0.5), "cpu:busy_time": pytest.approx(130 / USER_HZ)}


def test_busy_fraction_and_busy_time_follow_the_real_proc_stat(cpu_burner):
    """On the real /proc/stat a child burning CPU shows up in the busy time."""
    util = CpuUtilization(min_period_s=0.0, min_window_s=0.0)
    util.read(now())
    cpu_burner.burn(0.5)
    readings = {r.sensor: r for r in util.read(now())}
    assert 0 < readings["cpu:utilization"].value <= 1
    busy = readings["cpu:busy_time"]
    assert busy.quantity == "cpu_time_s" and busy.scope == "system" and busy.kind == "measured"
    assert busy.source == "/proc/stat" and busy.value >= 0.45   # the child alone burnt 0.5 s (10 ms ticks)


def test_process_attribution_inputs_have_provenance_and_a_sane_share(tmp_path, cpu_burner):
    """worker CPU time (scope process) ÷ system busy time (scope system) = the worker's share of
    the estimated package power (Scaphandre/PowerJoular); on a synthetic /proc/stat the share is
    exact, and it is bounded to [0, 1] whatever the counters say. The worker burns 0.3 CPU-s by
    its own clock between the two reads (idle at both), so what is read is that, on any load."""
    tree = ProcessTree(cpu_burner.pid)
    try:
        first = {r.sensor: r for r in tree.read(now())}
        cpu_burner.burn(0.3)
        second = {r.sensor: r for r in tree.read(now())}
    finally:
        tree.close()
    cpu0, cpu1 = first["worker:cpu_time"], second["worker:cpu_time"]
    assert cpu1.quantity == "cpu_time_s" and cpu1.scope == "process" and cpu1.kind == "measured"
    worker_s = cpu1.value - cpu0.value
    assert 0.3 - 0.02 <= worker_s <= 0.3 + 0.05, worker_s     # the kernel's clock ticks (10 ms) either side
    proc_stat(tmp_path, user=0, system=0, idle=0)
    meter = LoadMeter(ProcStat(tmp_path), own=lambda: 0.0, cores=2)
    a = meter.snapshot()
    proc_stat(tmp_path, user=int(worker_s * USER_HZ) * 2, system=0, idle=50)   # others used as much again
    b = meter.snapshot()
    busy_s = b.cpu.busy_s - a.cpu.busy_s
    assert process_share(worker_s, busy_s) == pytest.approx(0.5, abs=0.02)
    assert process_share(2 * busy_s, busy_s) == 1.0 and process_share(1.0, 0.0) is None


def test_load_window_separates_other_processes_from_our_own(tmp_path):
    proc_stat(tmp_path, user=1000, system=0, idle=1000, steal=0)
    own = iter([10.0, 10.5])
    clock = iter([0, 1_000_000_000])
    meter = LoadMeter(ProcStat(tmp_path), own=lambda: next(own), clock=lambda: next(clock),
                      loadavg=lambda: (1.5, 1.0, 0.5), cores=2)
    a = meter.snapshot()
    proc_stat(tmp_path, user=1000 + 150, system=0, idle=1000 + 40, steal=10)  # 1.5 CPU-s busy in 1 s
    w = meter.between(a, meter.snapshot())
    assert w["window_s"] == 1.0 and w["logical_cores"] == 2 and w["loadavg_1m"] == 1.5
    assert w["busy_fraction"] == pytest.approx(150 / 200)
    assert w["own_cpu_cores"] == pytest.approx(0.5) and w["other_cpu_cores"] == pytest.approx(1.0)
    assert w["steal_fraction"] == pytest.approx(10 / 200)


def test_devices_command_prints_values_not_warming_up(tmp_path):
    """``edgeprof devices`` takes a short window before printing: the utilization and the estimate
    have values (the real /proc/stat moves in 0.3 s), where a single read had none."""
    from edgeprof.commands.devices import describe, markdown

    cpuinfo(tmp_path, "Test CPU", 2)
    meminfo(tmp_path, 8_000_000, 6_000_000)
    dev = HostCpu.open(tmp_path, tdp=TDP)
    (entry,) = describe([dev])
    got = {r["sensor"]: r for s in entry.to_dict()["sensors"] for r in s.get("readings", [])}
    for name in ("cpu:utilization", "cpu:power_estimate"):
        assert got[name]["value"] is not None, got[name]
    text = markdown([entry])
    assert "warming up" not in text
    row = {ln.split(" | ")[0].lstrip("| "): ln.split(" | ")[3] for ln in text.splitlines() if ln.startswith("| ")}
    assert row["cpu:utilization"].endswith(" %") and row["mem:used"].endswith("GiB"), row  # units people read
    assert row["cpu:power_estimate"].endswith(" W") and "e+" not in text.split("ASSUMPTION")[0]
    dev.close()


def test_without_procfs_psutil_gives_the_same_window():
    """macOS has no /proc/stat: the utilization comes from psutil, labelled so, same rules."""
    from edgeprof.devices.load import PsutilStat

    util = CpuUtilization(stat=PsutilStat(), min_window_s=0.05)
    assert util.info.source == "psutil cpu_times" and "psutil" in util.info.precision.source
    assert util.read(now())[0].reason.startswith("warming up")
    time.sleep(0.3)
    r = {x.sensor: x for x in util.read(now())}
    assert 0 <= r["cpu:utilization"].value <= 1 and r["cpu:busy_time"].value >= 0
