"""NVIDIA adapter against the fake NVML (tests/fixtures/nvidia/fake_nvml.py, H100/A100 answers)."""
from __future__ import annotations

import pytest
from fx_fake_nvml import (NVML_ERROR_DRIVER_NOT_LOADED, NVML_ERROR_GPU_IS_LOST, NVML_ERROR_LIBRARY_NOT_FOUND,
                          NVML_ERROR_NO_PERMISSION, NVML_ERROR_NOT_SUPPORTED, NVMLError, FakeClock, FakeGpu,
                          FakeNvml, a100)

from edgeprof.devices import _nvml
from edgeprof.devices.errors import DeviceLost, NoPermission, NotPresent, Unsupported
from edgeprof.devices.nvidia import NvidiaGpu


def open_gpus(nvml: FakeNvml, **kw):
    return NvidiaGpu.open("/", nvml=nvml, clock=nvml.clock.monotonic, sleep=nvml.clock.sleep, **kw)


def sensors(dev):
    return {s.name: s for s in dev.sensors()}


def first(sensor, t_ns=1):
    return sensor.read(t_ns)[0]


@pytest.fixture
def h100():
    nvml = FakeNvml([FakeGpu()], FakeClock())
    (dev,) = open_gpus(nvml)
    return nvml, dev


def test_identity(h100):
    _, dev = h100
    info = dev.info()
    assert info.id == "nvidia0:GPU-5c4a9d6e-1f3b-4c2a-9e8d-7b6a5f4e3d2c"
    assert info.kind == "nvidia" and info.name == "NVIDIA H100 80GB HBM3"   # bytes decoded
    assert info.memory_bytes == 81559 * 2 ** 20
    s = info.specs
    assert (s["driver_version"], s["cuda_driver_version"]) == ("550.54.15", "12.4")
    assert s["power_limit_w"] == 700.0 and s["compute_capability"] == "9.0"
    assert "sm_count" not in s            # NVML gives multiprocessorCount only for MIG handles
    assert s["pci_bus_id"] == "00000000:06:00.0" and s["cuda_ordinal"] == 0


def test_counter_period_is_measured_within_budget():
    clock = FakeClock()
    nvml = FakeNvml([FakeGpu(energy_period_s=0.05)], clock)
    (dev,) = open_gpus(nvml)
    assert dev.energy_counter_period_s == pytest.approx(0.05, abs=0.002)
    assert dev.info().specs["energy_counter_period_s"] == dev.energy_counter_period_s
    assert clock.now < 0.5                                   # the probe is bounded
    assert dev.min_sample_hz() == pytest.approx(40, rel=0.05)  # twice per update
    assert "spans only" in dev.window_warning(0.1)
    assert dev.window_warning(1.0) is None


def test_slow_counter_period_is_unknown_not_invented():
    nvml = FakeNvml([FakeGpu(energy_period_s=1.0)], FakeClock())
    (dev,) = open_gpus(nvml)
    assert dev.energy_counter_period_s is None and dev.min_sample_hz() is None
    assert "unknown" in sensors(dev)["nvidia0:energy"].info.note


def test_energy_counter_is_the_total_and_converts_mj(h100):
    nvml, dev = h100
    energy = sensors(dev)["nvidia0:energy"]
    assert dev.total_power_sensor() is energy
    i = energy.info
    assert (i.quantity, i.source, i.scope, i.kind, i.total) == ("energy_j", "nvml_energy_counter", "gpu_board",
                                                                 "measured", True)
    assert first(energy).value == 0.0
    nvml.clock.sleep(2.0)
    assert first(energy).value == pytest.approx(73.0 * 2.0, rel=0.06)       # 73 W for 2 s, mJ -> J
    power = sensors(dev)["nvidia0:power"]
    assert not power.info.total and first(power).value == pytest.approx(73.0)  # mW -> W
    assert "1 s average" in power.info.note


def test_power_is_the_total_only_without_counter():
    nvml = FakeNvml([FakeGpu(energy_supported=False)], FakeClock())
    (dev,) = open_gpus(nvml)
    energy = sensors(dev)["nvidia0:energy"]
    assert not energy.available and "Volta" in energy.info.hint
    r = first(energy)
    assert r.value is None and "unavailable" in r.reason
    assert dev.total_power_sensor().name == "nvidia0:power"
    assert dev.info().specs["energy_source"] == "nvml_power (integrated)"


def test_memory_utilization_clocks_temperature(h100):
    nvml, dev = h100
    nvml.gpus[0].util = (87, 41)
    s = sensors(dev)
    assert first(s["nvidia0:memory_used"]).value == 70323 * 2 ** 20
    util = {r.sensor: r.value for r in s["nvidia0:utilization"].read(1)}
    assert util == {"nvidia0:utilization": 0.87, "nvidia0:memory_utilization": 0.41}
    assert first(s["nvidia0:clock_sm"]).value == 1980.0
    assert first(s["nvidia0:clock_mem"]).value == 2619.0
    assert first(s["nvidia0:temperature"]).value == 28.0


def test_throttle_reasons(h100):
    nvml, dev = h100
    throttle = sensors(dev)["nvidia0:throttled"]
    r = first(throttle)
    assert r.value == 0.0 and "gpu_idle" in r.note        # idle is a reason, not throttling
    nvml.gpus[0].reasons = 0x4 | 0x40
    r = first(throttle)
    assert r.value == 1.0 and "sw_power_cap" in r.note and "hw_thermal_slowdown" in r.note


def test_process_memory_needs_the_pid_present():
    gpu = FakeGpu(processes=[(4242, 1536 * 2 ** 20), (77, None)])
    nvml = FakeNvml([gpu], FakeClock())
    (dev,) = open_gpus(nvml, pid=4242)
    proc = sensors(dev)["nvidia0:process_memory"]
    assert proc.info.scope == "process" and first(proc).value == 1536 * 2 ** 20
    gpu.processes = [(1, 10)]
    r = first(proc)
    assert r.value is None and "4242" in r.reason          # absent pid: None + reason, not 0
    late = dev.process_sensor(1)                  # a worker started after open()
    assert late.read(1)[0].value == 10
    (dev77,) = open_gpus(FakeNvml([FakeGpu(processes=[(77, None)])], FakeClock()), pid=77)
    r = first(sensors(dev77)["nvidia0:process_memory"])
    assert r.value is None and "NVML_VALUE_NOT_AVAILABLE" in r.reason


@pytest.mark.parametrize("visible, expected", [
    (None, ["nvidia0", "nvidia1"]), ("1", ["nvidia1"]), ("1,0", ["nvidia1", "nvidia0"]),
    ("GPU-0a1b", ["nvidia1"]), ("0,7,1", ["nvidia0"]), ("", []), ("GPU-", []), ("0,0", ["nvidia0"]),
])
def test_cuda_visible_devices(visible, expected):
    nvml = FakeNvml([FakeGpu(), a100()], FakeClock())
    devs = open_gpus(nvml, visible=visible)
    assert [d.info().id.split(":")[0] for d in devs] == expected
    assert [d.info().specs["cuda_ordinal"] for d in devs] == list(range(len(expected)))


@pytest.mark.parametrize("code, error", [
    (NVML_ERROR_NOT_SUPPORTED, Unsupported), (NVML_ERROR_NO_PERMISSION, NoPermission),
    (NVML_ERROR_GPU_IS_LOST, DeviceLost), (NVML_ERROR_LIBRARY_NOT_FOUND, NotPresent),
    (NVML_ERROR_DRIVER_NOT_LOADED, NotPresent),
])
def test_error_table(code, error):
    class Lib:
        NVMLError = NVMLError

        def nvmlDeviceGetPowerUsage(self, h):
            raise NVMLError(code)

    with pytest.raises(error) as exc:
        _nvml.Nvml(Lib()).call("nvmlDeviceGetPowerUsage", 0)
    assert f"code {code}" in str(exc.value) and exc.value.hint


def test_not_available_without_driver_and_lost_gpu_reads_none():
    assert not NvidiaGpu.is_available("/", nvml=FakeNvml(init_error=NVML_ERROR_LIBRARY_NOT_FOUND))
    assert not NvidiaGpu.is_available("/", nvml=FakeNvml(gpus=[]))
    nvml = FakeNvml([FakeGpu()], FakeClock())
    assert NvidiaGpu.is_available("/", nvml=nvml) and nvml.inits == 0   # init/shutdown balanced
    (dev,) = open_gpus(nvml)
    nvml.gpus[0].lost = True
    r = first(sensors(dev)["nvidia0:power"])
    assert r.value is None and "DeviceLost" in r.reason
    dev.close()
    dev.close()                                  # idempotent
    assert nvml.inits == 0


def test_resolve_visible_stops_like_cuda():
    uuids = ["GPU-aa11", "GPU-aa22", "GPU-bb33"]
    assert _nvml.resolve_visible("GPU-bb,0", uuids) == [2, 0]
    assert _nvml.resolve_visible("GPU-aa,2", uuids) == []          # ambiguous prefix stops
    assert _nvml.resolve_visible("MIG-x,0", uuids) == []


def test_two_gpus_balance_nvml_references():
    nvml = FakeNvml([FakeGpu(), a100()], FakeClock())
    devs = open_gpus(nvml)
    assert nvml.inits == 2                       # one reference per open device
    assert devs[1].info().name == "NVIDIA A100-SXM4-80GB" and devs[1].info().specs["power_limit_w"] == 400.0
    for d in devs:
        d.close()
    assert nvml.inits == 0


def test_failed_open_releases_nvml():
    nvml = FakeNvml([FakeGpu(), a100()], FakeClock())
    nvml.gpus[1].lost = True                     # the second GPU fell off the bus
    with pytest.raises(DeviceLost):
        open_gpus(nvml)
    assert nvml.inits == 0
