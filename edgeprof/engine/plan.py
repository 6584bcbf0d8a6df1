"""A sweep as data: the cross product of artifacts × -p × -n × --depth × -t × other placement
lists (CONTRACTS.md), each case with a stable id and the device it runs on, written to
``plan.json`` so ``--resume DIR`` needs no other argument.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

from edgeprof.engine.case_check import checked, unique_ids
from edgeprof.engine.config import Settings
from edgeprof.engine.events import CaseLabel
from edgeprof.errors import UsageError
from edgeprof.models.artifacts import Artifact
from edgeprof.results.schema import Workload
from edgeprof.runtimes import default_for
from edgeprof.runtimes import options as runtime_options
from edgeprof.runtimes.base import Placement

PLAN_VERSION = 1


def knob_defaults() -> dict[str, Any]:
    """Each runtime option's default (runtimes/knobs.py), by name, in declaration order."""
    return {k.name: k.default for k in runtime_options()}


@dataclass
class Axes:
    prompt: list[int] = field(default_factory=lambda: [128])
    gen: list[int] = field(default_factory=lambda: [128])
    depth: list[int] = field(default_factory=lambda: [0])
    threads: list[int] = field(default_factory=lambda: [1])
    #: each runtime option's values (a comma list sweeps); an option not given keeps its default
    knobs: dict[str, list] = field(default_factory=dict)
    #: workloads given as a list (a suite) instead of the -p × -n × --depth product
    workloads: list[Workload] | None = None
    #: power settings ({axis: value}, engine/power_axes.py), the OUTERMOST loop: a setting changes once
    power: list[dict] = field(default_factory=lambda: [{}])
    #: inference models (not causal LMs): --batch (None: the --shape flag's, else 1) and --shape {input: dims}
    batch: list[int | None] = field(default_factory=lambda: [None])
    shapes: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        defaults = knob_defaults()
        unknown = sorted(set(self.knobs) - set(defaults))
        if unknown:
            raise UsageError(f"unknown runtime option(s) {', '.join(unknown)}; known: {', '.join(defaults)}")
        self.knobs = {k: list(self.knobs[k]) if k in self.knobs else [d] for k, d in defaults.items()}


@dataclass(frozen=True)
class Case:
    """One configuration of the sweep: one artifact × one workload × one placement on one device."""

    artifact: Artifact
    runtime: str
    placement: Placement
    workload: Workload
    device_id: str
    host: str
    case_id: str = ""
    #: power settings this case runs under ({"power_mode": "25W"}; empty: the machine as it is)
    power: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.case_id:
            object.__setattr__(self, "case_id", _digest(self.key()))

    def key(self) -> dict[str, Any]:
        """The identity of a case (CONTRACTS.md "Case key")."""
        a = self.artifact
        return {"model_id": a.model.id, "sha256": a.sha256, "format": a.format, "quant": a.quant,
                "runtime": self.runtime, "placement": self.placement.to_dict(), "workload": self.workload.to_dict(),
                "device_id": self.device_id, "host": self.host, **({"power": self.power} if self.power else {})}

    @property
    def parts(self) -> CaseLabel:
        """The label's parts, typed (what a view shows of the case)."""
        a, w = self.artifact, self.workload
        if w.inference:
            first = next((f"{k}={'x'.join(map(str, v))}" for k, v in (w.inputs or {}).items() if v), "")
            return CaseLabel(a.model.id, a.format, a.quant, w.prompt_tokens, None, None, self.placement.threads,
                             batch=w.batch or 1, shape=first)
        return CaseLabel(a.model.id, a.format, a.quant, w.prompt_tokens, w.gen_tokens, w.depth, self.placement.threads,
                         w.suite)

    @property
    def label(self) -> str:
        return self.parts.text

    def to_dict(self) -> dict[str, Any]:
        return {"artifact": self.artifact.to_dict(), "runtime": self.runtime, "placement": self.placement.to_dict(),
                "workload": self.workload.to_dict(), "device_id": self.device_id, "host": self.host,
                "case_id": self.case_id, **({"power": dict(self.power)} if self.power else {})}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Case":
        return cls(Artifact.from_dict(d["artifact"]), d["runtime"], Placement.from_dict(d["placement"]),
                   Workload.from_dict(d["workload"]), d["device_id"], d["host"], d.get("case_id") or "",
                   dict(d.get("power") or {}))


def _rekey(case: Case, n: int) -> Case:
    """The n-th repeat of a case key in one plan: the same case with an id of its own."""
    return replace(case, case_id=_digest({**case.key(), "repeat": n}))


def _digest(key: dict[str, Any]) -> str:
    blob = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _workloads(axes: Axes) -> list[Workload]:
    if axes.workloads is not None:
        return list(axes.workloads)
    out = []
    for p, n, d in itertools.product(axes.prompt, axes.gen, axes.depth):
        if p == 0 and n == 0:
            raise UsageError("-p 0 with -n 0 measures nothing; give a prompt length, a generation length or both")
        out.append(Workload(p, n, d, 1))
    return out


def inference_workloads(art: Artifact, axes: Axes) -> list[Workload] | None:
    """The workloads of a model that is not a causal LM (read from its signature: --batch × the
    sequence lengths -p gives a text model), or None for a decoder. A dynamic axis nothing sets is
    a UsageError naming the --shape flag to add."""
    from edgeprof.models import shapes as sh
    from edgeprof.models.signature import read

    if art.format not in ("onnx", "hf") or art.extra.get("unusable"):
        return None
    sig = read(art.path, art.format)
    if sig.kind != "inference":
        return None
    out: dict[str, Workload] = {}
    for b in axes.batch:
        for p in (axes.prompt if sig.modality == "text" else [None]):
            batch, dims = sh.resolve(sig, axes.shapes, b, p or None)
            w = Workload(sh.sequence_length(sig, dims), None, None, batch, kind="inference", batch=batch, inputs=dims)
            out.setdefault(json.dumps(w.to_dict(), sort_keys=True), w)
    return list(out.values())


def build_cases(artifacts: list[Artifact], axes: Axes, *, device_for: Callable[[str, Placement], str], host: str,
                runtime: str | None = None, providers: dict[str, str] | None = None) -> list[Case]:
    """Cases in plan order. ``device_for(runtime, placement)`` names the device each case runs on
    (a GPU-layers case on the GPU, a CPU case on the CPU); ``providers`` is the device-chosen
    default provider per runtime, used where --provider is unset."""
    cases = []
    per_art = [(art, inference_workloads(art, axes)) for art in artifacts]
    if (axes.shapes or axes.batch != [None]) and not any(ws for _, ws in per_art):
        flag = "--shape" if axes.shapes else "--batch"
        raise UsageError(f"{flag} applies to models that are not causal LMs (encoders, vision, audio); none of the "
                         f"models given is one — drop {flag}")
    generate = None
    pairs = []
    for art, ws in per_art:
        if ws is None:
            generate = _workloads(axes) if generate is None else generate
        pairs += [(art, w) for w in (ws if ws is not None else generate)]
    names, defaults = list(axes.knobs), knob_defaults()
    for power, (art, w), t, *values in itertools.product(axes.power, pairs, axes.threads, *axes.knobs.values()):
        rt = runtime or art.runtime or default_for(art.format)
        chosen = dict(zip(names, values))
        if chosen.get("provider") is None and providers and rt in providers:  # the device's default provider
            chosen["provider"] = providers[rt]
        placement = Placement.of(t, chosen, defaults)
        cases.append(Case(art, rt, placement, w, device_for(rt, placement), host, power=dict(power)))
    return unique_ids(cases, _rekey)


def plan_dict(run_id: str, cases: list[Case], settings: Settings, axes: Axes, models: list[str | None],
              **extra: Any) -> dict[str, Any]:
    ax = asdict(replace(axes, workloads=None))
    ax.pop("workloads")
    ax = {k2: v2 for k, v in ax.items() for k2, v2 in (v.items() if k == "knobs" else [(k, v)])}  # knobs flat
    return {"schema_version": PLAN_VERSION, "run_id": run_id, "models": models, "axes": ax,
            "settings": settings.to_dict(), "cases": [c.to_dict() for c in cases], **extra}


def read_plan(data: dict[str, Any]) -> tuple[str, list[Case], Settings]:
    """(run_id, cases, settings) of a plan.json, each case checked as its flags were (and given an
    id of its own where an older plan repeated one); a damaged plan is a one-line error."""
    try:
        run_id, settings = data["run_id"], Settings.from_dict(data["settings"])
        if not isinstance(run_id, str) or not run_id.isprintable() or not 0 < len(run_id) <= 100:
            raise ValueError(f"run_id {str(run_id)[:40]!r} is not an id")
        return run_id, checked(unique_ids([Case.from_dict(c) for c in data["cases"]], _rekey)), settings
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError, UsageError) as exc:
        what = str(exc) if isinstance(exc, UsageError) else f"{type(exc).__name__}: {exc}"
        raise UsageError(f"plan.json is damaged ({what[:120]}); start a new run instead of --resume") from None
