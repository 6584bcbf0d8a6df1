"""devices: WHERE a model runs. Detect hardware and read its sensors; knows nothing of models.

``detect(root)`` tries each adapter's cheap ``is_available(root)`` in a fixed order and opens
the ones present. The host CPU is always there. Vendor SDKs are imported inside adapters only.
"""
from __future__ import annotations

from pathlib import Path

from .base import (DERIVED, ESTIMATED, MEASURED, SPEC, VANISHED, WARMING_UP, BaseDevice, Device, DeviceInfo,
                   NullSensor, Precision, Reading, Sensor, SensorInfo)
from .cpu import HostCpu, TdpSpec
from .errors import DeviceError, DeviceLost, NoPermission, NotPresent, Unsupported
from .sysfs import FileReader

__all__ = [
    "DERIVED", "ESTIMATED", "MEASURED", "SPEC", "VANISHED", "WARMING_UP", "BaseDevice", "Device", "DeviceInfo",
    "NullSensor", "Precision", "Reading", "Sensor", "SensorInfo", "HostCpu", "TdpSpec", "DeviceError", "DeviceLost",
    "NoPermission", "NotPresent", "Unsupported", "FileReader", "detect", "ADAPTERS",
]


def _adapters() -> list[tuple[str, str]]:
    """(module, class) in detection order; modules are imported only when probed."""
    return [
        ("edgeprof.devices.nvidia", "NvidiaGpu"),
        ("edgeprof.devices.jetson", "JetsonBoard"),
        ("edgeprof.devices.apple", "AppleSoc"),
        ("edgeprof.devices.amd", "AmdGpu"),
    ]


ADAPTERS = _adapters()


def detect(root: Path | str = "/", *, cpu_tdp: TdpSpec | None = None, **options) -> list[Device]:
    """Devices present under ``root``: accelerators first (in ADAPTERS order), then the host CPU.

    ``options`` are passed to adapters that accept them (e.g. injected ``nvml=`` or
    ``powermetrics=`` readers in tests). An adapter module that is not there yet is skipped.
    """
    import importlib

    root = Path(root)
    found: list[Device] = []
    for mod_name, cls_name in ADAPTERS:
        try:
            mod = importlib.import_module(mod_name)
        except ModuleNotFoundError as exc:
            if exc.name == mod_name:
                continue
            raise
        cls = getattr(mod, cls_name)
        if cls.is_available(root, **_accepted(cls.is_available, options)):
            found.extend(_as_list(cls.open(root, **_accepted(cls.open, options))))
    found.append(HostCpu.open(root, tdp=cpu_tdp, covered_by=_board_total(found)))
    return found


def _board_total(found: list[Device]) -> str | None:
    """The measured total of a board whose power includes the host CPU (a Jetson's VDD_IN, an
    Apple SoC's package): the CPU then gets no TDP estimate listed as a second total."""
    for d in found:
        if getattr(d, "covers_host_cpu", False):
            s = d.total_power_sensor()
            if s is not None and s.available and s.info.kind == MEASURED:
                return s.info.name
    return None


def _accepted(func, options: dict) -> dict:
    import inspect

    params = inspect.signature(func).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return dict(options)
    return {k: v for k, v in options.items() if k in params}


def _as_list(x) -> list:
    return list(x) if isinstance(x, (list, tuple)) else [x]
