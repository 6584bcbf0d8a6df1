"""Fuzzing the sensor parsers (issue 12, item 7): whatever a device file, powermetrics or NVML
hands over, a read returns readings — finite values, or None with a reason — and a parser raises
nothing but its own error type. Bounded: each test caps its examples, all of them together run in
well under 15 s (no deadline: file writes are slow on a loaded machine).

Inputs: arbitrary bytes in RAPL ``energy_uj``, INA3221 hwmon ``inK_input``/``currK_input`` and
IIO ``in_powerN_input`` files of the fixture trees; arbitrary and mutated powermetrics plist
streams (the M2 fixture); arbitrary values and error codes returned by the fake NVML; arbitrary
/proc/stat and /proc/meminfo content.
"""
from __future__ import annotations

import math
import plistlib
from pathlib import Path

import pytest
from fx_boards import build, write
from fx_fake_nvml import FakeClock, FakeGpu, FakeNvml, NVMLError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edgeprof.devices import _powermetrics as pm
from edgeprof.devices.apple import _clusters_mhz, _gpu_busy, _gpu_freq_mhz
from edgeprof.devices.cpu import HostCpu, meminfo_keys
from edgeprof.devices.jetson import JetsonBoard
from edgeprof.devices.load import parse_cpu_line
from edgeprof.devices.nvidia import NvidiaGpu
from edgeprof.devices.sysfs import parse_int

FUZZ = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
RAW = st.one_of(st.binary(max_size=80), st.integers(min_value=-(10**30), max_value=10**30).map(lambda i: str(i).encode()),
                st.sampled_from([b"", b"\n", b"nan", b"inf", b"-1", b"0x10", b"1e9", b"\x00\xff", b"18446744073709551616",
                                 b"  42 kB\n", b"4294967295\n"]))


def assert_honest(readings):
    assert readings, "a read returns at least one reading"
    for r in readings:
        if r.value is None:
            assert r.reason, r
        else:
            assert isinstance(r.value, float) or isinstance(r.value, int)
            assert math.isfinite(r.value), r


@pytest.fixture(scope="module")
def rapl_tree(tmp_path_factory):
    root = build(tmp_path_factory.mktemp("rapl"), "rapl-2socket")
    rapl = next(s for s in HostCpu.open(root).sensors() if s.name == "rapl:package")
    return root, rapl


@FUZZ
@given(raw=RAW)
def test_rapl_energy_uj(rapl_tree, raw):
    root, rapl = rapl_tree
    write(root, "/sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/energy_uj", raw)
    rs = rapl.read(1)
    assert_honest(rs)
    if rs[0].value is not None:
        assert rs[0].value >= 0   # unwrapped counters never go below their start


@pytest.fixture(scope="module")
def rails(tmp_path_factory):
    orin = build(tmp_path_factory.mktemp("orin"), "orin-nano-jp6")
    xnx = build(tmp_path_factory.mktemp("xnx"), "xavier-nx-jp4")
    return (orin, JetsonBoard.open(orin, nvpmodel=None).total_power_sensor(),
            xnx, JetsonBoard.open(xnx, nvpmodel=None).total_power_sensor())


@FUZZ
@given(volt=RAW, curr=RAW, power=RAW)
def test_ina3221_hwmon_and_iio(rails, volt, curr, power):
    orin, hwmon, xnx, iio = rails
    d = "/sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040/hwmon/hwmon1"
    write(orin, f"{d}/in1_input", volt)
    write(orin, f"{d}/curr1_input", curr)
    write(xnx, "/sys/bus/i2c/drivers/ina3221x/7-0040/iio:device0/in_power0_input", power)
    assert_honest(hwmon.read(1))
    assert_honest(iio.read(1))


@settings(max_examples=300, deadline=None, database=None)
@given(raw=st.one_of(st.binary(max_size=64), st.text(max_size=64)))
def test_parse_int_only_raises_value_error(raw):
    try:
        v = parse_int(raw, "/x")
    except ValueError:
        return
    assert isinstance(v, int) and abs(v) <= 2 ** 64


@settings(max_examples=300, deadline=None, database=None)
@given(raw=st.one_of(st.binary(max_size=200), st.lists(st.integers(-5, 10**20), max_size=12).map(
    lambda xs: ("cpu  " + " ".join(map(str, xs)) + "\ncpu0 1\n").encode())))
def test_proc_stat_and_meminfo(raw):
    try:
        t = parse_cpu_line(raw)
        assert t.busy_s >= 0 and t.idle_s >= 0 and t.steal_s >= 0
    except ValueError:
        pass
    try:
        got = meminfo_keys(raw, (b"MemTotal:", b"MemAvailable:"))
        assert all(isinstance(v, int) and v >= 0 for v in got.values())
    except ValueError:
        pass


PLIST_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
              st.text(max_size=8), st.binary(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.sampled_from(["processor", "gpu", "clusters", "name", "freq_hz",
                                                             "idle_ratio", "elapsed_ns", "cpu_power", "gpu_power",
                                                             "ane_power", "combined_power", "cpu_energy",
                                                             "gpu_energy", "ane_energy"]), inner, max_size=6)),
    max_leaves=20)


@settings(max_examples=300, deadline=None, database=None)
@given(sample=PLIST_VALUES)
def test_powermetrics_values_of_any_shape(sample):
    for part in ("cpu", "gpu", "ane", "combined"):
        v = pm.power_w(sample if isinstance(sample, dict) else {"processor": sample}, part)
        assert v is None or (math.isfinite(v) and v >= 0)
    for fn in (pm.energy_j, _gpu_freq_mhz, _gpu_busy):
        v = fn(sample if isinstance(sample, dict) else {})
        assert v is None or math.isfinite(v)
    clusters = _clusters_mhz(sample if isinstance(sample, dict) else {})
    assert all(math.isfinite(mhz) for _, mhz in clusters)


PM_FIXTURE = (Path(__file__).resolve().parents[1] / "fixtures" / "apple" / "powermetrics_m2_macos14.plist").read_bytes()


@settings(max_examples=150, deadline=None, database=None)
@given(data=st.data())
def test_powermetrics_stream_mutated_and_arbitrary(data):
    raw = bytearray(PM_FIXTURE)
    for _ in range(data.draw(st.integers(0, 8))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, 4096))
    chunks = [bytes(raw[i:i + cut]) for i in range(0, len(raw), cut)] + [data.draw(st.binary(max_size=64))]
    for sample in pm.parse_stream(chunks):
        assert isinstance(sample, dict)
        for part in ("cpu", "gpu", "ane", "combined"):
            v = pm.power_w(sample, part)
            assert v is None or math.isfinite(v)
        e = pm.energy_j(sample)
        assert e is None or math.isfinite(e)


def test_a_binary_or_non_dict_plist_is_skipped():
    docs = [plistlib.dumps({"a": 1}, fmt=plistlib.FMT_BINARY), plistlib.dumps([1, 2]), b"<plist><dict>"]
    assert list(pm.parse_stream([b"\x00".join(docs)])) == []


NVML_VALUE = st.one_of(st.none(), st.booleans(), st.text(max_size=6), st.floats(allow_nan=True, allow_infinity=True),
                       st.integers(-(2**80), 2**80), st.just(b"73000"), st.builds(object))


class ValueNvml(FakeNvml):
    """The fake NVML (H100 answers) whose getters return whatever the test sets, or raise an
    NVMLError with an arbitrary code."""

    def __init__(self):
        super().__init__([FakeGpu()], FakeClock())
        self.value, self.error = None, None

    def _answer(self):
        if self.error is not None:
            raise NVMLError(self.error)
        return self.value

    def nvmlDeviceGetPowerUsage(self, h):
        return self._answer()

    def nvmlDeviceGetTemperature(self, h, sensor):
        return self._answer()

    def nvmlDeviceGetClockInfo(self, h, kind):
        return self._answer()

    def nvmlDeviceGetCurrentClocksEventReasons(self, h):
        return self._answer()

    def nvmlDeviceGetUtilizationRates(self, h):
        from types import SimpleNamespace

        v = self._answer()
        return SimpleNamespace(gpu=v, memory=v)

    def nvmlDeviceGetMemoryInfo(self, h):
        from types import SimpleNamespace

        return SimpleNamespace(total=80 * 2**30, used=self._answer(), free=0) if self.value is not None or \
            self.error is not None else super().nvmlDeviceGetMemoryInfo(h)


@pytest.fixture(scope="module")
def nvml_gpu():
    nvml = ValueNvml()
    nvml.value = 1000
    (dev,) = NvidiaGpu.open("/", nvml=nvml, clock=nvml.clock.monotonic, sleep=nvml.clock.sleep)
    energy = next(s for s in dev.sensors() if s.name == "nvidia0:energy")
    return nvml, dev, energy


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=NVML_VALUE, error=st.one_of(st.none(), st.integers(0, 1000)))
def test_nvml_values_and_errors(nvml_gpu, value, error):
    nvml, dev, energy = nvml_gpu
    nvml.value, nvml.error = value, error
    for s in dev.sensors():
        if s.available and s is not energy and s.info.quantity != "energy_j":
            assert_honest(s.read(1))
    real = FakeNvml.nvmlDeviceGetTotalEnergyConsumption
    try:
        FakeNvml.nvmlDeviceGetTotalEnergyConsumption = lambda self, h: self._answer()
        assert_honest(energy.read(1))
    finally:
        FakeNvml.nvmlDeviceGetTotalEnergyConsumption = real
