"""Jetson adapter against fake sysfs trees of five boards (layouts: tests/fixtures/README.md)."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edgeprof.devices.base import MEASURED
from edgeprof.devices.errors import NoPermission
from edgeprof.devices.jetson import JetsonBoard, parse_nvpmodel
from edgeprof.devices.sysfs import FileReader, Handle


def sensors(dev):
    return {s.name: s for s in dev.sensors()}


def value(dev, name):
    r = sensors(dev)[name].read(1)[0]
    return r.value


def test_orin_nano_identity_and_total_rail(board):
    dev = JetsonBoard.open(board("orin-nano-jp6"))
    info = dev.info()
    assert info.kind == "jetson"
    assert info.name == "NVIDIA Jetson Orin Nano Engineering Reference Developer Kit Super"
    assert info.id.startswith("jetson0:nvidia-jetson-orin-nano")
    assert info.specs["l4t"] == "36.4.3"
    assert info.memory_bytes == 7802336 * 1024
    # root is not "/": the local nvpmodel is never run; the status file + conf name the mode
    assert (info.specs["power_mode"], info.specs["power_mode_id"]) == ("MAXN_SUPER", 2)
    assert info.specs["power_mode_source"] == "/var/lib/nvpmodel/status"
    assert info.specs["jetson_clocks"] == "off"   # cpufreq floor 729.6 MHz < ceiling
    total = dev.total_power_sensor()
    assert total is not None and total.name == "ina3221:VDD_IN"
    assert [s.name for s in dev.sensors() if s.info.total] == ["ina3221:VDD_IN"]
    assert total.info.source == "ina3221:VDD_IN" and total.info.scope == "soc_module"
    assert total.info.kind == MEASURED and total.info.quantity == "power_w"
    assert value(dev, "ina3221:VDD_IN") == pytest.approx(5.064 * 1.136)      # mV x mA -> W
    assert value(dev, "ina3221:VDD_CPU_GPU_CV") == pytest.approx(5.056 * 0.272)
    assert sensors(dev)["ina3221:VDD_SOC"].info.scope == "soc_rail"
    assert not sensors(dev)["ina3221:VDD_SOC"].info.total


def test_orin_nano_gpu_cpu_emc_thermal_memory(board):
    dev = JetsonBoard.open(board("orin-nano-jp6"))
    s = sensors(dev)
    assert value(dev, "gpu:utilization") == pytest.approx(0.412)            # 412 per mille
    assert s["gpu:utilization"].info.source == "devfreq load"
    assert value(dev, "gpu:clock") == pytest.approx(1020.0)                  # Hz -> MHz
    assert dev.info().specs["gpu_governor"] == "nvhost_podgov"
    assert value(dev, "cpu:clock") == pytest.approx(1728.0)                  # kHz -> MHz
    assert dev.info().specs["cpu_governor"] == "schedutil"
    assert value(dev, "emc:clock") == pytest.approx(3199.0)
    assert value(dev, "thermal:cpu-thermal") == pytest.approx(48.531)
    assert "thermal:cv0-thermal" not in s                                    # -256 C: offline zone
    assert value(dev, "mem:nvmap") == 312448 * 1024
    assert value(dev, "mem:used") == (7802336 - 5211104) * 1024


def test_skips_are_logged_and_never_sensors(board, caplog):
    with caplog.at_level(logging.INFO, logger="edgeprof.devices._rails"):
        dev = JetsonBoard.open(board("agx-orin-jp5"))
    rails = sorted(n for n in sensors(dev) if n.startswith("ina3221:"))
    assert rails == ["ina3221:VDDQ_VDD2_1V8AO", "ina3221:VDD_CPU_CV", "ina3221:VDD_GPU_SOC",
                     "ina3221:VIN_SYS_5V0"]
    text = caplog.text
    assert "sum of shunt voltages" in text and text.count("not connected") == 2


def test_agx_orin_has_no_total_and_no_fake_sum(board):
    dev = JetsonBoard.open(board("agx-orin-jp5"), nvpmodel=lambda: "NV Power Mode: MAXN\n0\n")
    assert dev.total_power_sensor() is None
    assert dev.info().specs["total_power"].startswith("none:")
    assert "UNDER-read" in dev.info().specs["total_power"]
    for s in dev.sensors():
        if s.info.quantity == "power_w":
            assert not s.info.total and "UNDER-read" in s.info.note
    # the board-level sum is nowhere: no reading equals the sum of the rails
    rail_sum = sum(value(dev, n) for n in sensors(dev) if n.startswith("ina3221:"))
    all_values = [r.value for s in dev.sensors() for r in s.read(1)]
    assert rail_sum not in all_values
    assert value(dev, "ina3221:VDD_GPU_SOC") == pytest.approx(19.120 * 0.392)
    assert dev.info().specs["power_mode"] == "MAXN" and dev.info().specs["power_mode_source"] == "nvpmodel -q"
    assert dev.info().specs["jetson_clocks"] == "on"
    emc = sensors(dev)["emc:clock"]
    assert not emc.available and emc.info.reason and "root" in emc.info.hint
    assert emc.read(1)[0].value is None and emc.read(1)[0].reason


def test_jetpack4_iio_xavier_nx_reads_power_files(board):
    dev = JetsonBoard.open(board("xavier-nx-jp4"))
    assert dev.total_power_sensor().name == "ina3221:VDD_IN"
    assert value(dev, "ina3221:VDD_IN") == pytest.approx(5.386)              # in_power0_input mW
    assert "in_power0_input" in dev.total_power_sensor().info.note
    assert value(dev, "gpu:utilization") == 0.0
    nvmap = sensors(dev)["mem:nvmap"].read(1)[0]
    assert nvmap.value is None and "NvMapMemUsed" in nvmap.reason          # never a silent 0


def test_jetson_nano_pom_5v_in_is_total(board):
    dev = JetsonBoard.open(board("nano-jp4"))
    assert dev.total_power_sensor().name == "ina3221:POM_5V_IN"
    assert value(dev, "ina3221:POM_5V_IN") == pytest.approx(1.938)
    assert value(dev, "ina3221:POM_5V_GPU") == 0.0  # a measured 0 (GPU rail-gated), not a missing one
    assert dev.info().specs["l4t"] == "32.7.1"


def test_thor_ina238_vin_total_in_microwatts(board):
    dev = JetsonBoard.open(board("thor-jp7"))
    total = dev.total_power_sensor()
    assert total.name == "ina238:VIN" and total.info.source == "ina238:VIN"
    assert total.read(1)[0].value == pytest.approx(41.25)                    # µW -> W
    assert value(dev, "ina3221:VDD_GPU") == pytest.approx(12.040 * 0.640)
    gpu = sensors(dev)["gpu:utilization"]
    assert not gpu.available and gpu.info.reason


def test_unlabelled_ina238_is_never_the_total(board):
    root = board("thor-jp7")
    (root / "sys/class/hwmon/hwmon4/label").unlink()
    dev = JetsonBoard.open(root)
    assert "ina238:ina238@hwmon4" in sensors(dev)
    assert dev.total_power_sensor() is None


NVPMODEL = Path(__file__).resolve().parents[1] / "fixtures" / "jetson"


def test_nvpmodel_recorded_outputs(board):
    xavier = (NVPMODEL / "nvpmodel_q_agx_xavier_maxn.txt").read_text()
    assert parse_nvpmodel(xavier) == ("MAXN", 0)
    nano = (NVPMODEL / "nvpmodel_q_orin_nano_super.txt").read_text()
    dev = JetsonBoard.open(board("orin-nano-jp6"), nvpmodel=lambda: nano)
    assert (dev.info().specs["power_mode"], dev.info().specs["power_mode_source"]) == ("MAXN_SUPER", "nvpmodel -q")


def test_nvpmodel_runner_output_and_fallback(board):
    assert parse_nvpmodel("NV Fan Mode:quiet\nNV Power Mode: MODE_15W_6CORE\n2\n") == ("MODE_15W_6CORE", 2)
    assert parse_nvpmodel("garbage") == (None, None)

    def broken() -> str:
        raise OSError("nvpmodel: command not found")

    dev = JetsonBoard.open(board("orin-nano-jp6"), nvpmodel=broken)
    assert dev.info().specs["power_mode"] == "MAXN_SUPER"
    assert dev.info().specs["power_mode_source"] == "/var/lib/nvpmodel/status"


class DeniedHandle(Handle):
    def read_bytes(self, size: int = 64) -> bytes:
        raise NoPermission(f"{self.device_path} is not readable by this user")


class DenyRails(FileReader):
    """Permission errors injected through the reader (CI runs as root: chmod proves nothing),
    for one-shot reads and for the kept-open handles sensors read every sample."""

    def read_text(self, device_path: str) -> str:
        if "curr1_input" in device_path:
            raise NoPermission(f"{device_path} is not readable by this user")
        return super().read_text(device_path)

    def handle(self, device_path: str) -> Handle:
        return DeniedHandle(self, device_path) if "curr1_input" in device_path else super().handle(device_path)


def test_unreadable_rail_reports_reason_not_zero(board):
    root = board("orin-nano-jp6")
    dev = JetsonBoard.open(root, reader=DenyRails(root))
    r = dev.total_power_sensor().read(1)[0]
    assert r.value is None and "NoPermission" in r.reason


def test_is_available_only_on_tegra(board):
    assert JetsonBoard.is_available(board("orin-nano-jp6"))
    assert JetsonBoard.is_available(board("nano-jp4"))
    assert not JetsonBoard.is_available(board("rapl-2socket"))


def test_raspberry_pi_is_not_a_jetson(tmp_path):
    (tmp_path / "proc/device-tree").mkdir(parents=True)
    (tmp_path / "proc/device-tree/model").write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\x00")
    (tmp_path / "proc/device-tree/compatible").write_bytes(b"raspberrypi,5-model-b\x00brcm,bcm2712\x00")
    assert not JetsonBoard.is_available(tmp_path)


def test_gpu_load_fallback_without_devfreq_of_node(tmp_path):
    from fx_boards import tegra, write
    tegra(tmp_path, "NVIDIA Jetson AGX Orin", "# R35 (release), REVISION: 3.1, GCID: 0, BOARD: t186ref")
    write(tmp_path, "/sys/devices/platform/17000000.ga10b/load", "250")
    dev = JetsonBoard.open(tmp_path)
    assert value(dev, "gpu:utilization") == pytest.approx(0.25)
    assert dev.info().specs["l4t"] == "35.3.1"
    power = sensors(dev)["ina3221:none"]                 # no power monitor at all: said, not zeroed
    assert not power.available and "no INA3221" in power.info.reason


def test_agx_xavier_jp4_six_rails_none_total(board):
    dev = JetsonBoard.open(board("agx-xavier-jp4"))
    rails = sorted(n for n in sensors(dev) if n.startswith("ina3221:"))
    assert rails == ["ina3221:CPU", "ina3221:CV", "ina3221:GPU", "ina3221:SOC", "ina3221:SYS5V", "ina3221:VDDRQ"]
    assert dev.total_power_sensor() is None and "UNDER-read" in dev.info().specs["total_power"]
    assert value(dev, "ina3221:CPU") == pytest.approx(5.807)
