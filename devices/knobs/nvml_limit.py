"""An NVIDIA GPU's power limit through NVML (API reference, "Device Commands":
``nvmlDeviceSetPowerManagementLimit(handle, mW)`` needs root; queries
``nvmlDeviceGetEnforcedPowerLimit``, ``nvmlDeviceGetPowerManagementDefaultLimit`` and
``nvmlDeviceGetPowerManagementLimitConstraints`` -> (min, max) mW). Values are watts or
``default``; ``sudo nvidia-smi -i N -pl WATTS`` is the usual way to set it by hand.
"""
from __future__ import annotations

import shlex
from typing import Any

from .._nvml import Nvml, number
from ..errors import DeviceError, NoPermission
from .base import Knob


class GpuPowerLimitKnob(Knob):
    axis, flag, what = "gpu_power_limit", "--gpu-power-limit", "GPU power limit"

    def __init__(self, device_id: str, nvml: Nvml, handle: Any, index: int):
        super().__init__(device_id)
        self.nvml, self.handle, self.index = nvml, handle, index

    def _w(self, name: str) -> float:
        return number(self.nvml.call(name, self.handle), name) / 1e3

    def default_w(self) -> float:
        return self._w("nvmlDeviceGetPowerManagementDefaultLimit")

    def bounds_w(self) -> tuple[float, float] | None:
        try:
            lo, hi = self.nvml.call("nvmlDeviceGetPowerManagementLimitConstraints", self.handle)
        except DeviceError:
            return None
        return number(lo, "limit min") / 1e3, number(hi, "limit max") / 1e3

    def resolve(self, text: str) -> str:
        t = text.strip().lower().removesuffix("w").strip()
        if t == "default":
            return "default"
        try:
            watts = float(t)
        except ValueError:
            raise ValueError(f"{text!r} is not a power limit: give watts (e.g. 250) or 'default'") from None
        b = self.bounds_w()
        if watts <= 0 or watts != watts or (b and not b[0] <= watts <= b[1]):
            raise ValueError(f"{text!r} W is outside this GPU's limits"
                             + (f" ({b[0]:g}-{b[1]:g} W, nvmlDeviceGetPowerManagementLimitConstraints)" if b else ""))
        return f"{watts:g}"

    def watts(self, value: str) -> float:
        return self.default_w() if value == "default" else float(value)

    def current(self) -> str | None:
        return f"{self._w('nvmlDeviceGetEnforcedPowerLimit'):g}"

    def matches(self, value: str, now: str | None) -> bool:
        return now is not None and abs(float(now) - self.watts(value)) < 0.5

    def apply(self, value: str) -> None:
        mw = int(round(self.watts(value) * 1e3))
        try:
            self.nvml.call("nvmlDeviceSetPowerManagementLimit", self.handle, mw)
        except NoPermission as exc:
            raise NoPermission(f"NVML refused the power limit {mw / 1e3:g} W (setting it needs root)",
                               hint=self.grant(value)) from exc

    def grant(self, value: str) -> str:
        return shlex.join(["sudo", "nvidia-smi", "-i", str(self.index), "-pl", f"{self.watts(value):g}"])

    def snapshot(self) -> dict[str, Any]:
        return {"value": self.current(), "default_w": self.default_w()}

    def describe(self, snap: dict[str, Any]) -> str:
        return f"GPU power limit {snap.get('value')} W"
