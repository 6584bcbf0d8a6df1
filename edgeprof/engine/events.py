"""The one event stream (CONTRACTS.md, "Events"): typed, frozen, with ``t_ns`` from
``time.monotonic_ns()`` and the ``case_id`` on every event.

Worker and parent emit these; the headless progress, the TUI, sinks and remote runs only consume
them. They cross the worker pipe as objects (pickled) and a JSON-lines file or socket through
``to_dict`` / ``from_dict``. The parent adds run-level events the worker never sends:
``run_started``, ``case_scheduled`` (case k of N), ``sample``, ``run_notice`` and ``run_finished``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Any, Callable, ClassVar

from edgeprof.results.described import DeviceDesc
from edgeprof.results.dicts import _Dict
from edgeprof.results.schema import ErrorInfo, Record, Repetition, RuntimeInfo


@dataclass(frozen=True, slots=True)
class CaseLabel(_Dict):
    """What a case's label says, as fields (``text`` is the label): a view shows the model or the
    quant of the running case from here, never by splitting the label's text."""

    model: str | None = None
    format: str | None = None
    quant: str | None = None
    prompt_tokens: int | None = None
    gen_tokens: int | None = None
    depth: int | None = None
    threads: int | None = None
    suite: str | None = None
    batch: int | None = None       # an inference case: its batch, and its first input's shape
    shape: str | None = None

    @property
    def text(self) -> str:
        if self.batch is not None:
            return f"{self.model} {self.format}:{self.quant} b{self.batch} {self.shape or ''} t{self.threads}"
        suite = f" [{self.suite}]" if self.suite else ""
        return (f"{self.model} {self.format}:{self.quant} p{self.prompt_tokens} n{self.gen_tokens} d{self.depth} "
                f"t{self.threads}{suite}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    case_id: str | None = None
    t_ns: int = field(default_factory=time.monotonic_ns)
    type: ClassVar[str] = "event"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Repetition):
                v = v.to_dict(tokens=True)
            elif hasattr(v, "to_dict"):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = [x.to_dict() if hasattr(x, "to_dict") else x for x in v]
            out[f.name] = v
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseStarted(Event):
    type: ClassVar[str] = "case_started"
    pid: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Loaded(Event):
    """The engine loaded: the runtime's resolved placement and what it knows of the model."""

    type: ClassVar[str] = "loaded"
    runtime: RuntimeInfo           # name, version and the resolved placement, typed across the pipe
    n_params: int | None = None
    n_ctx: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseStarted(Event):
    type: ClassVar[str] = "phase_started"
    name: str                      # load | depth | prefill | decode | repetition
    rep: int | None = None
    label: str | None = None       # warmup | measure


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseEnded(Event):
    """``result`` is set on the end of a ``repetition`` phase: the measured repetition travels
    with it, so repetitions already measured survive a later crash of the worker."""

    type: ClassVar[str] = "phase_ended"
    name: str
    rep: int | None = None
    label: str | None = None
    result: Repetition | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FirstToken(Event):
    type: ClassVar[str] = "first_token"
    rep: int | None = None
    label: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenProgress(Event):
    type: ClassVar[str] = "token_progress"
    n: int
    of: int
    rep: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SampleEvent(Event):
    """One sampler tick: every reading (``devices.base.Reading``) and the headline power derived
    from the total-power sensor (Δenergy/Δt for counters)."""

    type: ClassVar[str] = "sample"
    readings: tuple = ()
    power_w: float | None = None
    power_label: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseFinished(Event):
    """From the parent: the full record. From the worker: ``record`` is None and ``worker_stats``
    holds what only the worker knows (its RSS high-water mark)."""

    type: ClassVar[str] = "case_finished"
    record: Record | None = None
    worker_stats: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseFailed(Event):
    type: ClassVar[str] = "case_failed"
    error: ErrorInfo
    record: Record | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RunStarted(Event):
    type: ClassVar[str] = "run_started"
    run_dir: str
    total: int
    labels: tuple = ()             # one label per case, in plan order
    done: int = 0                  # cases already finished (a resumed run)
    device: DeviceDesc = field(default_factory=DeviceDesc)   # the first case's device, its sensors, all devices
    power_label: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CaseScheduled(Event):
    """Case ``index`` (1-based) of ``total`` is about to start; ``model`` and ``artifact`` say
    what runs (a live view matches it against reference rows before any figure exists)."""

    type: ClassVar[str] = "case_scheduled"
    index: int
    total: int
    label: str
    workload: dict = field(default_factory=dict)
    reps: int = 0
    device: DeviceDesc = field(default_factory=DeviceDesc)
    model: dict = field(default_factory=dict)
    artifact: dict = field(default_factory=dict)
    parts: CaseLabel = field(default_factory=CaseLabel)   # the label's parts, typed


@dataclass(frozen=True, slots=True, kw_only=True)
class RunNotice(Event):
    """A line for people (``message``) and, where a view can use it, the same facts as data
    (e.g. the idle baseline: ``idle_power_w``, ``idle_window_s``, ``device_id``, ``provenance``)."""

    type: ClassVar[str] = "run_notice"
    message: str
    level: str = "info"            # info | warning
    data: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunFinished(Event):
    type: ClassVar[str] = "run_finished"
    n_ok: int = 0
    n_failed: int = 0
    cancelled: bool = False


TYPES: dict[str, type[Event]] = {c.type: c for c in (
    CaseStarted, Loaded, PhaseStarted, PhaseEnded, FirstToken, TokenProgress, SampleEvent, CaseFinished,
    CaseFailed, RunStarted, CaseScheduled, RunNotice, RunFinished)}
TERMINAL = (CaseFinished, CaseFailed)
Emit = Callable[[Event], None]


def from_dict(d: dict[str, Any]) -> Event:
    """An event from its JSON form (recorded streams, remote runs)."""
    d = dict(d)
    cls = TYPES.get(d.pop("type", None))
    if cls is None:
        raise ValueError(f"unknown event type in {sorted(d)}")
    if d.get("record") is not None:
        d["record"] = Record.from_dict(d["record"])
    if cls is CaseFailed:
        d["error"] = ErrorInfo.from_dict(d["error"])
    if cls is Loaded:
        d["runtime"] = RuntimeInfo.from_dict(d.get("runtime"))
    if cls is CaseScheduled:
        d["parts"] = CaseLabel.from_dict(d.get("parts") or _parts_of(d))
    if cls in (RunStarted, CaseScheduled):
        d["device"] = DeviceDesc.from_dict(d.get("device"))
    if d.get("result") is not None:
        d["result"] = Repetition.from_dict(d["result"])
    if "readings" in d:
        from edgeprof.devices.base import Reading

        d["readings"] = tuple(Reading(**{k: v for k, v in r.items() if k != "unit"}) for r in d["readings"])
    if "labels" in d:
        d["labels"] = tuple(d["labels"])
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


def _parts_of(d: dict[str, Any]) -> dict[str, Any]:
    """A ``case_scheduled`` recorded before it carried ``parts``: what its model, artifact and
    workload say (the threads are not there)."""
    w, a = d.get("workload") or {}, d.get("artifact") or {}
    return {"model": (d.get("model") or {}).get("id"), "format": a.get("format"), "quant": a.get("quant"),
            "prompt_tokens": w.get("prompt_tokens"), "gen_tokens": w.get("gen_tokens"), "depth": w.get("depth"),
            "suite": w.get("suite")}
