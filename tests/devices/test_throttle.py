"""Throttle detection from fixture trees (tests/fixtures/boards.py; layouts and sources in
tests/fixtures/README.md): Intel thermal_throttle counters and frequency below base under load on
the RAPL 2-socket Xeon tree; trip points and nvpmodel clock ceilings on the Orin Nano tree."""
from __future__ import annotations

import time

import pytest
from fx_boards import ORIN_GPU, build, cpu_base, cpuinfo, cpus, proc_stat, set_throttle_count, write

from edgeprof.devices.cpu import HostCpu
from edgeprof.devices.jetson import JetsonBoard
from edgeprof.devices.sysfs import FileReader
from edgeprof.devices.throttle import cpu_throttle, parse_nvpmodel_conf


class Busy:
    """The CPU busy fraction the frequency rule consults (CpuUtilization.busy_at in production)."""

    def __init__(self, value):
        self.value = value

    def busy_at(self, t_ns):
        return self.value


def read(sensor, t=1):
    (r,) = sensor.read(t)
    return r


def test_a_counter_that_rises_is_throttling_with_the_cpu_named(tmp_path):
    root = build(tmp_path, "rapl-2socket")
    s = cpu_throttle(FileReader(root), Busy(0.2))
    first = read(s, 1)
    assert first.value is None and first.reason.startswith("warming up")   # no previous count, not busy
    quiet = read(s, 2)
    assert quiet.value == 0.0 and quiet.quantity == "throttled" and "no throttle counter rose" in quiet.note
    set_throttle_count(root, 1, "core", 3)
    hot = read(s, 3)
    assert hot.value == 1.0 and "cpu1 core_throttle_count +3" in hot.note
    assert read(s, 4).value == 0.0                                           # rose once, not forever


def test_frequency_below_base_under_load_is_throttling(tmp_path):
    root = build(tmp_path, "rapl-2socket")                                    # base 2700 MHz
    cpus(root, 4, 1800000, 800000, 3800000)                                   # running at 1800 MHz
    loaded = cpu_throttle(FileReader(root), Busy(0.97))
    r = read(loaded)
    assert r.value == 1.0 and "1800 MHz < base 2700 MHz" in r.note and "97 % busy" in r.note
    idle = cpu_throttle(FileReader(root), Busy(0.3))                          # slow because idle: not a verdict
    assert read(idle).value is None
    cpus(root, 4, 3500000, 800000, 3800000)                                   # turbo under load
    assert read(cpu_throttle(FileReader(root), Busy(0.97))).value == 0.0


def test_amd_base_from_acpi_cppc_nominal_freq(tmp_path):
    cpuinfo(tmp_path, "AMD EPYC 9R14", 2)
    cpus(tmp_path, 2, 2000000, 1500000, 3700000)
    cpu_base(tmp_path, 2, cppc_nominal_mhz=2600)
    r = read(cpu_throttle(FileReader(tmp_path), Busy(1.0)))
    assert r.value == 1.0 and "2000 MHz < base 2600 MHz" in r.note


def test_a_vm_without_the_files_says_it_cannot_tell(tmp_path):
    cpuinfo(tmp_path, "AMD EPYC", 2)
    dev = HostCpu.open(tmp_path)
    s = next(s for s in dev.sensors() if s.name == "cpu:throttled")
    assert not s.available and "cannot be detected" in s.info.reason
    assert read(s).value is None


def orin(tmp_path, busy_ticks=None):
    root = build(tmp_path, "orin-nano-jp6")
    proc_stat(root, user=100, system=0, idle=900)
    board = JetsonBoard.open(root, proc_root=root)
    sensors = {s.name: s for s in board.sensors()}
    if busy_ticks is not None:                      # make the CPU busy over a real window
        time.sleep(0.12)
        proc_stat(root, user=100 + busy_ticks, system=0, idle=900 + (100 - busy_ticks))
        time.sleep(0.12)
        sensors["cpu:utilization"].read(time.monotonic_ns())
    return root, board, sensors["soc:throttled"]


def test_orin_at_rest_is_not_throttled(tmp_path):
    _, board, s = orin(tmp_path)
    assert "2 zone(s) with trip points; 2 clock cap(s) of mode MAXN_SUPER" in s.info.note
    r = read(s)
    assert r.value == 0.0 and "no zone at a trip point" in r.note
    board.close()


def test_orin_zone_at_its_passive_trip(tmp_path):
    root, board, s = orin(tmp_path)
    write(root, "/sys/class/thermal/thermal_zone4/temp", "99500")           # tj-thermal
    r = read(s)
    assert r.value == 1.0 and "tj-thermal 99.5 C >= passive trip_point_0 99.0 C" in r.note
    board.close()


def test_orin_gpu_ceiling_below_the_mode_is_a_cap(tmp_path):
    root, board, s = orin(tmp_path)
    write(root, f"{ORIN_GPU}/max_freq", "612000000")                         # devfreq cooling lowered it
    r = read(s)
    assert r.value == 1.0 and "GPU ceiling 612 MHz < nvpmodel MAXN_SUPER MAX_FREQ 1020 MHz (capped)" in r.note
    board.close()


def test_orin_gpu_slow_while_busy_but_not_while_idle(tmp_path):
    root, board, s = orin(tmp_path)
    write(root, f"{ORIN_GPU}/cur_freq", "714000000")
    write(root, "/sys/devices/platform/bus@0/17000000.gpu/load", "990")     # 99 % busy
    r = read(s)
    assert r.value == 1.0 and "GPU at 714 MHz < nvpmodel MAXN_SUPER MAX_FREQ 1020 MHz while 99 % busy" in r.note
    write(root, "/sys/devices/platform/bus@0/17000000.gpu/load", "120")     # the governor lowered it: idle
    assert read(s).value == 0.0
    board.close()


def test_orin_cpu_slow_while_busy(tmp_path):
    root, board, s = orin(tmp_path, busy_ticks=95)                           # 95 % busy window
    write(root, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_cur_freq", "1113600")
    r = read(s, time.monotonic_ns())
    assert r.value == 1.0 and "CPU_A78_0 at 1114 MHz < nvpmodel MAXN_SUPER MAX_FREQ 1728 MHz" in r.note
    board.close()


def test_nvpmodel_conf_parsing_and_no_cap_values():
    conf = "\n".join(["< PARAM TYPE=CLOCK NAME=GPU >", "MAX_FREQ /sys/x/max_freq",
                      "< PARAM TYPE=FILE NAME=EMC >", "MAX_FREQ /sys/kernel/nvpmodel_emc_cap/emc_iso_cap",
                      "< POWER_MODEL ID=0 NAME=MAXN >", "GPU MAX_FREQ -1", "EMC MAX_FREQ 0",
                      "< POWER_MODEL ID=1 NAME=15W >", "GPU MAX_FREQ 612000000", "# a comment"])
    params, modes = parse_nvpmodel_conf(conf)
    assert params == {"GPU": {"MAX_FREQ": "/sys/x/max_freq"}}                 # FILE params are not clocks
    assert modes[0] == ("MAXN", [("GPU", "MAX_FREQ", "-1"), ("EMC", "MAX_FREQ", "0")])
    assert modes[1][1] == [("GPU", "MAX_FREQ", "612000000")]


@pytest.mark.parametrize("value", ["-1", "2147483647"])
def test_a_mode_without_a_limit_is_never_capped(tmp_path, value):
    root = build(tmp_path, "orin-nano-jp6")
    conf = (root / "etc/nvpmodel.conf").read_text().replace("GPU MAX_FREQ 1020000000", f"GPU MAX_FREQ {value}")
    write(root, "/etc/nvpmodel.conf", conf)
    write(root, f"{ORIN_GPU}/max_freq", "306000000")
    proc_stat(root, user=1, system=0, idle=1)
    board = JetsonBoard.open(root, proc_root=root)
    s = next(s for s in board.sensors() if s.name == "soc:throttled")
    assert "1 clock cap(s)" in s.info.note and read(s).value == 0.0
    board.close()


def test_one_package_counter_per_package(tmp_path):
    """package_throttle_count repeats on every CPU of a package: read once per package."""
    root = build(tmp_path, "rapl-2socket")                                    # 4 CPUs
    for cpu, pkg in enumerate((0, 0, 1, 1)):
        write(root, f"/sys/devices/system/cpu/cpu{cpu}/topology/physical_package_id", str(pkg))
    s = cpu_throttle(FileReader(root), Busy(0.2))
    names = [p.rsplit("/", 3)[-3] + " " + p.rsplit("/", 1)[-1] for p, _ in s.counters]
    assert names.count("cpu0 package_throttle_count") == 1 and names.count("cpu2 package_throttle_count") == 1
    assert sum("package" in n for n in names) == 2 and sum("core" in n for n in names) == 4
    read(s, 1)
    set_throttle_count(root, 2, "package", 1)
    set_throttle_count(root, 3, "package", 1)                                   # same package, same event
    r = read(s, 2)
    assert r.value == 1.0 and r.note.count("package_throttle_count") == 1
