"""The typed record (CONTRACTS.md ``records.jsonl``, schema_version 1).

Inside the process a result is a tree of frozen dataclasses; dicts exist only where JSON or the
worker pipe needs them (``to_dict`` / ``from_dict``). Why: the record is what every front-end,
printer, comparison and reference reads; typed fields say what it holds, and a misspelt key is an
AttributeError in a test rather than a silent ``None`` in a table.

``from_dict`` keeps keys this version does not know in ``extra`` and ``to_dict`` writes them back,
so a file written by a newer edgeprof (or a published reference row with its own fields)
round-trips unchanged. JSON never holds NaN or Infinity: ``finite`` turns them into ``None``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from edgeprof.results.basics import Provenance  # noqa: F401 - re-exported (comparison.py shares it)
from edgeprof.results.conditions import Conditions
from edgeprof.results.dicts import Open, _Dict, _split, finite, typed  # noqa: F401 (re-exported)
from edgeprof.results.quality import Quality, read_quality
from edgeprof.results.runtime_info import ResolvedPlacement, RuntimeInfo  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    from edgeprof.results.comparison import Comparison

SCHEMA_VERSION = 1
STATUSES = ("ok", "failed", "skipped", "cancelled")
PROVENANCE_KINDS = ("measured", "estimated", "derived", "spec", "reference")


@dataclass(frozen=True, slots=True)
class Metric:
    """One figure with its statistics over repetition-level samples and its provenance."""

    value: float
    unit: str
    provenance: Provenance
    n: int = 1
    median: float | None = None
    p90: float | None = None
    cv: float | None = None
    ci95: tuple[float, float] | None = None
    samples: tuple[float, ...] = ()
    p99: float | None = None
    extra: dict = field(default_factory=dict)

    @property
    def center(self) -> float:
        """The median where there is one, else the value."""
        return self.median if self.median is not None else self.value

    @property
    def half_ci(self) -> float | None:
        return abs(self.ci95[1] - self.ci95[0]) / 2 if self.ci95 and self.n > 1 else None

    def to_dict(self) -> dict[str, Any]:
        d = {"value": self.value, "unit": self.unit, "n": self.n, "median": self.median, "p90": self.p90,
             "cv": self.cv, "ci95": list(self.ci95) if self.ci95 else None, "samples": list(self.samples)}
        if self.p99 is not None:
            d["p99"] = self.p99
        d["provenance"] = self.provenance.to_dict()
        return finite({**d, **self.extra})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Metric":
        d = dict(d)
        prov = Provenance.from_dict(d.pop("provenance", None) or {"kind": "measured"})
        value = d.pop("value", None)
        if value is None:
            value = d.get("median")
        ci = d.pop("ci95", None)
        known = {k: d.pop(k) for k in ("median", "p90", "cv", "p99") if k in d}
        if not all(isinstance(x, (int, float)) and not isinstance(x, bool) or x is None for x in d.get("samples") or []):
            raise ValueError("Metric.samples holds something that is not a number")
        samples = tuple(float(x) for x in (d.pop("samples", None) or []) if x is not None and math.isfinite(float(x)))
        known = {k: (v if v is None or isinstance(v, (int, float)) and math.isfinite(v) else None)
                 for k, v in known.items()}
        if ci and not (len(ci) == 2 and all(isinstance(x, (int, float)) and math.isfinite(x) for x in ci)):
            ci = None
        n = d.pop("n", None)
        n = n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else max(1, len(samples))
        return cls(value=value, unit=typed("Metric", "unit", "str", d.pop("unit", "")) or "", provenance=prov,
                   ci95=tuple(ci) if ci else None, samples=samples, n=n, **known, extra=d)


@dataclass(frozen=True, slots=True)
class Workload(_Dict):
    """What a case computes. ``key`` (with the model id) is what compare pairs on and references match."""

    prompt_tokens: int | None = None
    gen_tokens: int | None = None
    depth: int | None = None
    n_seqs: int | None = 1
    suite: str | None = None
    #: how the input is made: None = cut from the bundled text; "random" = seeded random token ids
    #: with BOS first (LocalScore, llama-bench); ``seed`` seeds them
    tokens: str | None = None
    seed: int | None = None
    #: (prompt, gen) of the untimed warm-up pass; None = the case itself (a suite's protocol may fix it)
    warmup: tuple[int, int] | None = None
    kind: str | None = None     # absent: a decoder's pass; "inference": one forward pass (docs/schema.md)
    batch: int | None = None    # inference: samples per pass (n_seqs holds the same number)
    inputs: dict | None = None  # inference: every input's concrete shape {name: [dims]}
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = _Dict.to_dict(self)
        for k in ("suite", "tokens", "seed", "warmup", "kind", "batch", "inputs"):  # absent unless set: ids stay
            if d.get(k) is None:
                d.pop(k)
        return d

    inference = property(lambda self: self.kind == "inference")
    shape_text = property(lambda self: ", ".join(  # "input_ids 8x128, attention_mask 8x128"
        f"{k} {'x'.join(str(x) for x in v)}" for k, v in (self.inputs or {}).items() if v))

    @property
    def label(self) -> str:
        """llama-bench style ``pp128+tg128 @ d512``; a suite ``localscore summary``; inference ``b8 x 8x128``."""
        if self.inference:
            return f"b{self.batch or 1} {self.shape_text.split(', ')[0]}".rstrip()
        if self.prompt_tokens is None and self.gen_tokens is None and self.suite:
            return f"{self.suite} summary"
        p, n, d = self.prompt_tokens or 0, self.gen_tokens or 0, self.depth or 0
        parts = ([f"pp{p}"] if p else []) + ([f"tg{n}"] if n else [])
        return ("+".join(parts) or "?") + (f" @ d{d}" if d else "")


@dataclass(frozen=True, slots=True)
class ModelInfo(_Dict):
    id: str | None = None
    name: str | None = None
    params: float | None = None
    extra: dict = field(default_factory=dict)   # architecture, family, n_layers, n_heads, ...

    @property
    def family(self) -> str | None:
        fam = self.extra.get("family") or self.extra.get("architecture")
        return str(fam) if fam else None

    @property
    def params_b(self) -> float | None:
        return float(self.params) / 1e9 if self.params else None


@dataclass(frozen=True, slots=True)
class ArtifactInfo(_Dict):
    path: str | None = None
    format: str | None = None
    quant: str | None = None
    size_bytes: int | None = None
    sha256: str | None = None
    files: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)   # label, quality, method, ...

    @property
    def quality(self) -> Quality:
        """The export's quality figures with the gate's one ``quality_status`` (results/quality.py);
        every field None when the artifact was never scored."""
        return read_quality(self.extra.get("quality"), self.extra)

    @property
    def quality_status(self) -> str | None:
        return self.quality.quality_status


@dataclass(frozen=True, slots=True)
class DeviceRef(_Dict):
    id: str | None = None
    kind: str | None = None
    name: str | None = None
    memory_bytes: int | None = None
    extra: dict = field(default_factory=dict)   # cores, flags, driver, energy_source, ...


@dataclass(frozen=True, slots=True)
class ErrorInfo(_Dict):
    kind: str
    message: str = ""
    phase: str | None = None
    exit_code: int | None = None
    signal: str | None = None
    extra: dict = field(default_factory=dict)   # partial_reps, traceback, ...


@dataclass(frozen=True, slots=True)
class Phase(_Dict):
    name: str
    t0_ns: int
    t1_ns: int | None = None
    rep: int | None = None
    label: str | None = None
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Repetition(_Dict):
    """One timed pass as the worker measured it (monotonic ns). ``token_ns`` (per decoded token)
    travels over the pipe for the metrics and is not written into records.jsonl."""

    rep: int
    label: str = "measure"
    prefill: tuple[int, int] | None = None
    n_prefill: int = 0
    decode: tuple[int, int] | None = None
    n_decode: int = 0
    n_generated: int = 0
    token_ns: tuple[int, ...] = ()
    perf: dict | None = None
    inference: tuple[int, int] | None = None   # an inference block [t0, t1], its passes and their latencies
    n_inferences: int = 0
    latency_ns: tuple[int, ...] = ()
    extra: dict = field(default_factory=dict)

    @property
    def window(self) -> tuple[int, int]:
        """[start of prefill (or decode), end of decode (or prefill)]; an inference block's span."""
        return self.inference or ((self.prefill or self.decode)[0], (self.decode or self.prefill)[1])

    def to_dict(self, tokens: bool = False) -> dict[str, Any]:
        d = _Dict.to_dict(self)
        if not tokens:
            d.pop("token_ns")
            d.pop("latency_ns")
        for phase, count in (("prefill", "n_prefill"), ("decode", "n_decode"), ("inference", "n_inferences")):
            if d.get(phase) is None:  # a phase that did not happen is absent, as in schema 1 files
                d.pop(phase)
                d.pop(count)
        if d.get("perf") is None:
            d.pop("perf")
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Repetition":
        r = _Dict.from_dict.__func__(cls, d)  # the generic reader, then the pairs as tuples
        return replace(r, **{k: tuple(v) if (v := getattr(r, k)) else None for k in ("prefill", "decode", "inference")})


_NESTED = {"model": ModelInfo, "artifact": ArtifactInfo, "runtime": RuntimeInfo, "device": DeviceRef,
           "workload": Workload}


@dataclass(frozen=True, slots=True)
class Record:
    """One case's row of records.jsonl."""

    case_id: str
    status: str = "ok"
    run_id: str | None = None
    host: str | None = None
    started_at: str | None = None
    error: ErrorInfo | None = None
    model: ModelInfo = field(default_factory=ModelInfo)
    artifact: ArtifactInfo = field(default_factory=ArtifactInfo)
    runtime: RuntimeInfo = field(default_factory=RuntimeInfo)
    device: DeviceRef = field(default_factory=DeviceRef)
    workload: Workload = field(default_factory=Workload)
    metrics: dict[str, Metric] = field(default_factory=dict)
    phases: tuple[Phase, ...] = ()
    reps: tuple[Repetition, ...] = ()
    warnings: tuple[str, ...] = ()
    reference: "Comparison | None" = None   # the server comparison (results/comparison.py), typed
    schema_version: int = SCHEMA_VERSION
    #: the known top-level keys beyond identity and figures (sample_hz, idle baseline, load, throttle
    #: evidence, power rule...), typed; a record built with them in ``extra`` has them moved here
    conditions: Conditions = field(default_factory=Conditions.none)
    extra: dict = field(default_factory=dict)   # keys this version does not know (round-trip)

    def __post_init__(self) -> None:
        known = Conditions.names()
        if any(k in known for k in self.extra):
            object.__setattr__(self, "conditions", self.conditions.merged(
                {k: v for k, v in self.extra.items() if k in known}))
            object.__setattr__(self, "extra", {k: v for k, v in self.extra.items() if k not in known})

    # -- reading --------------------------------------------------------------------------
    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def metric(self, name: str) -> Metric | None:
        return self.metrics.get(name)

    def value(self, name: str) -> float | None:
        """The median (else value) of a metric, or None when absent."""
        m = self.metrics.get(name)
        return None if m is None else m.center

    def workload_key(self) -> tuple:
        """CONTRACTS workload key: model id, prompt_tokens, gen_tokens, depth, n_seqs (+ an inference row's shapes)."""
        w = self.workload
        return (self.model.id, w.prompt_tokens, w.gen_tokens, w.depth, w.n_seqs) + ((w.shape_text,) * w.inference)

    def get(self, key: str, default: Any = None) -> Any:
        """A top-level key by name, as the file has it (generic readers: history columns, filters);
        code that knows the key reads the typed field (``rec.conditions.load``)."""
        if key in self.extra:
            return self.extra[key]
        if key in Conditions.names():
            v = getattr(self.conditions, key)
            if v is None and key in self.conditions.absent:
                return default
            return v.to_dict() if hasattr(v, "to_dict") else list(v) if isinstance(v, tuple) else v
        return getattr(self, key, default) if key in _FIELD_NAMES else default

    # -- changing (records are frozen: enrichment returns a new one) ---------------------
    def with_metrics(self, more: Mapping[str, Metric]) -> "Record":
        return replace(self, metrics={**self.metrics, **more})

    def with_extra(self, **more: Any) -> "Record":
        return replace(self, extra={**self.extra, **more})

    # -- the JSON boundary -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"schema_version": self.schema_version, "case_id": self.case_id, "run_id": self.run_id,
                             "host": self.host, "started_at": self.started_at, "status": self.status,
                             "error": self.error.to_dict() if self.error else None}
        for k in _NESTED:
            d[k] = getattr(self, k).to_dict()
        d["metrics"] = {k: m.to_dict() for k, m in self.metrics.items()}
        d["phases"] = [p.to_dict() for p in self.phases]
        d["reps"] = [r.to_dict() for r in self.reps]
        d.update(self.conditions.to_dict())
        d.update(self.extra)
        d["warnings"] = list(self.warnings)
        if self.reference is not None:
            d["reference"] = self.reference.to_dict()
        return finite(d)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Record":
        d = dict(d)
        kw: dict[str, Any] = {k: cls_.from_dict(d.pop(k, None)) for k, cls_ in _NESTED.items()}
        err = d.pop("error", None)
        kw["error"] = ErrorInfo.from_dict(err) if err else None
        kw["metrics"] = {k: Metric.from_dict(m) for k, m in (d.pop("metrics", None) or {}).items() if _figure(m)}
        kw["phases"] = tuple(Phase.from_dict(p) for p in d.pop("phases", None) or [])
        kw["reps"] = tuple(Repetition.from_dict(r) for r in d.pop("reps", None) or [])
        kw["warnings"] = tuple(str(w) for w in typed("Record", "warnings", "tuple", d.pop("warnings", None)) or ())
        kw["conditions"] = Conditions.from_dict({k: d.pop(k) for k in list(d) if k in Conditions.names()})
        for k in ("case_id", "status", "run_id", "host", "started_at", "schema_version"):
            if k in d:
                kw[k] = typed("Record", k, _RECORD_TYPES[k], d.pop(k))
        if "reference" in d:
            from edgeprof.results.comparison import as_comparison

            kw["reference"] = as_comparison(d.pop("reference"))
        kw.setdefault("case_id", "")
        if kw.get("status") is None:
            kw["status"] = "ok"
        return cls(**kw, extra=d)


_FIELD_NAMES = {f.name for f in fields(Record)}
_RECORD_TYPES = {f.name: f.type for f in fields(Record)}


def _figure(m: Any) -> bool:
    """A stored metric that is a figure: a finite number as its value (or, for old files, its
    median). A NaN or infinity written by hand or by another tool is no figure: the metric is left
    out (shown n/a), never averaged into a report."""
    if not isinstance(m, Mapping):
        return False
    v = m.get("value") if m.get("value") is not None else m.get("median")
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def as_record(x: "Record | Mapping[str, Any]") -> Record:
    """A Record from a Record or a CONTRACTS dict (the JSON boundary)."""
    return x if isinstance(x, Record) else Record.from_dict(x)


def as_records(xs: Iterable["Record | Mapping[str, Any]"]) -> list[Record]:
    return [as_record(x) for x in xs]
