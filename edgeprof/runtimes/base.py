"""The runtime protocol: an engine loads one artifact with a placement, then the worker drives
reset / prefill / decode and times them itself on the monotonic clock.

Why the worker owns the clock and the loop: every runtime (llama.cpp, ONNX Runtime, PyTorch) gets
exactly the same phase boundaries, the same greedy loop with EOS ignored, and the same events,
so their rows are comparable. An engine only has to say how to evaluate tokens.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Placement:
    """Where and how a case runs. ``None`` means "the runtime's resolved default" and is replaced
    by the resolved value in the record (never left ambiguous)."""

    threads: int
    gpu_layers: int = 0
    flash_attn: str = "auto"          # on | off | auto (resolved value recorded)
    n_batch: int | None = None
    n_ubatch: int | None = None
    kv_type: str | None = None        # f16, q8_0, ... (llama.cpp); None = engine default
    repack: str = "auto"              # llama.cpp weight repacking / extra buffer types: on|off|auto
    provider: str | None = None       # ONNX Runtime execution provider; "cuda"/"cpu" for torch
    dtype: str | None = None          # torch: fp32 | bf16
    #: runtime options declared after these (runtimes/knobs.py) as (name, value) pairs: a new knob
    #: travels to its runtime (``option(name)``) and into the record with no field added here
    options: tuple[tuple[str, Any], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.threads, int) or self.threads < 1:  # 0 means "runtime default" to ggml/ORT
            raise ValueError(f"threads must be an integer >= 1, got {self.threads!r}")

    def option(self, name: str) -> Any:
        """A runtime option's value (a field, or one of ``options``); None when unset."""
        if name in FIELDS:
            return getattr(self, name)
        return next((v for k, v in self.options if k == name), None)

    @classmethod
    def of(cls, threads: int, values: dict[str, Any], defaults: dict[str, Any] | None = None) -> "Placement":
        """A placement from the runtime options' values: the built-in ones as fields, the rest in
        ``options`` unless at their ``defaults`` (so declaring a knob moves no existing case id;
        the record still shows its value, engine/worker.py)."""
        defaults = defaults or {}
        return cls(threads=threads, **{k: v for k, v in values.items() if k in FIELDS},
                   options=tuple((k, v) for k, v in values.items()
                                 if k not in FIELDS and not (k in defaults and v == defaults[k])))

    def to_dict(self) -> dict[str, Any]:
        d = {f: getattr(self, f) for f in FIELDS}
        if d["dtype"] is None:  # absent unless set, so case ids of runs made before --dtype stay stable
            del d["dtype"]
        d.update(self.options)  # likewise: a knob declared later is in the key only when it is used
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Placement":
        from edgeprof.runtimes import options

        declared = {k.name for k in options()}
        return cls(**{k: v for k, v in d.items() if k in FIELDS},
                   options=tuple((k, v) for k, v in d.items() if k not in FIELDS and k in declared))


#: the placement's own fields (threads and the runtime options built in before runtimes/knobs.py)
FIELDS = ("threads", "gpu_layers", "flash_attn", "n_batch", "n_ubatch", "kv_type", "repack", "provider", "dtype")


@dataclass(slots=True)
class EngineInfo:
    """What a loaded engine reports; becomes the record's ``runtime`` and part of ``model``."""

    name: str
    version: str
    placement: dict[str, Any]          # resolved values
    n_params: int | None = None
    n_ctx: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Engine(Protocol):
    info: EngineInfo
    #: vocabulary size and BOS id (None: the model has none): random-token workloads (suites) draw
    #: ids from ``[0, n_vocab)`` with BOS first; an engine without ``n_vocab`` cannot run them
    n_vocab: int
    bos: int | None

    def tokenize(self, text: str) -> list[int]: ...

    def reset(self) -> None:
        """Forget all context (KV cache, positions): the next prefill starts from nothing."""

    def prefill(self, tokens: list[int]) -> int:
        """Evaluate ``tokens`` after the current context; return the greedy next token id."""

    def decode(self, token: int) -> int:
        """Evaluate one token; return the greedy next token id (EOS is not special)."""

    def perf(self) -> dict[str, Any] | None:
        """The engine's own timing counters since the last reset, or None."""

    def close(self) -> None: ...


class RuntimeError_(Exception):
    """A runtime could not load or run an artifact; the message names the fix."""
