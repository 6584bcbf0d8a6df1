"""Each energy/power source declares its resolution and update period from published figures with
the source named (devices/precision.py), and a window's uncertainty and "too short" verdict follow
from them."""
from __future__ import annotations

import pytest
from fx_boards import BOARDS, build
from fx_fake_nvml import FakeClock, FakeGpu, FakeNvml, a100

from edgeprof.devices import precision as prec
from edgeprof.devices.amd import AmdGpu
from edgeprof.devices.base import Precision
from edgeprof.devices.cpu import HostCpu
from edgeprof.devices.jetson import JetsonBoard
from edgeprof.devices.nvidia import NvidiaGpu


def open_board(root, name):
    if name.startswith(("orin", "agx", "xavier", "nano", "thor")):
        return JetsonBoard.open(root, nvpmodel=None)
    if name.startswith("amd"):
        return AmdGpu.open(root)[0]
    return HostCpu.open(root)


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_energy_and_power_sensor_declares_its_precision(tmp_path, name):
    dev = open_board(build(tmp_path, name), name)
    energy = [s for s in dev.sensors() if s.available and s.info.quantity in ("energy_j", "power_w")]
    assert energy, name
    for s in energy:
        p = s.info.precision
        assert p is not None and p.source, s.name
        assert p.resolution is not None and p.resolution > 0, s.name   # at least the file's unit
    dev.close()


def test_rapl_figures_are_the_sdm_ones(tmp_path):
    rapl = next(s for s in HostCpu.open(build(tmp_path, "rapl-2socket")).sensors() if s.name == "rapl:package")
    p = rapl.info.precision
    assert p.resolution == pytest.approx(15.26e-6, rel=1e-3) and p.update_period_s == 1e-3
    assert "SDM" in p.source


def test_ina3221_resolution_from_shunt_and_lsbs(tmp_path):
    board = JetsonBoard.open(build(tmp_path, "orin-nano-jp6"), nvpmodel=None)
    p = board.total_power_sensor().info.precision
    # VDD_IN 5064 mV, 1136 mA, 5 mOhm: 5.064 V x (40 uV / 5 mOhm) + 1.136 A x 8 mV
    assert p.resolution == pytest.approx(5.064 * 0.008 + 1.136 * 0.008)
    assert p.update_period_s == 0.007 and "SBOS576" in p.source
    agx = JetsonBoard.open(build(tmp_path / "agx", "agx-orin-jp5"), nvpmodel=None)
    gpu_soc = next(s for s in agx.sensors() if s.name == "ina3221:VDD_GPU_SOC").info.precision
    assert gpu_soc.resolution == pytest.approx(19.12 * 0.020 + 0.392 * 0.008)   # 2 mOhm: 20 mA steps


def test_nvml_power_is_averaged_on_hopper_not_on_ga100():
    for gpu, averaging in ((FakeGpu(), 1.0), (a100(), 0.0)):
        nvml = FakeNvml([gpu], FakeClock())
        (dev,) = NvidiaGpu.open("/", nvml=nvml, clock=nvml.clock.monotonic, sleep=nvml.clock.sleep)
        s = {x.name: x for x in dev.sensors()}
        power = s["nvidia0:power"].info.precision
        assert power.averaging_s == averaging and power.accuracy == 5.0 and power.resolution == 1e-3
        energy = s["nvidia0:energy"].info
        assert energy.precision.update_period_s == pytest.approx(0.1, abs=0.005)   # measured at open
        assert energy.floor_hz == pytest.approx(20, rel=0.05) and dev.min_sample_hz() == energy.floor_hz
        dev.close()


def test_counter_uncertainty_and_too_short():
    counter = Precision(resolution=1e-3, update_period_s=0.1, source="t")
    # 2 steps of 1 mJ + 2 update periods at 300 W
    assert prec.energy_uncertainty_j(counter, "energy_j", 2.0, power_w=300.0) == pytest.approx(0.002 + 60.0)
    warning = prec.too_short(counter, 0.03)
    assert "30 ms" in warning and "update period (100 ms)" in warning and "about 17 repetitions" in warning
    assert prec.too_short(counter, 0.6) is None


def test_averaged_power_uncertainty_and_unknowns():
    power = Precision(resolution=1e-3, averaging_s=1.0, accuracy=5.0, source="t")
    assert prec.energy_uncertainty_j(power, "power_w", 2.0, power_w=100.0) == pytest.approx(
        0.002 + 10.0 + 2 * 100.0 * 1.0)
    assert "averaging window (1000 ms)" in prec.too_short(power, 0.5)
    assert prec.energy_uncertainty_j(Precision(source="unpublished"), "energy_j", 1.0) is None
    assert prec.energy_uncertainty_j(None, "power_w", 1.0) is None and prec.too_short(None, 0.01) is None


def test_device_window_warning_uses_the_total_sensors_figures(tmp_path):
    board = JetsonBoard.open(build(tmp_path, "orin-nano-jp6"), nvpmodel=None)   # VDD_IN updates every 7 ms
    assert board.window_warning(0.02) and "about 2 repetitions" in board.window_warning(0.02)
    assert board.window_warning(0.05) is None
    cpu = HostCpu.open(build(tmp_path / "rapl", "rapl-2socket"))                 # RAPL: ~1 ms
    assert cpu.window_warning(0.004) and cpu.window_warning(0.01) is None


def test_a_fast_counter_floor_is_capped():
    nvml = FakeNvml([FakeGpu(energy_period_s=0.01)], FakeClock())
    (dev,) = NvidiaGpu.open("/", nvml=nvml, clock=nvml.clock.monotonic, sleep=nvml.clock.sleep)
    energy = next(s for s in dev.sensors() if s.name == "nvidia0:energy").info
    assert energy.precision.update_period_s == pytest.approx(0.01, abs=0.002)
    assert energy.floor_hz == 50.0 and dev.min_sample_hz() == 50.0 == dev.info().specs["min_sample_hz"]
