"""The record's ``runtime``: which runtime ran the case, its version, and the placement as the
runtime resolved it, typed. The worker sends it through the pipe in its ``Loaded`` event."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from edgeprof.results.dicts import Open, _Dict, _split


@dataclass(frozen=True, slots=True)
class ResolvedPlacement(Open):
    """Where and how a case ran, as the runtime resolved it (threads it really uses, the flash
    attention it chose...). The keys every runtime reports are fields; its own (``threads_batch``,
    ``providers``, ``repack``, ``dtype``...) stay in ``extra``."""

    threads: int | None = None
    threads_requested: int | None = None
    gpu_layers: int | None = None
    flash_attn: str | None = None
    n_batch: int | None = None
    n_ubatch: int | None = None
    kv_type: str | None = None
    provider: str | None = None
    cpu_affinity: tuple[int, ...] | None = None   # the CPUs the worker could run on (the worker adds it)
    extra: dict = field(default_factory=dict)
    absent: frozenset = field(default=frozenset(), repr=False)


@dataclass(frozen=True, slots=True)
class RuntimeInfo(_Dict):
    name: str | None = None
    version: str | None = None
    placement: ResolvedPlacement = field(default_factory=ResolvedPlacement.none)
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "RuntimeInfo":
        known, extra = _split(cls, d)
        known["placement"] = ResolvedPlacement.from_dict(known.get("placement"))
        return cls(**known, extra=extra)
