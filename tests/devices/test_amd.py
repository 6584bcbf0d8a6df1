"""AMD adapter against a fake amdgpu sysfs tree (an RX 7900-class card plus an Intel iGPU)."""
from __future__ import annotations

import pytest
from fx_boards import amdgpu, cpuinfo

from edgeprof.devices.amd import AmdGpu, current_dpm_mhz


def sensors(dev):
    return {s.name: s for s in dev.sensors()}


def value(dev, name):
    return sensors(dev)[name].read(1)[0].value


def test_amd_card_identity_and_sensors(board):
    root = board("amd-rx7900")
    assert AmdGpu.is_available(root)
    (dev,) = AmdGpu.open(root)                      # Intel card1 and the DP connector are skipped
    info = dev.info()
    assert info.id == "amd0:0000:03:00.0" and info.kind == "amd"
    assert info.memory_bytes == 24 * 2 ** 30
    assert info.specs["power_limit_w"] == 355.0 and info.specs["driver"] == "amdgpu"
    total = dev.total_power_sensor()
    assert total.name == "amd0:power" and total.info.source == "amdgpu_hwmon:power1_average"
    assert total.info.scope == "gpu_board" and total.info.kind == "measured"
    assert value(dev, "amd0:power") == pytest.approx(87.0)                 # µW -> W
    assert value(dev, "amd0:memory_used") == 3 * 2 ** 30 + 123 * 2 ** 20
    assert value(dev, "amd0:utilization") == pytest.approx(0.37)
    assert value(dev, "amd0:temperature") == pytest.approx(52.0)
    assert value(dev, "amd0:clock_sclk") == 1895.0 and value(dev, "amd0:clock_mclk") == 1249.0


def test_power1_input_when_no_average(tmp_path):
    amdgpu(tmp_path, power_file="power1_input", power_uw=212_500_000)
    (dev,) = AmdGpu.open(tmp_path)
    assert dev.total_power_sensor().info.source == "amdgpu_hwmon:power1_input"
    assert value(dev, "amd0:power") == pytest.approx(212.5)


def test_missing_power_file_is_a_null_sensor(tmp_path):
    amdgpu(tmp_path)
    (tmp_path / "sys/devices/pci0000:00/0000:00:01.1/0000:03:00.0/hwmon/hwmon3/power1_average").unlink()
    (dev,) = AmdGpu.open(tmp_path)
    power = sensors(dev)["amd0:power"]
    assert not power.available and power.read(1)[0].value is None and power.info.reason


def test_not_available_without_amd_vendor(board, tmp_path):
    cpuinfo(tmp_path, "x", 1)
    assert not AmdGpu.is_available(tmp_path)
    assert not AmdGpu.is_available(board("orin-nano-jp6"))


def test_dpm_table_parsing():
    assert current_dpm_mhz("0: 500Mhz\n1: 800Mhz *\n") == 800.0
    with pytest.raises(ValueError):
        current_dpm_mhz("0: 500Mhz\n1: 800Mhz\n")
