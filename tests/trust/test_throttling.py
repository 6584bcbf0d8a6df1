"""``throttled`` with its evidence in the row: from throttle readings as the device adapters write
them, and from fixture trees (devices/throttle.py) whose throttle counter rises or whose thermal
zone reaches its trip point while a case is sampled."""
from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import SimpleNamespace


from edgeprof.devices.base import Reading
from edgeprof.devices.cpu import HostCpu
from edgeprof.analysis.throttling import throttle_state, throttle_warning
from edgeprof.engine.sampler import Sample, Sampler
from edgeprof.results.printers import machine_cell
from edgeprof.results.schema import Record

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _sample(t, value, note="", reason=None, sensor="cpu:throttled"):
    return Sample(t, (Reading(sensor, "throttled", value, t, "thermal_throttle counters + cpufreq", "cpu_package",
                              note=note, reason=reason),))


def test_a_rising_counter_makes_the_case_throttled_with_its_evidence():
    samples = [_sample(1, None, reason="warming up: throttle counters need a previous read"),
               _sample(2, 0.0, "no throttle counter rose; clock not below base under load"),
               _sample(3, 1.0, "thermal throttle counter(s) rose: cpu1 core_throttle_count +3"),
               _sample(4, 0.0, "no throttle counter rose; clock not below base under load")]
    throttled, ev = throttle_state(samples)
    assert throttled is True and ev["status"] == "throttled" and ev["readings"] == "1 of 3 readings said throttled"
    assert ev["evidence"] == ["cpu:throttled: thermal throttle counter(s) rose: cpu1 core_throttle_count +3"]
    assert "cpu1 core_throttle_count +3" in throttle_warning(ev)
    rec = Record("c", extra={"throttled": True, "load": {"status": "quiet"}})
    assert machine_cell(rec) == "quiet, THROTTLED"


def test_not_throttled_and_unknown_say_why():
    throttled, ev = throttle_state([_sample(2, 0.0, "no zone at a trip point; clocks at the mode's ceiling",
                                            sensor="soc:throttled")])
    assert throttled is False and ev["evidence"] == ["soc:throttled: no zone at a trip point; clocks at the mode's ceiling"]
    assert throttle_warning(ev) is None
    # a VM: the adapter reports the throttle sensor as unavailable, with the reason
    info = SimpleNamespace(name="cpu:throttled", quantity="throttled", available=False,
                           reason="no thermal_throttle counters (Intel only) and no cpufreq base frequency")
    throttled, ev = throttle_state([], [info])
    assert throttled is None and ev["status"] == "unknown" and "no thermal_throttle counters" in ev["evidence"][0]
    assert throttle_state([])[1]["evidence"] == ["no throttle sensor on this device"]


def _boards():
    if "fx_boards" not in sys.modules:
        spec = importlib.util.spec_from_file_location("fx_boards", FIXTURES / "boards.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["fx_boards"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["fx_boards"]


def test_throttle_counter_in_a_fixture_tree_reaches_the_row(tmp_path):

    fx = _boards()
    root = fx.build(tmp_path, "rapl-2socket")
    dev = HostCpu.open(root)
    sensors = [s for s in dev.sensors() if s.info.quantity == "throttled"]
    assert sensors and sensors[0].available
    with Sampler(sensors, 20) as sampler:
        t0 = time.monotonic_ns()
        time.sleep(1.2)                                   # the sensor reads at most once a second
        fx.set_throttle_count(root, 1, "core", 3)
        time.sleep(1.2)
        window = sampler.window(t0, time.monotonic_ns())
    dev.close()
    throttled, ev = throttle_state(window, [s.info for s in dev.sensors()])
    assert throttled is True and any("cpu1 core_throttle_count +3" in e for e in ev["evidence"])
