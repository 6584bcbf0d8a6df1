"""detect(root) on every fixture tree names the device; no sensor ever yields a silent value."""
from __future__ import annotations

import subprocess
import sys

import pytest
from fx_boards import BOARDS
from fx_fake_nvml import NVML_ERROR_LIBRARY_NOT_FOUND, FakeClock, FakeNvml

from edgeprof.devices import detect

NO_NVML = dict(nvml=FakeNvml(init_error=NVML_ERROR_LIBRARY_NOT_FOUND), host_platform=("Linux", "x86_64"))

EXPECTED = {
    "orin-nano-jp6": ("jetson", "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"),
    "agx-orin-jp5": ("jetson", "Jetson AGX Orin Developer Kit"),
    "xavier-nx-jp4": ("jetson", "NVIDIA Jetson Xavier NX Developer Kit"),
    "agx-xavier-jp4": ("jetson", "Jetson-AGX"),
    "nano-jp4": ("jetson", "NVIDIA Jetson Nano Developer Kit"),
    "thor-jp7": ("jetson", "NVIDIA Jetson AGX Thor Developer Kit"),
    "rapl-2socket": ("cpu", "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz"),
    "amd-rx7900": ("amd", "AMD GPU 0x744c"),
}


def test_every_board_has_an_expectation():
    assert set(EXPECTED) == set(BOARDS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_detect_names_the_device(board, name):
    found = detect(board(name), **NO_NVML)
    kind, device_name = EXPECTED[name]
    assert found[-1].info().kind == "cpu"                       # the host CPU is always last
    assert found[0].info().kind == kind and found[0].info().name == device_name
    if kind != "cpu":
        assert [d.info().kind for d in found] == [kind, "cpu"]
    for dev in found:
        _no_silent_values(dev)


def test_detect_with_nvml_and_powermetrics(board, powermetrics_bytes):
    nvml = FakeNvml(clock=FakeClock())
    found = detect(board("rapl-2socket"), nvml=nvml, clock=nvml.clock.monotonic, sleep=nvml.clock.sleep,
                   host_platform=("Darwin", "arm64"),
                   powermetrics=lambda argv: iter([powermetrics_bytes]), ioreport=False, chip="Apple M2")
    assert [d.info().kind for d in found] == ["nvidia", "apple", "cpu"]
    for dev in found:
        _no_silent_values(dev)
        dev.close()


def _no_silent_values(dev):
    """Missing hardware is value None + a reason; an unavailable sensor never yields a number."""
    for s in dev.sensors():
        for r in s.read(1):
            assert r.unit, f"{r.sensor}: unknown quantity {r.quantity}"
            if not s.available:
                assert r.value is None and r.reason, f"{s.name} is unavailable but read {r.value}"
                assert s.info.reason
            if r.value is None:
                assert r.reason, f"{r.sensor} has no value and no reason"
            assert r.kind in ("measured", "estimated", "derived", "spec") and r.source and r.scope


def test_adapters_import_no_vendor_sdk():
    code = ("import sys, devices, devices.nvidia, devices.jetson, devices.apple, devices.amd, devices.check; "
            "bad = [m for m in ('pynvml', 'psutil', 'zeus_apple_silicon', 'edgeprof', 'exporters') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
