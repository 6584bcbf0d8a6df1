"""The sampler reads each sensor on its own period: ``--sample-hz`` slowed to the sensor's
``read_period_s`` and sped up to its ``floor_hz`` (devices/base.py ``SensorInfo.period_s``), in one
wake-up per tick, and a sample holds only what was read at that tick."""
from __future__ import annotations

import time

import pytest

from edgeprof.devices.base import MEASURED, Sensor, SensorInfo
from edgeprof.engine.sampler import Sampler


class Counting(Sensor):
    def __init__(self, name: str, read_period_s: float | None = None, floor_hz: float | None = None):
        super().__init__(SensorInfo(name=name, quantity="power_w", source="test", scope="test", kind=MEASURED,
                                    read_period_s=read_period_s, floor_hz=floor_hz))
        self.times: list[int] = []

    def _read(self, t_ns: int):
        self.times.append(t_ns)
        return [self.reading(t_ns, 1.0)]


def test_period_rule():
    si = SensorInfo(name="x", quantity="power_w", source="t", scope="t", read_period_s=0.25)
    assert si.period_s(20) == 0.25 and si.period_s(2) == 0.5            # slower of the two
    fl = SensorInfo(name="y", quantity="energy_j", source="t", scope="t", floor_hz=20.0)
    assert fl.period_s(5) == pytest.approx(0.05) and fl.period_s(100) == pytest.approx(0.01)


def test_each_sensor_on_its_own_period():
    fast, slow, second = Counting("fast"), Counting("slow", read_period_s=0.25), Counting("temp", read_period_s=1.0)
    smp = Sampler([fast, slow, second], hz=40)
    with smp:
        time.sleep(1.2)
    n = len(smp.buffer)
    assert 40 <= n <= 52                                  # one wake-up per tick at 40 Hz
    assert len(fast.times) == n
    assert 4 <= len(slow.times) <= 6 and 1 <= len(second.times) <= 2
    gaps = [(b - a) / 1e9 for a, b in zip(slow.times, slow.times[1:])]
    assert all(0.2 <= g <= 0.3 for g in gaps), gaps
    ticks_with_slow = [s for s in smp.buffer if any(r.sensor == "slow" for r in s.readings)]
    assert len(ticks_with_slow) == len(slow.times)        # no value repeated on the other ticks
    assert all(t in {s.t_ns for s in smp.buffer} for t in slow.times)   # read AT a tick: no extra wake-up


def test_a_floor_raises_the_rate_for_that_sensor():
    counter, level = Counting("counter", floor_hz=20.0), Counting("level", read_period_s=0.5)
    smp = Sampler([counter, level], hz=4)
    with smp:
        time.sleep(1.0)
    assert 17 <= len(counter.times) <= 23                 # twice per 100 ms update, though --sample-hz 4
    assert 2 <= len(level.times) <= 3


def test_sample_once_reads_everything():
    a, b = Counting("a"), Counting("b", read_period_s=10.0)
    smp = Sampler([a, b], hz=0)
    for _ in range(3):
        smp.sample_once()
    assert len(a.times) == len(b.times) == 3


def test_a_floor_does_not_speed_up_the_worker_tree():
    """A sensor's floor ticks faster; the worker's process tree stays at --sample-hz."""
    import os

    counter = Counting("counter", floor_hz=25.0)
    smp = Sampler([counter], hz=5)
    smp.attach(os.getpid())
    with smp:
        time.sleep(1.0)
    smp.detach()
    rss_ticks = [s for s in smp.buffer if any(r.sensor == "worker:rss" for r in s.readings)]
    assert 20 <= len(counter.times) <= 28 and 4 <= len(rss_ticks) <= 7
