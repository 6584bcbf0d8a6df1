"""A sensor whose file disappears mid-run returns None with a reason saying it vanished — never a
fabricated or stale value — and keeps saying so (issue 12, item 4). Trees: tests/fixtures/boards.py
(RAPL 2-socket and Orin Nano layouts, sources in tests/fixtures/README.md)."""
from __future__ import annotations

from fx_boards import build, set_energy

from edgeprof.devices.cpu import HostCpu
from edgeprof.devices.jetson import JetsonBoard
from edgeprof.engine.sampler import Sampler

PKG0 = "sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/energy_uj"
VDD_IN_CURR = "sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040/hwmon/hwmon1/curr1_input"


def rapl_sensor(root):
    return next(s for s in HostCpu.open(root).sensors() if s.name == "rapl:package")


def test_rapl_energy_uj_removed_mid_run_is_vanished_and_stays_so(tmp_path):
    root = build(tmp_path, "rapl-2socket")
    rapl = rapl_sensor(root)
    assert rapl.read(1)[0].value == 0.0
    set_energy(root, "intel-rapl:1", 7_000_000 + 2_000_000)
    assert rapl.read(2)[0].value == 2.0 and not rapl.lost
    (root / PKG0).unlink()                                   # the zone goes away (module unload, hotplug)
    (r,) = rapl.read(3)
    assert r.value is None and r.reason.startswith("vanished") and "energy_uj" in r.reason
    assert rapl.lost and rapl.lost_at_ns == 3
    set_energy(root, "intel-rapl:0", 5)                      # it comes back with another count...
    set_energy(root, "intel-rapl:1", 99_000_000)
    (r,) = rapl.read(4)                                      # ...but a broken counter is not resumed
    assert r.value is None and r.reason == rapl.read(5)[0].reason and "t_ns 3" in r.reason


def test_a_file_missing_from_the_start_is_not_called_vanished(tmp_path):
    root = build(tmp_path, "rapl-2socket")
    rapl = rapl_sensor(root)
    (root / PKG0).unlink()                                   # gone before the first read
    (r,) = rapl.read(1)
    assert r.value is None and not r.reason.startswith("vanished") and not rapl.lost


def test_jetson_rail_vanishes_and_the_sampler_carries_the_reason(tmp_path):
    root = build(tmp_path, "orin-nano-jp6")
    board = JetsonBoard.open(root)
    total = board.total_power_sensor()
    smp = Sampler([total], hz=0)
    before = smp.sample_once()
    assert before.value("ina3221:VDD_IN") == 5.064 * 1.136
    (root / VDD_IN_CURR).unlink()
    after = smp.sample_once()
    (r,) = [r for r in after.readings if r.sensor == "ina3221:VDD_IN"]
    assert r.value is None and r.reason.startswith("vanished") and "curr1_input" in r.reason
    assert total.lost_at_ns == r.t_ns                        # the time it vanished, for the row's warning
    board.close()


def test_a_replaced_file_is_reread_not_the_old_descriptor(tmp_path):
    """Kept-open descriptors follow the path: a file replaced by rename gives the new value."""
    root = build(tmp_path, "rapl-2socket")
    rapl = rapl_sensor(root)
    rapl.read(1)
    for i in range(1, 4):
        set_energy(root, "intel-rapl:1", 7_000_000 + i * 1_000_000)   # os.replace: a new inode each time
        assert rapl.read(1 + i)[0].value == float(i)


def test_a_device_dropped_without_close_leaks_no_descriptor(tmp_path):
    import gc
    import os

    root = build(tmp_path, "orin-nano-jp6")
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(20):
        board = JetsonBoard.open(root, nvpmodel=None)
        for s in board.sensors():
            s.read(1)
        del board, s
    gc.collect()
    assert len(os.listdir("/proc/self/fd")) <= before + 2
