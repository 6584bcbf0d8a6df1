"""Apple adapter against a reconstructed powermetrics plist stream (tests/fixtures/apple/)."""
from __future__ import annotations

import plistlib
from types import SimpleNamespace

import pytest

from edgeprof.devices.apple import NOTE, AppleSoc, parse_stream, power_w
from edgeprof.devices.errors import NoPermission


def chunked(data: bytes, size: int = 997):
    """The stream as a pipe delivers it: chunks that cut plists (and NULs) anywhere."""
    return [data[i:i + size] for i in range(0, len(data), size)]


def open_with(data: bytes, ioreport=False) -> AppleSoc:
    seen = []

    def runner(argv):
        seen.append(argv)
        return iter(chunked(data))

    dev = AppleSoc.open("/", powermetrics=runner, ioreport=ioreport, chip="Apple M2", interval_ms=100)
    sensors(dev)["apple:package"].stream.join(5)
    assert seen == [["powermetrics", "--samplers", "cpu_power,gpu_power,ane_power", "-f", "plist", "-i", "100"]]
    return dev


def sensors(dev):
    return {s.name: s for s in dev.sensors()}


def value(dev, name):
    return sensors(dev)[name].read(1)[0].value


def test_available_only_on_darwin_arm64():
    assert AppleSoc.is_available("/", host_platform=("Darwin", "arm64"))
    assert not AppleSoc.is_available("/", host_platform=("Darwin", "x86_64"))
    assert not AppleSoc.is_available("/", host_platform=("Linux", "aarch64"))


def test_stream_parsing_survives_arbitrary_chunking(powermetrics_bytes):
    samples = list(parse_stream(chunked(powermetrics_bytes, 13)))
    assert [s["processor"]["combined_power"] for s in samples] == [1780.0, 13390.0, 12880.0]


def test_power_sensors_latest_sample_and_labels(powermetrics_bytes):
    dev = open_with(powermetrics_bytes)
    assert dev.info().name == "Apple M2" and dev.info().kind == "apple"
    assert value(dev, "apple:package") == pytest.approx(12.88)      # combined_power mW -> W
    assert value(dev, "apple:cpu") == pytest.approx(4.98)
    assert value(dev, "apple:gpu") == pytest.approx(7.90)
    assert value(dev, "apple:ane") == 0.0
    assert value(dev, "apple:gpu_clock") == pytest.approx(1398.0)
    assert value(dev, "apple:gpu_utilization") == pytest.approx(0.98)   # 1 - idle_ratio
    clocks = {r.sensor: r.value for r in sensors(dev)["apple:cpu_clock"].read(1)}
    assert clocks == {"apple:cpu_clock": 3504.0, "apple:e-cluster_clock": 2424.0,
                      "apple:p-cluster_clock": 3504.0}                    # fastest first, Hz -> MHz
    for s in dev.sensors():
        if s.info.source == "powermetrics":
            assert s.info.kind == "measured" and "not shunt resistors" in s.info.note
    assert [s.name for s in dev.sensors() if s.info.total] == ["apple:package"]


def test_package_sensor_carries_cumulative_energy(powermetrics_bytes):
    dev = open_with(powermetrics_bytes)
    readings = {r.sensor: r for r in sensors(dev)["apple:package"].read(1)}
    energy = readings["apple:pm_energy"]
    assert energy.quantity == "energy_j" and energy.note.startswith(NOTE)
    # sum of cpu+gpu+ane energies of the three 100 ms samples (mJ -> J)
    assert energy.value == pytest.approx((1780 + 13390 + 12880) * 0.1 / 1e3, abs=2e-3)


def test_without_sudo_every_power_sensor_says_how_to_enable():
    def runner(argv):
        raise NoPermission("sudo: a password is required")

    dev = AppleSoc.open("/", powermetrics=runner, ioreport=False, chip="Apple M2")
    power = [s for s in dev.sensors() if s.info.quantity == "power_w"]
    assert len(power) == 4
    for s in power:
        assert not s.available and "password" in s.info.reason and "sudoers" in s.info.hint
        r = s.read(1)[0]
        assert r.value is None and r.reason
    assert sensors(dev)["mem:used"].available                # psutil memory still works
    assert dev.info().specs["energy_source"] is None


def test_no_sample_yet_is_a_reason_not_zero():
    dev = AppleSoc.open("/", powermetrics=lambda argv: iter(()), ioreport=False, chip="Apple M2")
    r = sensors(dev)["apple:package"].read(1)[0]
    assert r.value is None and "no powermetrics sample" in r.reason


def test_older_macos_energy_only_keys():
    sample = {"elapsed_ns": 250_000_000, "processor": {"cpu_energy": 500, "gpu_energy": 250, "ane_energy": 0}}
    assert power_w(sample, "cpu") == pytest.approx(2.0)                # 500 mJ over 0.25 s
    assert power_w(sample, "combined") == pytest.approx(3.0)
    assert power_w({"processor": {}}, "gpu") is None


def test_malformed_plist_is_skipped(powermetrics_bytes):
    data = b"<?xml version='1.0'?><plist><dict><key>x</key>\x00" + powermetrics_bytes
    assert len(list(parse_stream([data]))) == 3
    data = plistlib.dumps({"processor": {"cpu_power": 1000.0}}) + b"\x00"
    assert power_w(next(iter(parse_stream([data]))), "gpu") is None  # missing key: None, not 0


def test_key_missing_from_sample_reads_none_with_reason():
    data = plistlib.dumps({"elapsed_ns": 100_000_000, "processor": {"cpu_power": 900.0}}) + b"\x00"
    dev = open_with(data)
    assert value(dev, "apple:cpu") == pytest.approx(0.9)
    r = sensors(dev)["apple:gpu_clock"].read(1)[0]
    assert r.value is None and r.reason == "not in this powermetrics sample"


def test_stale_sample_is_not_served_as_current(powermetrics_bytes):
    dev = open_with(powermetrics_bytes)
    package = sensors(dev)["apple:package"]
    package.stream.max_age_ns = 0                # the tool has gone quiet
    readings = {r.sensor: r for r in package.read(1)}
    assert readings["apple:package"].value is None and "old" in readings["apple:package"].reason
    assert readings["apple:pm_energy"].value == pytest.approx(2.805, abs=2e-3)   # energy so far stays valid


def test_samples_without_energy_are_flagged_as_undercount():
    docs = [plistlib.dumps({"elapsed_ns": 100_000_000, "processor": {"cpu_energy": 100, "gpu_energy": 0,
                                                                     "ane_energy": 0}}),
            plistlib.dumps({"processor": {"clusters": []}})]
    dev = open_with(b"\x00".join(docs))
    energy = {r.sensor: r for r in sensors(dev)["apple:package"].read(1)}["apple:pm_energy"]
    assert energy.value == pytest.approx(0.1) and "UNDER-count" in energy.note


class FakeIOReport:
    """``zeus_apple_silicon.AppleEnergyMonitor`` stand-in: ``get_cumulative_energy()`` returns the
    field names of its README/``AppleEnergyMetrics`` (mJ, None where the chip has no channel)."""

    def __init__(self):
        self.cpu, self.gpu = 120_000, 45_000

    def get_cumulative_energy(self):
        return SimpleNamespace(cpu_total_mj=self.cpu, gpu_mj=self.gpu, ane_mj=None, dram_mj=9_000,
                               gpu_sram_mj=None)


def test_ioreport_counters_are_the_total_without_sudo():
    mon = FakeIOReport()

    def no_sudo(argv):
        raise NoPermission("sudo: a password is required")

    dev = AppleSoc.open("/", powermetrics=no_sudo, ioreport=mon, chip="Apple M2")
    total = dev.total_power_sensor()
    assert total.name == "apple:energy" and total.info.source == "ioreport" and total.info.kind == "measured"
    assert "not shunt resistors" in total.info.note
    assert {r.sensor: r.value for r in total.read(1)}["apple:energy"] == 0.0
    mon.cpu += 2_500
    mon.gpu += 1_000                                         # mJ
    readings = {r.sensor: r for r in total.read(2)}
    assert readings["apple:energy"].value == pytest.approx(3.5)
    assert readings["apple:cpu_energy"].value == pytest.approx(2.5)
    assert readings["apple:dram_energy"].value == 0.0
    assert readings["apple:ane_energy"].value is None and readings["apple:ane_energy"].reason
    assert dev.info().specs["energy_source"].startswith("ioreport")


def test_ioreport_with_powermetrics_keeps_one_total(powermetrics_bytes):
    dev = open_with(powermetrics_bytes, ioreport=FakeIOReport())
    assert [s.name for s in dev.sensors() if s.info.total] == ["apple:energy"]
    assert value(dev, "apple:package") == pytest.approx(12.88)   # still there, not the total


def test_ioreport_counter_going_backwards_is_reported():
    mon = FakeIOReport()
    dev = AppleSoc.open("/", powermetrics=lambda argv: iter(()), ioreport=mon, chip="Apple M2")
    dev.total_power_sensor().read(1)
    mon.cpu -= 1
    r = dev.total_power_sensor().read(2)[0]
    assert r.value is None and "backwards" in r.reason
