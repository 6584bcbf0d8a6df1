"""HostCpu's RAPL logic against a fake powercap tree: two packages with core/dram subzones, psys,
and package-0 one joule short of ``max_energy_range_uj`` (so a run crosses the wrap)."""
from __future__ import annotations

import time

import pytest
from fx_boards import cpuinfo, meminfo, set_energy

from edgeprof.devices.cpu import HostCpu, TdpSpec
from edgeprof.devices.errors import NoPermission
from edgeprof.devices.sysfs import FileReader

MAX_UJ = 262143328850


def sensors(dev):
    return {s.name: s for s in dev.sensors()}


def rapl_values(dev, t_ns=1):
    return {r.sensor: r.value for r in sensors(dev)["rapl:package"].read(t_ns)}


def test_sums_packages_only(board):
    root = board("rapl-2socket")
    dev = HostCpu.open(root)
    rapl = sensors(dev)["rapl:package"]
    i = rapl.info
    assert (i.quantity, i.source, i.scope, i.kind, i.total) == ("energy_j", "rapl", "cpu_package", "measured", True)
    assert "2 package zone(s): package-0, package-1" in i.note        # no core/dram/psys
    assert rapl_values(dev)["rapl:package"] == 0.0
    set_energy(root, "intel-rapl:0", MAX_UJ - 1_000_000 + 2_000_000 - MAX_UJ - 1)  # +2 J across the wrap
    set_energy(root, "intel-rapl:1", 7_000_000 + 3_000_000)                        # +3 J
    set_energy(root, "intel-rapl:0:0", 999_999_999)      # subzones and psys move, but are not summed
    set_energy(root, "intel-rapl:2", 999_999_999)
    v = rapl_values(dev, 2)
    assert v["rapl:package-0"] == pytest.approx(2.0, abs=1e-5)
    assert v["rapl:package-1"] == pytest.approx(3.0)
    assert v["rapl:package"] == pytest.approx(5.0, abs=1e-5)
    assert dev.info().specs["energy_source"] == "rapl"


def test_wraparound_during_a_run(board):
    root = board("rapl-2socket")
    dev = HostCpu.open(root)
    rapl_values(dev)
    set_energy(root, "intel-rapl:0", MAX_UJ - 200_000)         # +0.8 J, no wrap yet
    assert rapl_values(dev, 2)["rapl:package-0"] == pytest.approx(0.8)
    set_energy(root, "intel-rapl:0", 300_000)                  # wrapped: +0.2 J to the top, +0.3 J after
    assert rapl_values(dev, 3)["rapl:package-0"] == pytest.approx(1.3, abs=1e-5)
    set_energy(root, "intel-rapl:0", 1_300_000)
    assert rapl_values(dev, 4)["rapl:package-0"] == pytest.approx(2.3, abs=1e-5)   # monotonic after


def test_absent_rapl_gives_reason_hint_and_labelled_estimate(tmp_path):
    cpuinfo(tmp_path, "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", 2)
    meminfo(tmp_path, 8000000, 6000000)
    tdp = TdpSpec(tdp_w=350.0, socket_cores=56, idle_fraction=0.3, basis="assets/devices/cpus.csv")
    dev = HostCpu.open(tmp_path, tdp=tdp)
    rapl = sensors(dev)["rapl:package"]
    assert not rapl.available and "no RAPL" in rapl.info.reason and "CVE-2020-8694" in rapl.info.hint
    assert rapl.read(1)[0].value is None
    est = sensors(dev)["cpu:power_estimate"]
    assert est.info.kind == "estimated" and est.info.source == "tdp_model" and est.info.total
    assert "ESTIMATE" in est.info.note and "350 W TDP" in est.info.note
    first = est.read(time.monotonic_ns())[0]
    assert first.value is None and first.reason.startswith("warming up")   # no window yet: no 0-busy figure
    time.sleep(0.15)
    r = est.read(time.monotonic_ns())[0]
    assert r.kind == "estimated" and 0 < r.value <= 350.0 * 2 / 56 + 1e-9
    assert dev.total_power_sensor() is est


def test_absent_rapl_without_tdp_says_how_to_get_one(tmp_path):
    cpuinfo(tmp_path, "Mystery CPU", 2)
    dev = HostCpu.open(tmp_path)
    est = sensors(dev)["cpu:power_estimate"]
    assert not est.available and "--cpu-tdp-w" in est.info.hint
    assert est.read(1)[0].value is None


class RootOnlyEnergy(FileReader):
    """energy_uj as on Linux >= 5.10 without root (0400): injected, since CI runs as root."""

    def read_text(self, device_path: str) -> str:
        if device_path.endswith("/energy_uj"):
            raise NoPermission(f"{device_path} is not readable by this user")
        return super().read_text(device_path)


def test_permission_error_becomes_null_sensor_with_fix(board):
    root = board("rapl-2socket")
    tdp = TdpSpec(tdp_w=350.0, socket_cores=56, idle_fraction=0.3, basis="test")
    dev = HostCpu.open(root, tdp=tdp, reader=RootOnlyEnergy(root))
    rapl = sensors(dev)["rapl:package"]
    assert not rapl.available and "not readable" in rapl.info.reason
    assert "chmod" in rapl.info.hint
    assert sensors(dev)["cpu:power_estimate"].info.kind == "estimated"
    assert dev.info().specs["energy_source"].startswith("tdp_model")
