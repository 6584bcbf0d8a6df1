"""Power knobs a sweep may change (Jetson power mode, jetson_clocks, NVIDIA power limit, CPU
governor), opened for the devices found, and the restore journal that outlives the process.

``open_knobs`` returns, per axis, either the knob or why it is not available here (a reason the
sweep turns into a failed row, never a crash).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import DeviceError
from ..sysfs import FileReader
from .base import Knob
from .commands import Commands, Done
from .governor import GovernorKnob
from .jetson_clocks import JetsonClocksKnob
from .nvml_limit import GpuPowerLimitKnob
from .nvpmodel import PowerModeKnob

__all__ = ["AXES", "Commands", "Done", "Knob", "open_knob", "open_knobs"]

#: sweep axes in the order a case applies them (the mode first: it resets clocks and limits)
AXES = ("power_mode", "jetson_clocks", "gpu_power_limit", "governor")


def open_knob(axis: str, devices: list, root: Path | str, commands: Commands, state_dir: Path,
              write=None) -> Knob:
    """The knob for ``axis`` on these devices; DeviceError saying why there is none."""
    kinds = {d.info().kind: d for d in reversed(devices)}
    reader = FileReader(root)
    if axis in ("power_mode", "jetson_clocks"):
        board = kinds.get("jetson")
        if board is None:
            raise DeviceError(f"--{axis.replace('_', '-')} needs a Jetson (no Jetson board was detected here)")
        if axis == "power_mode":
            return PowerModeKnob(board.info().id, reader, commands)
        return JetsonClocksKnob(board.info().id, reader, commands, state_dir / "jetson_clocks.conf")
    if axis == "gpu_power_limit":
        gpu = kinds.get("nvidia")
        nvml, handle = gpu.nvml_handle() if gpu is not None else (None, None)
        if nvml is None:
            raise DeviceError("--gpu-power-limit needs an NVIDIA GPU with NVML (none was detected here)")
        return GpuPowerLimitKnob(gpu.info().id, nvml, handle, int(gpu.info().specs.get("nvml_index") or 0))
    if axis == "governor":
        host = kinds.get("cpu") or kinds.get("jetson") or (devices[-1] if devices else None)
        return GovernorKnob(host.info().id if host else "cpu", reader, write)
    raise DeviceError(f"unknown power axis {axis!r}")


def open_knobs(axes: list[str], devices: list, root: Path | str, commands: Commands, state_dir: Path,
               write=None) -> dict[str, Knob | DeviceError]:
    out: dict[str, Any] = {}
    for axis in axes:
        try:
            out[axis] = open_knob(axis, devices, root, commands, state_dir, write)
        except DeviceError as exc:
            out[axis] = exc
    return out
