"""edgeprof.devices.check: two reads, one verdict per reading (ok / unavailable / stale / implausible /
disagrees)."""
from __future__ import annotations

from fx_boards import set_energy
from fx_fake_nvml import FakeClock, FakeGpu, FakeNvml

from edgeprof.devices.base import BaseDevice, DeviceInfo, Sensor, SensorInfo
from edgeprof.devices.check import DISAGREES, IMPLAUSIBLE, OK, STALE, UNAVAILABLE, Verdict, check
from edgeprof.devices.cpu import HostCpu
from edgeprof.devices.jetson import JetsonBoard
from edgeprof.devices.nvidia import NvidiaGpu


def verdicts(vs):
    return {v.sensor: v for v in vs}


class Scripted(Sensor):
    """Returns the next scripted value on each read."""

    def __init__(self, name, quantity, values, scope="gpu_board"):
        super().__init__(SensorInfo(name=name, quantity=quantity, source="test", scope=scope))
        self.values = iter(values)

    def _read(self, t_ns):
        return [self.reading(t_ns, next(self.values))]


class Clock:
    def __init__(self):
        self.ns = 0

    def __call__(self):
        return self.ns

    def sleep(self, s):
        self.ns += int(s * 1e9)


def run(sensors, gap=0.5, **kw):
    dev = BaseDevice(DeviceInfo(id="t0:x", kind="cpu", name="t"), sensors)
    clock = Clock()
    return verdicts(check(dev, gap, sleep=clock.sleep, clock_ns=clock, **kw))


def test_counter_moving_and_agreeing_with_power_is_ok():
    v = run([Scripted("e", "energy_j", [0.0, 50.0]), Scripted("p", "power_w", [99.0, 101.0])])
    assert v["e"].status == OK and "agrees" in v["e"].detail and "100 W" in v["e"].detail
    assert v["p"].status == OK


def test_counter_disagreeing_with_power_sensor():
    v = run([Scripted("e", "energy_j", [0.0, 50.0]), Scripted("p", "power_w", [40.0, 40.0])])
    assert v["e"].status == DISAGREES and "100 W vs p 40 W" in v["e"].detail and v["e"].hint


def test_power_of_another_scope_is_not_compared():
    v = run([Scripted("e", "energy_j", [0.0, 50.0]), Scripted("p", "power_w", [40.0, 40.0], scope="rail")])
    assert v["e"].status == OK and "no power sensor of scope gpu_board" in v["e"].detail


def test_stale_backwards_and_out_of_range():
    v = run([Scripted("e", "energy_j", [5.0, 5.0]), Scripted("b", "energy_j", [5.0, 4.0]),
             Scripted("u", "utilization", [0.5, 1.7]), Scripted("t", "temperature_c", [40.0, 400.0])])
    assert v["e"].status == STALE and "did not move in 0.50 s" in v["e"].detail
    assert v["b"].status == IMPLAUSIBLE and "backwards" in v["b"].detail
    assert v["u"].status == IMPLAUSIBLE and v["t"].status == IMPLAUSIBLE


def test_unavailable_carries_reason_and_hint(tmp_path):
    dev = HostCpu.open(tmp_path)  # empty tree: no RAPL, no TDP
    clock = Clock()
    v = verdicts(check(dev, 0.1, sleep=clock.sleep, clock_ns=clock))
    assert v["rapl:package"].status == UNAVAILABLE and "no RAPL" in v["rapl:package"].detail
    assert "CVE-2020-8694" in v["rapl:package"].hint
    d = v["rapl:package"].to_dict()
    assert set(d) == {"sensor", "quantity", "status", "value", "unit", "source", "kind", "detail", "hint"}


def test_rapl_counter_advanced_during_the_gap(board):
    root = board("rapl-2socket")
    dev = HostCpu.open(root)
    clock = Clock()

    def sleep(s):
        clock.sleep(s)
        set_energy(root, "intel-rapl:1", 7_000_000 + 10_000_000)   # +10 J in 0.5 s = 20 W

    v = verdicts(check(dev, 0.5, sleep=sleep, clock_ns=clock))
    assert v["rapl:package"].status == OK and "derived power 20 W" in v["rapl:package"].detail
    assert v["rapl:package-0"].status == STALE and v["rapl:package-1"].status == OK


def test_nvidia_counter_vs_power():
    nvml = FakeNvml([FakeGpu(energy_period_s=0.02)], FakeClock())
    (dev,) = NvidiaGpu.open("/", nvml=nvml, clock=nvml.clock.monotonic, sleep=nvml.clock.sleep)
    clock_ns = lambda: int(nvml.clock.now * 1e9)  # noqa: E731
    v = verdicts(check(dev, 1.0, sleep=nvml.clock.sleep, clock_ns=clock_ns))
    assert v["nvidia0:energy"].status == OK and "agrees" in v["nvidia0:energy"].detail
    nvml.nvmlDeviceGetPowerUsage = lambda h: 300_000   # power sensor says 300 W, the counter 73 W
    v = verdicts(check(dev, 1.0, sleep=nvml.clock.sleep, clock_ns=clock_ns))
    assert v["nvidia0:energy"].status == DISAGREES


def test_jetson_rails_and_missing_debugfs(board):
    dev = JetsonBoard.open(board("agx-orin-jp5"))
    v = verdicts(check(dev, 0.0, sleep=lambda s: None))
    assert all(v[n].status == OK for n in v if n.startswith("ina3221:"))
    assert v["emc:clock"].status == UNAVAILABLE and v["emc:clock"].hint
    assert all(isinstance(x, Verdict) for x in v.values())


def test_a_windowed_sensor_is_judged_on_its_second_read(tmp_path):
    """The CPU utilization has no window on the first read (warming up): --check judges the second."""
    from fx_boards import cpuinfo, meminfo

    cpuinfo(tmp_path, "Test CPU", 2)
    meminfo(tmp_path, 8_000_000, 6_000_000)
    dev = HostCpu.open(tmp_path)
    by = {v.sensor: v for v in check(dev, read_twice_gap_s=0.3)}
    assert by["cpu:utilization"].status == "ok" and 0 <= by["cpu:utilization"].value <= 1
