"""Typed values of the what-if model (``edgeprof predict --device``): a device class, a power mode,
one measured row, an estimate with its interval, and a prediction. Frozen: they cross from
analysis/ (the fit) to compare/ (the server comparison), views/ (TUI, report) and the command.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

#: families a device class belongs to (what "similar" means for a class without rows)
FAMILIES = ("nvidia-hbm", "nvidia-gddr", "amd-gpu", "jetson", "apple", "apple-cpu", "x86-cpu", "arm-sbc", "other")


def phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


@dataclass(frozen=True)
class DeviceClass:
    """A kind of device the model knows: a ``devices.csv`` row (its published peaks) or, for rows
    naming hardware the table lacks, the name alone (``spec_id`` None: fitted, never extrapolated to)."""
    id: str
    name: str
    family: str
    vendor: str = ""
    bandwidth_gbs: float | None = None
    compute_tflops: float | None = None  # dense FP32, the one compute figure most rows publish
    memory_gb: float | None = None
    tdp_w: float | None = None
    spec_id: str | None = None
    source: str = ""


@dataclass(frozen=True)
class PowerMode:
    """One nvpmodel mode (or a device's single default): its budget and the clocks that scale the
    class's fit. ``None`` clocks = the module maximum (no cap in that mode)."""
    device_id: str
    name: str
    budget_w: float | None
    bandwidth_gbs: float | None
    cpu_max_mhz: float | None = None
    gpu_max_mhz: float | None = None
    cpu_cores: int | None = None
    default: bool = False
    source: str = ""
    note: str = ""


@dataclass(frozen=True)
class Row:
    """One measured result a fit rests on: a LocalScore submission or one of this machine's runs."""
    class_id: str
    bytes_per_token: float
    flop_per_token: float | None
    decode_tps: float | None
    prefill_tps: float | None
    source: str                  # "LocalScore result 644" / "run 2026-..."
    url: str | None = None
    runtime: str = ""
    model: str = ""
    power_w: float | None = None
    power_kind: str | None = None  # measured | estimated
    mode: str | None = None


@dataclass(frozen=True)
class Estimate:
    """A predicted figure with its interval at ``level``; ``log_sd`` is the spread of log(value)
    the interval implies (what probabilities are computed from)."""
    value: float
    lo: float
    hi: float
    unit: str
    level: float
    log_sd: float
    kind: str = "estimated"
    note: str = ""

    def p_at_least(self, threshold: float) -> float:
        if threshold <= 0:
            return 1.0
        if self.log_sd <= 0:
            return 1.0 if self.value >= threshold else 0.0
        return 1 - phi((math.log(threshold) - math.log(self.value)) / self.log_sd)

    def p_at_most(self, threshold: float) -> float:
        return 1.0 - self.p_at_least(threshold)

    def contains(self, x: float) -> bool:
        return self.lo <= x <= self.hi

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Neighbour:
    class_id: str
    name: str
    weight: float
    n_rows: int


@dataclass(frozen=True)
class Prediction:
    """What ``predict --device`` says for one device (and mode): every figure ``estimated``, the
    basis (``fit`` on the class's own rows or ``extrapolated`` from similar classes), the rows
    it rests on, and notes that say what was assumed."""
    device: DeviceClass
    mode: PowerMode | None
    decode: Estimate
    prefill: Estimate | None
    ttft_ms: Estimate | None
    j_per_token: Estimate | None
    power_w: float | None
    power_basis: str
    basis: str                      # fit | extrapolated
    rows: tuple[str, ...] = ()      # sources of the rows it rests on
    neighbours: tuple[Neighbour, ...] = ()
    notes: tuple[str, ...] = field(default=())
    prompt_tokens: int = 0
    gen_tokens: int = 0
    fits_memory: bool | None = None   # the model file against the device's memory (None: unknown)

    @property
    def extrapolated(self) -> bool:
        return self.basis == "extrapolated"

    @property
    def label(self) -> str:
        return self.device.name + (f" @ {self.mode.name}" if self.mode and self.mode.name != "default" else "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
