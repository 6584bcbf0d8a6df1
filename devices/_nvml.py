"""NVML plumbing for ``devices/nvidia.py``: one error table, ``CUDA_VISIBLE_DEVICES`` resolution
and the energy counter's update-period probe.

Why a wrapper and not ``pynvml`` calls sprinkled around (zeus ``device/gpu/nvidia.py``, STYLE Z4):
every NVML call goes through ``Nvml.call``, whose decorator maps NVML return codes through ONE
table to ``devices.errors`` types, so nothing above this file ever catches ``pynvml.NVMLError``.
The library object is injected (tests pass a fake reconstructed from the NVML API reference); the
real ``pynvml`` is imported lazily, inside ``load()``.
"""
from __future__ import annotations

import functools
import statistics
import time
from typing import Any, Callable

from .errors import DeviceError, DeviceLost, NoPermission, NotPresent, Unsupported

# nvmlReturn_t values (NVML API reference, "Error reporting"; identical in every nvml.h since 2012).
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_GPU_IS_LOST = 15

#: The one translation table: NVML return code -> (our error type, hint).
ERRORS: dict[int, tuple[type[DeviceError], str | None]] = {
    NVML_ERROR_NOT_SUPPORTED: (Unsupported, "this GPU or driver does not offer the measurement"),
    NVML_ERROR_FUNCTION_NOT_FOUND: (Unsupported, "the installed driver's NVML lacks this function; "
                                                 "update the NVIDIA driver"),
    NVML_ERROR_NO_PERMISSION: (NoPermission, "run as root or ask the admin to allow the query"),
    NVML_ERROR_GPU_IS_LOST: (DeviceLost, "the GPU fell off the bus; check dmesg (Xid) and reset it"),
    NVML_ERROR_LIBRARY_NOT_FOUND: (NotPresent, "install the NVIDIA driver (libnvidia-ml.so.1)"),
    NVML_ERROR_DRIVER_NOT_LOADED: (NotPresent, "load the NVIDIA kernel driver (nvidia-smi must work)"),
}

#: Clock event ("throttle") reason bits (nvml.h ``nvmlClocksEventReason*``, formerly
#: ``nvmlClocksThrottleReason*``). Only the ones that mean "slowed down against your will" set
#: ``throttled``; idle, application clocks, sync boost and display settings are reported in the
#: note but do not count.
THROTTLE_BITS: dict[int, tuple[str, bool]] = {
    0x1: ("gpu_idle", False),
    0x2: ("applications_clocks_setting", False),
    0x4: ("sw_power_cap", True),
    0x8: ("hw_slowdown", True),
    0x10: ("sync_boost", False),
    0x20: ("sw_thermal_slowdown", True),
    0x40: ("hw_thermal_slowdown", True),
    0x80: ("hw_power_brake_slowdown", True),
    0x100: ("display_clock_setting", False),
}


def load() -> Any:
    """The real ``pynvml`` module (nvidia-ml-py), or NotPresent."""
    try:
        import pynvml  # type: ignore[import-not-found]
    except ImportError as exc:
        raise NotPresent("nvidia-ml-py is not installed", hint="pip install 'edgeprof[nvidia]'") from exc
    return pynvml


def translated(func: Callable) -> Callable:
    """Decorator: NVMLError (whatever class the injected library uses) -> devices.errors."""

    @functools.wraps(func)
    def wrapper(self: "Nvml", *args, **kwargs):
        try:
            return func(self, *args, **kwargs)
        except DeviceError:
            raise
        except Exception as exc:  # the vendor type is only known through self.lib
            error_type = getattr(self.lib, "NVMLError", None)
            if error_type is None or not isinstance(exc, error_type):
                raise
            code = getattr(exc, "value", None)
            cls, hint = ERRORS.get(code, (DeviceError, None))
            raise cls(f"NVML {args[0] if args else func.__name__}: {exc} (code {code})", hint=hint) from exc

    return wrapper


class Nvml:
    """A thin handle on the NVML library: ``call(name, *args)`` and text decoding."""

    def __init__(self, lib: Any | None = None):
        self.lib = lib if lib is not None else load()

    @translated
    def call(self, name: str, *args: Any) -> Any:
        fn = getattr(self.lib, name, None)
        if fn is None:
            raise Unsupported(f"this nvidia-ml-py has no {name}", hint="pip install -U nvidia-ml-py")
        return fn(*args)

    def call_any(self, names: tuple[str, ...], *args: Any) -> Any:
        """First function of ``names`` that the library has (NVML renamed some in 12.x/13.x)."""
        for name in names:
            if hasattr(self.lib, name):
                return self.call(name, *args)
        raise Unsupported(f"this nvidia-ml-py has none of {', '.join(names)}")

    def const(self, name: str, default: int) -> int:
        return int(getattr(self.lib, name, default))

    @staticmethod
    def text(value: Any) -> str:
        return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def number(value: Any, what: str) -> float:
    """An NVML value as a finite float, or ValueError (a driver or binding that returns something
    else — None, a string, NaN — is reported as such, never turned into a number)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"NVML {what}: expected a number, got {type(value).__name__} {str(value)[:40]!r}")
    try:
        out = float(value)
    except OverflowError as exc:
        raise ValueError(f"NVML {what}: {str(value)[:40]}... does not fit a float") from exc
    if out != out or out in (float("inf"), float("-inf")):
        raise ValueError(f"NVML {what}: non-finite value {value!r}")
    return out


def resolve_visible(visible: str | None, uuids: list[str]) -> list[int]:
    """NVML indices that CUDA will see, in CUDA ordinal order.

    ``visible`` is the ``CUDA_VISIBLE_DEVICES`` string the CALLER read (adapters never read the
    environment). Like the CUDA runtime: ``None`` means all devices; entries are indices or
    ``GPU-`` uuid prefixes; enumeration stops at the first invalid, unknown or ambiguous entry;
    a repeated device is dropped; ``MIG-`` entries are not resolved here (MIG is not supported).
    """
    if visible is None:
        return list(range(len(uuids)))
    out: list[int] = []
    for raw in visible.split(","):
        entry = raw.strip()
        if entry.isdigit():
            idx = int(entry)
            if idx >= len(uuids):
                break
        elif entry.startswith("GPU-"):
            matches = [i for i, u in enumerate(uuids) if u.startswith(entry)]
            if len(matches) != 1:
                break
            idx = matches[0]
        else:
            break
        if idx in out:
            break
        out.append(idx)
    return out


def probe_counter_period(read_mj: Callable[[], int], *, budget_s: float = 0.4,
                         clock: Callable[[], float] = time.monotonic,
                         sleep: Callable[[float], None] = time.sleep,
                         poll_s: float = 0.001) -> float | None:
    """Update period of a cumulative counter, in seconds, from fast repeated reads.

    Reads every ``poll_s`` for at most ``budget_s`` (so opening a device costs < 0.5 s) and
    returns the median interval between value changes, or None when fewer than two changes were
    seen (period longer than the budget, or a counter that does not move at all).
    """
    t_start = clock()
    last = read_mj()
    changes: list[float] = []
    while clock() - t_start < budget_s:
        sleep(poll_s)
        value = read_mj()
        if value != last:
            changes.append(clock())
            last = value
    if len(changes) < 2:
        return None
    return statistics.median(b - a for a, b in zip(changes, changes[1:]))


def min_sample_hz(period_s: float | None) -> float | None:
    """Sampling rate needed to see every counter update (Nyquist: twice per update)."""
    return None if not period_s else 2.0 / period_s


def window_warning(window_s: float, period_s: float | None, min_updates: int = 5) -> str | None:
    """A warning when a measurement window spans fewer than ``min_updates`` counter updates
    (then quantization error exceeds 1/min_updates of the window's energy)."""
    if not period_s or window_s <= 0:
        return None
    updates = window_s / period_s
    if updates >= min_updates:
        return None
    return (f"window of {window_s * 1e3:.0f} ms spans only {updates:.1f} energy-counter updates "
            f"(period {period_s * 1e3:.0f} ms, want >= {min_updates}): energy is quantized; "
            f"lengthen the window (--min-seconds) or repeat it")
