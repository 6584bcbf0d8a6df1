"""A real bench under a sysfs fixture tree whose counters a thread advances during the run:
energy comes out labelled measured, with the right source and scope, and the right size.

The trees come from tests/fixtures/boards.py (their sources are in tests/fixtures/README.md);
the worker, llama.cpp and the process metrics are real.
"""
from __future__ import annotations

import importlib.util
import sys
import threading
import time
from pathlib import Path

import pytest

from edgeprof.models.artifacts import gguf_artifact
from edgeprof.engine.sweep import Sweep
from edgeprof.engine.device_choice import bench_device, open_devices
from edgeprof.engine.config import Settings
from edgeprof.engine.plan import Axes, build_cases

pytestmark = pytest.mark.slow
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "boards.py"


def _boards():
    if "fx_boards" not in sys.modules:
        spec = importlib.util.spec_from_file_location("fx_boards", FIX)
        mod = importlib.util.module_from_spec(spec)
        sys.modules["fx_boards"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["fx_boards"]


class Advancer(threading.Thread):
    """Moves fixture files forward in small steps, like hardware does between reads."""

    def __init__(self, step):
        super().__init__(daemon=True)
        self.step, self.stop = step, threading.Event()

    def run(self):
        t0 = time.monotonic()
        while not self.stop.wait(0.005):
            self.step(time.monotonic() - t0)


def _run(tmp_path, root, smollm2_gguf, step):
    """One real case on the device found under ``root`` while ``step`` moves its sensor files."""
    adv = Advancer(step)
    adv.start()
    try:
        return _bench_once(tmp_path, root, smollm2_gguf)
    finally:
        adv.stop.set()


def _bench_once(tmp_path, root, smollm2_gguf):
    found = open_devices(root)
    case = build_cases([gguf_artifact(smollm2_gguf)], Axes(prompt=[16], gen=[16], threads=[1]),
                       device_for=lambda rt, pl: bench_device(found, pl).info().id, host="h")
    device = bench_device(found, case[0].placement)
    bench = Sweep(tmp_path / "run", "t", found, Settings(reps=3, warmup=1, min_seconds=0, idle_s=0.5, sample_hz=50))
    rec = bench.run(case)[0].to_dict()
    for d in found:
        d.close()
    return device, rec


def test_rapl_counters_give_measured_energy_across_a_wrap(tmp_path, smollm2_gguf):
    fx = _boards()
    root = fx.build(tmp_path / "root", "rapl-2socket")
    max_uj = 262143328850
    start0 = max_uj - 1_000_000  # package-0 wraps about 0.05 s into the run
    watts = {"intel-rapl:0": 20.0, "intel-rapl:1": 10.0}

    def step(elapsed_s):
        fx.set_energy(root, "intel-rapl:0", int(start0 + watts["intel-rapl:0"] * 1e6 * elapsed_s) % (max_uj + 1))
        fx.set_energy(root, "intel-rapl:1", int(7_000_000 + watts["intel-rapl:1"] * 1e6 * elapsed_s))

    device, rec = _run(tmp_path, root, smollm2_gguf, step)
    assert device.info().kind == "cpu" and "8481C" in device.info().name
    assert rec["status"] == "ok", rec["error"]
    for name in ("energy_gross_j", "avg_power_w", "energy_per_token_j", "idle_power_w"):
        prov = rec["metrics"][name]["provenance"]
        assert prov["kind"] == "measured" and prov["source"] == "rapl" and prov["scope"] == "cpu_package", (name, prov)
    # 30 W of package power (psys and the core/dram subzones are never added)
    assert rec["metrics"]["avg_power_w"]["median"] == pytest.approx(30.0, rel=0.15)
    assert rec["idle_power_w"] == pytest.approx(30.0, rel=0.15)
    gross = rec["metrics"]["energy_gross_j"]["median"]
    e2e_s = rec["metrics"]["e2e_ms"]["median"] / 1e3
    assert gross == pytest.approx(30.0 * e2e_s, rel=0.2)


def test_jetson_rail_power_is_measured_from_vdd_in(tmp_path, smollm2_gguf):
    fx = _boards()
    root = fx.build(tmp_path / "root", "orin-nano-jp6")
    rail = root / "sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040/hwmon/hwmon1"

    def step(elapsed_s):  # VDD_IN at 5064 mV alternates 1.0 A / 2.0 A every 20 ms: mean 7.6 W
        ma = 1000 if int(elapsed_s / 0.02) % 2 == 0 else 2000
        fx.write(rail, "curr1_input", f"{ma}")

    device, rec = _run(tmp_path, root, smollm2_gguf, step)
    assert device.info().kind == "jetson"
    assert rec["device"]["kind"] == "jetson" and rec["status"] == "ok", rec["error"]
    prov = rec["metrics"]["energy_gross_j"]["provenance"]
    assert prov["kind"] == "measured" and prov["source"] == "ina3221:VDD_IN" and prov["scope"] == "soc_module"
    assert rec["metrics"]["avg_power_w"]["median"] == pytest.approx(5.064 * 1.5, rel=0.2)


def _fake_nvml():
    spec = importlib.util.spec_from_file_location("fx_fake_nvml", FIX.parent / "nvidia" / "fake_nvml.py")
    fake = sys.modules.get("fx_fake_nvml") or importlib.util.module_from_spec(spec)
    if "fx_fake_nvml" not in sys.modules:
        sys.modules["fx_fake_nvml"] = fake
        spec.loader.exec_module(fake)
    return fake


def _real_clock(fake):
    class RealClock(fake.FakeClock):
        now = property(lambda self: time.monotonic(), lambda self, v: None)

        def monotonic(self):
            return self.now

        def sleep(self, seconds):
            time.sleep(seconds)
    return RealClock()


def test_nvidia_energy_counter_through_an_injected_nvml(tmp_path, smollm2_gguf):
    """NVML cannot run here: the fake answers as an H100 does (tests/fixtures/nvidia/fake_nvml.py),
    on a clock that follows real time, so the 73 W board counter advances during the real case."""
    fake = _fake_nvml()
    from edgeprof.devices.nvidia import NvidiaGpu

    nvml = fake.FakeNvml([fake.FakeGpu(energy_period_s=0.02)], _real_clock(fake))
    (gpu,) = NvidiaGpu.open("/", nvml=nvml, clock=nvml.clock.monotonic, sleep=nvml.clock.sleep)
    case = build_cases([gguf_artifact(smollm2_gguf)], Axes(prompt=[16], gen=[16], threads=[1]),
                       device_for=lambda rt, pl: gpu.info().id, host="h")
    bench = Sweep(tmp_path / "run", "t", [gpu], Settings(reps=3, warmup=1, min_seconds=0, idle_s=0.5, sample_hz=50))
    rec = bench.run(case)[0].to_dict()
    gpu.close()
    assert rec["status"] == "ok" and rec["device"]["kind"] == "nvidia" and "H100" in rec["device"]["name"]
    prov = rec["metrics"]["energy_per_token_j"]["provenance"]
    assert prov["kind"] == "measured" and prov["source"] == "nvml_energy_counter" and prov["scope"] == "gpu_board"
    assert rec["metrics"]["avg_power_w"]["median"] == pytest.approx(73.0, rel=0.25)


def test_a_sweep_over_two_placements_measures_each_case_on_its_device(tmp_path, smollm2_gguf, monkeypatch):
    """-ngl 0,99 with a (fake-NVML) H100 present: the CPU case is sampled on the CPU, the GPU-layers
    case on the GPU, each with its own idle baseline; threads are recorded as the runtime used them.
    The llama.cpp here is a CPU build, which would keep the -ngl case on the CPU
    (tests/runtimes/test_gpu_offload.py): this routing test states a build that offloads."""
    from edgeprof.engine import device_choice

    monkeypatch.setattr(device_choice, "llama_offloads", lambda: True)
    fake = _fake_nvml()
    from edgeprof.devices.cpu import HostCpu, TdpSpec
    from edgeprof.devices.nvidia import NvidiaGpu

    nvml = fake.FakeNvml([fake.FakeGpu(energy_period_s=0.02)], _real_clock(fake))
    (gpu,) = NvidiaGpu.open("/", nvml=nvml, clock=nvml.clock.monotonic, sleep=nvml.clock.sleep)
    cpu = HostCpu.open("/", tdp=TdpSpec(10.0, None, 0.1, "test"))
    found = [gpu, cpu]
    cases = build_cases([gguf_artifact(smollm2_gguf)], Axes(prompt=[8], gen=[8], threads=[1], knobs={"gpu_layers": [0, 99]}),
                        device_for=lambda rt, pl: bench_device(found, pl).info().id, host="h")
    assert [c.device_id for c in cases] == [cpu.info().id, gpu.info().id]
    sweep = Sweep(tmp_path / "run", "t", found, Settings(reps=2, warmup=0, min_seconds=0, idle_s=0.3, sample_hz=20))
    recs = sweep.run(cases)
    gpu.close()
    assert [r.status for r in recs] == ["ok", "ok"], [r.error for r in recs]
    assert [r.device.kind for r in recs] == ["cpu", "nvidia"]
    assert recs[0].metric("avg_power_w") is not None, recs[0].warnings
    assert recs[0].metric("avg_power_w").provenance.source == "tdp_model"
    assert recs[1].metric("avg_power_w").provenance.source == "nvml_energy_counter"
    assert recs[1].get("sample_hz") == 20 and any("floor" in w for w in recs[1].warnings)  # counter read faster
    import json

    baseline = json.loads((tmp_path / "run" / "baseline.json").read_text())
    assert set(baseline["by_device"]) == {cpu.info().id, gpu.info().id}
    for r in recs:
        assert r.runtime.placement.threads == 1 and r.runtime.placement.threads_requested == 1
