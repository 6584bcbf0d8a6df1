"""NVIDIA discrete GPUs through NVML (nvidia-ml-py, imported lazily as ``pynvml``).

Energy rule: the total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``, mJ since the
driver loaded, Volta and newer) is the headline (``total=True``). Only where it is unsupported
does the power sensor (``nvmlDeviceGetPowerUsage``, mW) become the total, integrated by the
sampler. NVML documents that on Ampere (except GA100) and newer ``GetPowerUsage`` is a 1-second
average, so integrating it smears short phases: one more reason to prefer the counter.

The counter is not updated continuously: ``open`` measures its update period with fast reads
(< 0.5 s) and records it in ``info().specs['energy_counter_period_s']``;
the energy sensor's ``floor_hz`` (twice per update, at most ``MAX_FLOOR_HZ``; ``min_sample_hz()``
of the device) and ``window_warning`` (from ``_nvml``) turn it into a sampling floor and a warning
for windows that span only a few updates.

NVML is a library, not a file: it is never re-rooted (CONTRACTS.md). ``CUDA_VISIBLE_DEVICES`` is
honoured only through the ``visible=`` argument; this module never reads the environment.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from ._nvml import THROTTLE_BITS, Nvml, min_sample_hz, number, probe_counter_period, resolve_visible, window_warning
from .base import MEASURED, BaseDevice, DeviceInfo, NullSensor, Precision, Reading, Sensor, SensorInfo
from .errors import DeviceError, Unsupported
from .precision import NVML_ENERGY_SOURCE, NVML_POWER_SOURCE

__all__ = ["NvidiaGpu", "min_sample_hz", "window_warning"]

SCOPE = "gpu_board"
POWER_NOTE = ("nvmlDeviceGetPowerUsage: board power; a ~1 s average on Ampere (except GA100) and "
              "newer per the NVML reference, instantaneous on older GPUs")


class _NvmlSensor(Sensor):
    """A sensor bound to one NVML handle; ``_value`` returns the converted value."""

    def __init__(self, nvml: Nvml, handle: Any, info: SensorInfo):
        super().__init__(info)
        self.nvml, self.handle = nvml, handle

    def _read(self, t_ns: int) -> list[Reading]:
        return [self.reading(t_ns, self._value())]

    def _value(self) -> float | None:  # pragma: no cover - abstract
        raise NotImplementedError


class EnergyCounter(_NvmlSensor):
    """Board energy since the first read, from the mJ counter (64-bit: it does not wrap).
    Read at least twice per measured update period (``floor_hz``) whatever ``--sample-hz``."""

    def __init__(self, nvml: Nvml, handle: Any, tag: str, period_s: float | None):
        period = f"{period_s * 1e3:.0f} ms" if period_s else "unknown (> 0.4 s or not moving)"
        super().__init__(nvml, handle, SensorInfo(
            name=f"{tag}:energy", quantity="energy_j", source="nvml_energy_counter", scope=SCOPE,
            kind=MEASURED, total=True, floor_hz=_floor(period_s),
            precision=Precision(resolution=1e-3, update_period_s=period_s, source=NVML_ENERGY_SOURCE),
            note=f"nvmlDeviceGetTotalEnergyConsumption (mJ); update period {period}"))
        self._first_mj: int | None = None
        self._last_mj: int | None = None

    def _value(self) -> float:
        mj = int(number(self.nvml.call("nvmlDeviceGetTotalEnergyConsumption", self.handle), "energy (mJ)"))
        if mj < 0 or (self._last_mj is not None and mj < self._last_mj):
            raise ValueError(f"NVML energy counter went backwards or negative ({self._last_mj} -> {mj} mJ)")
        if self._first_mj is None:
            self._first_mj = mj
        self._last_mj = mj
        return (mj - self._first_mj) / 1e3


#: Highest sampling floor a counter may impose (a counter updating every 10 ms would otherwise ask
#: 200 Hz of a parent that spends ~0.25 ms per tick: the window warning covers shorter windows).
MAX_FLOOR_HZ = 50.0


def _floor(period_s: float | None) -> float | None:
    hz = min_sample_hz(period_s)
    return None if hz is None else min(hz, MAX_FLOOR_HZ)


class Power(_NvmlSensor):
    def _value(self) -> float:
        return number(self.nvml.call("nvmlDeviceGetPowerUsage", self.handle), "power (mW)") / 1e3


class MemoryUsed(_NvmlSensor):
    def _value(self) -> float:
        return number(getattr(self.nvml.call("nvmlDeviceGetMemoryInfo", self.handle), "used", None), "memory used")


class ProcessMemory(_NvmlSensor):
    """GPU memory of one process (the worker), from the compute-process list."""

    def __init__(self, nvml: Nvml, handle: Any, info: SensorInfo, pid: int):
        super().__init__(nvml, handle, info)
        self.pid = pid

    def _read(self, t_ns: int) -> list[Reading]:
        procs = self.nvml.call("nvmlDeviceGetComputeRunningProcesses", self.handle)
        try:
            mine = [p for p in procs if int(p.pid) == self.pid]
        except (TypeError, AttributeError, ValueError) as exc:
            raise ValueError(f"NVML returned a malformed process list: {exc}") from exc
        if not mine:
            return [self.reading(t_ns, None, reason=f"pid {self.pid} has no compute context on this GPU "
                                                    "(or lives in another PID namespace)")]
        used = [getattr(p, "usedGpuMemory", None) for p in mine]
        if any(u is None for u in used):
            return [self.reading(t_ns, None, reason="NVML does not report per-process memory here "
                                                    "(NVML_VALUE_NOT_AVAILABLE, e.g. Windows WDDM)")]
        return [self.reading(t_ns, sum(number(u, "process memory") for u in used))]


class Utilization(_NvmlSensor):
    """GPU and memory-controller busy fractions over NVML's last sample period (1/6 s to 1 s)."""

    def _read(self, t_ns: int) -> list[Reading]:
        u = self.nvml.call("nvmlDeviceGetUtilizationRates", self.handle)
        gpu, mem = (number(getattr(u, k, None), f"utilization.{k}") for k in ("gpu", "memory"))
        if not (0 <= gpu <= 100 and 0 <= mem <= 100):
            raise ValueError(f"NVML utilization outside 0-100 %: gpu {gpu}, memory {mem}")
        return [self.reading(t_ns, gpu / 100.0),
                self.reading(t_ns, mem / 100.0, name=f"{self.name.split(':')[0]}:memory_utilization",
                             note="fraction of time the memory controller was busy")]


class Clock(_NvmlSensor):
    def __init__(self, nvml: Nvml, handle: Any, info: SensorInfo, clock_type: int):
        super().__init__(nvml, handle, info)
        self.clock_type = clock_type

    def _value(self) -> float:
        return number(self.nvml.call("nvmlDeviceGetClockInfo", self.handle, self.clock_type), "clock (MHz)")


class Temperature(_NvmlSensor):
    def _value(self) -> float:
        sensor = self.nvml.const("NVML_TEMPERATURE_GPU", 0)
        return number(self.nvml.call("nvmlDeviceGetTemperature", self.handle, sensor), "temperature (C)")


class Throttle(_NvmlSensor):
    """1.0 while a power/thermal/hardware slowdown is active, 0.0 otherwise; reasons in the note."""

    NAMES = ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons")

    def _read(self, t_ns: int) -> list[Reading]:
        mask = int(number(self.nvml.call_any(self.NAMES, self.handle), "clocks event reasons"))
        active = [(name, counts) for bit, (name, counts) in THROTTLE_BITS.items() if mask & bit]
        throttled = any(counts for _, counts in active)
        note = f"reasons 0x{mask:x}: " + (", ".join(n for n, _ in active) or "none")
        return [self.reading(t_ns, 1.0 if throttled else 0.0, note=note)]


# --------------------------------------------------------------------------- the device
class NvidiaGpu(BaseDevice):
    kind = "nvidia"

    @staticmethod
    def is_available(root: Path | str = "/", *, nvml: Any | None = None) -> bool:
        """True when NVML initialises and reports at least one GPU (never on Jetson/Tegra)."""
        try:
            lib = Nvml(nvml)
            lib.call("nvmlInit")
            try:
                return int(lib.call("nvmlDeviceGetCount")) > 0
            finally:
                lib.call("nvmlShutdown")
        except DeviceError:
            return False

    @classmethod
    def open(cls, root: Path | str = "/", *, nvml: Any | None = None, visible: str | None = None,
             pid: int | None = None, probe_budget_s: float = 0.4,
             clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> list["NvidiaGpu"]:
        """One device per GPU that CUDA will see (``visible`` = the caller's CUDA_VISIBLE_DEVICES)."""
        lib = Nvml(nvml)
        lib.call("nvmlInit")
        devices: list[NvidiaGpu] = []
        try:
            count = int(lib.call("nvmlDeviceGetCount"))
            handles = [lib.call("nvmlDeviceGetHandleByIndex", i) for i in range(count)]
            uuids = [lib.text(lib.call("nvmlDeviceGetUUID", h)) for h in handles]
            for ordinal, idx in enumerate(resolve_visible(visible, uuids)):
                info = _identity(lib, handles[idx], idx, uuids[idx])
                info.specs["cuda_ordinal"] = ordinal
                sensors = _sensors(lib, handles[idx], f"nvidia{idx}", info, pid, probe_budget_s, clock, sleep)
                lib.call("nvmlInit")  # NVML is reference counted: one init per device, released by close()
                devices.append(cls(info, sensors, lib, handles[idx]))
        except DeviceError:
            for d in devices:
                d.close()
            raise
        finally:
            lib.call("nvmlShutdown")  # the enumeration's own reference
        return devices

    def __init__(self, info: DeviceInfo, sensors: list[Sensor], nvml: Nvml | None = None, handle: Any = None):
        super().__init__(info, sensors)
        self._nvml, self._handle = nvml, handle
        self._closed = False

    def nvml_handle(self) -> tuple[Nvml | None, Any]:
        """The NVML library and this GPU's handle, for the power-limit knob (devices/knobs)."""
        return self._nvml, self._handle

    def process_sensor(self, pid: int) -> Sensor:
        """GPU memory of one process, for a worker started after the device was opened."""
        tag = f"nvidia{self._info.specs['nvml_index']}"
        return ProcessMemory(self._nvml, self._handle, SensorInfo(
            name=f"{tag}:process_memory", quantity="memory_used_bytes", source="nvml_compute_processes",
            scope="process", kind=MEASURED, read_period_s=0.5, note=f"pid {pid}"), pid)

    @property
    def energy_counter_period_s(self) -> float | None:
        return self._info.specs.get("energy_counter_period_s")

    def window_warning(self, window_s: float, min_updates: int = 5) -> str | None:
        return window_warning(window_s, self.energy_counter_period_s, min_updates)

    def close(self) -> None:
        super().close()
        if self._nvml is not None and not self._closed:
            self._closed = True
            try:
                self._nvml.call("nvmlShutdown")
            except DeviceError:
                pass  # already shut down or the GPU is gone: nothing left to release


def _optional(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except DeviceError:
        return None


def _identity(lib: Nvml, handle: Any, idx: int, uuid: str) -> DeviceInfo:
    name = lib.text(lib.call("nvmlDeviceGetName", handle))
    mem = _optional(lambda: int(lib.call("nvmlDeviceGetMemoryInfo", handle).total))
    cuda = _optional(lambda: int(lib.call("nvmlSystemGetCudaDriverVersion")))
    limit_mw = _optional(lambda: lib.call("nvmlDeviceGetEnforcedPowerLimit", handle))
    cc = _optional(lambda: lib.call("nvmlDeviceGetCudaComputeCapability", handle))
    sms = _optional(lambda: int(lib.call("nvmlDeviceGetAttributes", handle).multiprocessorCount))
    specs: dict[str, Any] = {
        "uuid": uuid, "nvml_index": idx,
        "driver_version": _optional(lambda: lib.text(lib.call("nvmlSystemGetDriverVersion"))),
        "cuda_driver_version": f"{cuda // 1000}.{cuda % 1000 // 10}" if cuda else None,
        "power_limit_w": limit_mw / 1e3 if limit_mw is not None else None,
        "compute_capability": f"{cc[0]}.{cc[1]}" if cc else None,
        "pci_bus_id": _optional(lambda: lib.text(lib.call("nvmlDeviceGetPciInfo", handle).busId)),
    }
    if sms:  # NVML exposes the SM count only through MIG attributes; omitted when absent
        specs["sm_count"] = sms
    return DeviceInfo(id=f"nvidia{idx}:{uuid}", kind="nvidia", name=name, memory_bytes=mem, specs=specs)


def power_averaging_s(info: DeviceInfo) -> float | None:
    """1.0 on Ampere except GA100 (compute capability > 8.0) and newer, per the NVML reference for
    nvmlDeviceGetPowerUsage; 0 (instantaneous) on older GPUs; None when the capability is unknown."""
    cc = info.specs.get("compute_capability")
    try:
        major, minor = (int(x) for x in str(cc).split(".")[:2])
    except ValueError:
        return None
    return 1.0 if (major, minor) > (8, 0) else 0.0


def _probe(sensor: Sensor) -> Sensor:
    """Read once at open: an unsupported query becomes a NullSensor that says so."""
    try:
        sensor._read(time.monotonic_ns())
    except Unsupported as exc:
        return NullSensor(sensor.name, sensor.info.quantity, sensor.info.source, sensor.info.scope,
                          reason=str(exc), hint=exc.hint)
    except (DeviceError, ValueError):
        pass  # permission, transient trouble or a malformed value: keep it; each read says why
    return sensor


def _sensors(lib: Nvml, h: Any, tag: str, info: DeviceInfo, pid: int | None, budget_s: float,
             clock: Callable[[], float], sleep: Callable[[float], None]) -> list[Sensor]:
    def si(name: str, quantity: str, source: str, scope: str = SCOPE, note: str = "", total=False,
           read_period_s: float | None = None, precision: Precision | None = None):
        return SensorInfo(name=f"{tag}:{name}", quantity=quantity, source=source, scope=scope,
                          kind=MEASURED, note=note, total=total, read_period_s=read_period_s,
                          precision=precision)

    period = None
    try:
        lib.call("nvmlDeviceGetTotalEnergyConsumption", h)
        period = probe_counter_period(lambda: lib.call("nvmlDeviceGetTotalEnergyConsumption", h),
                                      budget_s=budget_s, clock=clock, sleep=sleep)
        energy: Sensor = EnergyCounter(lib, h, tag, period)
    except DeviceError as exc:
        energy = NullSensor(f"{tag}:energy", "energy_j", "nvml_energy_counter", SCOPE,
                            reason=f"energy counter unavailable ({exc}); power sampling is the total",
                            hint="the counter needs a Volta or newer GPU")
    info.specs["energy_counter_period_s"] = period
    info.specs["min_sample_hz"] = _floor(period)
    info.specs["energy_source"] = "nvml_energy_counter" if energy.available else "nvml_power (integrated)"
    power = Power(lib, h, si("power", "power_w", "nvml_power", note=POWER_NOTE, total=not energy.available,
                             precision=Precision(resolution=1e-3, averaging_s=power_averaging_s(info),
                                                 accuracy=5.0, source=NVML_POWER_SOURCE)))
    sm = lib.const("NVML_CLOCK_SM", 1)
    mem_clock = lib.const("NVML_CLOCK_MEM", 2)
    # read periods: levels that move over tenths of a second or slower (a choice, not published;
    # NVML's utilization sample period is 1/6 s to 1 s per its reference)
    candidates: list[Sensor] = [
        power,
        MemoryUsed(lib, h, si("memory_used", "memory_used_bytes", "nvml_memory", read_period_s=0.25)),
        Utilization(lib, h, si("utilization", "utilization", "nvml_utilization", read_period_s=1 / 6,
                               note="fraction of time a kernel was running")),
        Clock(lib, h, si("clock_sm", "clock_mhz", "nvml_clock", read_period_s=0.5), sm),
        Clock(lib, h, si("clock_mem", "clock_mhz", "nvml_clock", read_period_s=0.5), mem_clock),
        Temperature(lib, h, si("temperature", "temperature_c", "nvml_temperature", read_period_s=1.0)),
        Throttle(lib, h, si("throttled", "throttled", "nvml_clocks_event_reasons", read_period_s=0.5)),
    ]
    if pid is not None:
        candidates.append(ProcessMemory(lib, h, si("process_memory", "memory_used_bytes",
                                                   "nvml_compute_processes", scope="process",
                                                   read_period_s=0.5, note=f"pid {pid}"), pid))
    return [energy] + [_probe(s) for s in candidates]
