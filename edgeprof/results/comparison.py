"""The server comparison a record carries (``Record.reference``), as frozen types.

Why typed: the comparison is the product's point and every front-end reads it (the bench table,
``suite_text``, the TUI's server panel and detail screen, the report). As a dict it was read by
57 key lookups in one view alone, and a renamed key was a silent blank. Here each figure has a
name and a type; ``to_dict``/``from_dict`` are the only places that know the JSON spelling, and
``from_dict`` also reads records written before this module (ratios with dict provenance, a
``roofline`` dict per row, no verdicts), so old runs stay readable.

Kinds (CONTRACTS "Server references"): ``exact`` and ``same-model`` are matches; ``normalized``
(another model, per parameter) is context, NOT a match; ``predicted`` is reserved for a modelled
figure of a server class (issue 25 item 5: never a match, never a verdict); ``none`` says why.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from edgeprof.results.basics import Provenance
from edgeprof.results.dicts import finite

KINDS = ("exact", "same-model", "normalized", "predicted", "none")
MATCHES = ("exact", "same-model")
#: kinds that never carry a verdict (a prediction is a model, a normalized row another model)
NO_VERDICT = ("normalized", "predicted")


def _tuple(x: Any) -> tuple | None:
    return tuple(x) if isinstance(x, (list, tuple)) and len(x) == 2 else None


def _prov(x: Any) -> Provenance | None:
    if isinstance(x, Provenance):
        return x
    return Provenance.from_dict(x) if isinstance(x, Mapping) and x else None


def _plain(obj: Any) -> dict[str, Any]:
    """Fields of a flat frozen type as JSON (tuples as lists, provenance as dicts)."""
    out: dict[str, Any] = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if f.name == "extra":
            continue
        out[f.name] = v.to_dict() if hasattr(v, "to_dict") else list(v) if isinstance(v, tuple) else v
    return {**out, **getattr(obj, "extra", {})}


def _known(cls, d: Mapping[str, Any]) -> tuple[dict, dict]:
    names = {f.name for f in fields(cls)} - {"extra"}
    d = dict(d or {})
    return {k: d.pop(k) for k in list(d) if k in names}, d


@dataclass(frozen=True, slots=True)
class Side:
    """What one side of a comparison is: model, format, quant, precision class, device, runtime."""

    model: str | None = None
    format: str | None = None
    quant: str | None = None
    precision: str | None = None
    device: str | None = None
    runtime: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "Side":
        return cls(**_known(cls, d or {})[0])


@dataclass(frozen=True, slots=True)
class Roofline:
    """A roofline fraction (achieved ÷ bandwidth-bound decode rate), how it was made, or why none."""

    value: float | None = None
    ci95: tuple[float, float] | None = None
    basis: str = ""
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        return _plain(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "Roofline":
        k = _known(cls, d or {})[0]
        return cls(k.get("value"), _tuple(k.get("ci95")), str(k.get("basis") or ""), str(k.get("why") or ""))


@dataclass(frozen=True, slots=True)
class Ratio:
    """One edge ÷ server figure: both values with units and provenance, the 95 % interval (which
    holds both sides' spread and the run-to-run drift), and compare's verdict on it (None: no
    verdict is given, ``verdict_why`` says why — another model, an energy scope mismatch, ...)."""

    metric: str
    ratio: float | None
    edge_value: float | None = None
    edge_unit: str = ""
    ref_metric: str = ""
    ref_value: float | None = None
    ref_unit: str = ""
    edge_provenance: Provenance | None = None
    ref_provenance: Provenance | None = None
    note: str = ""
    ci95: tuple[float, float] | None = None
    verdict: str | None = None
    verdict_why: str = ""
    margin: float | None = None
    margin_basis: str = ""
    p_value: float | None = None
    n_edge: int | None = None
    n_ref: int | None = None
    drift: float | None = None      # run-to-run drift folded into ci95 (relative, 95 %)
    against: str = "row"            # "row" | "class median"
    extra: dict = field(default_factory=dict)

    @property
    def base_metric(self) -> str:
        return self.metric.split("/params_b")[0].split("×params_b")[0]

    @property
    def edge_estimated(self) -> bool:
        return self.edge_provenance is not None and self.edge_provenance.estimated

    @property
    def ref_estimated(self) -> bool:
        return self.ref_provenance is not None and self.ref_provenance.estimated

    def to_dict(self) -> dict[str, Any]:
        return finite(_plain(self))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Ratio":
        k, extra = _known(cls, d)
        for p in ("edge_provenance", "ref_provenance"):
            k[p] = _prov(k.get(p))
        k["ci95"] = _tuple(k.get("ci95") or extra.pop("interval", None))
        k.setdefault("ratio", None)
        return cls(**k, extra=extra)


@dataclass(frozen=True, slots=True)
class HostBound:
    """Whether a row measures its host (launch overhead, engine build, driver) more than its
    accelerator: True/False with the evidence, None when it cannot be judged (why)."""

    flag: bool | None
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {"flag": self.flag, "evidence": self.evidence}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> "HostBound | None":
        return cls(d.get("flag"), str(d.get("evidence") or "")) if isinstance(d, Mapping) else None


@dataclass(frozen=True, slots=True)
class RowMatch:
    """One reference row compared, judged first: its class, roofline fraction, host-bound flag,
    runtime/build against this run's, load state and energy scope."""

    kind: str
    set_name: str
    row: str
    verification: str = ""
    runtime: str = ""
    host: str | None = None
    device: str | None = None
    device_role: str | None = None
    model: str | None = None
    quant: str | None = None
    format: str | None = None
    result_id: Any = None
    url: str | None = None
    date: str | None = None
    params_factor: float | None = None
    format_note: str = ""
    ratios: tuple[Ratio, ...] = ()
    edge_roofline: Roofline | None = None
    server_roofline: Roofline | None = None
    accel_class: str | None = None
    host_bound: HostBound | None = None
    runtime_note: str = ""          # "runtime differs: llamafile vs llama.cpp"
    contended: str = ""             # "" = not known to be contended; else what the row's load record says
    energy_note: str = ""           # an energy scope mismatch, named
    notes: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)

    def ratio(self, metric: str) -> Ratio | None:
        return next((r for r in self.ratios if r.metric == metric or r.base_metric == metric), None)

    def to_dict(self) -> dict[str, Any]:
        d = _plain(self)
        d["ratios"] = [r.to_dict() for r in self.ratios]
        d["roofline"] = {s: (x.to_dict() if x else None) for s, x in (("edge", self.edge_roofline),
                                                                      ("server", self.server_roofline))}
        del d["edge_roofline"], d["server_roofline"]
        d["host_bound"] = self.host_bound.to_dict() if self.host_bound else None
        return finite(d)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "RowMatch":
        k, extra = _known(cls, d)
        roof = extra.pop("roofline", None) or {}
        k["ratios"] = tuple(Ratio.from_dict(x) for x in k.get("ratios") or ())
        k["edge_roofline"] = Roofline.from_dict(roof["edge"]) if roof.get("edge") else None
        k["server_roofline"] = Roofline.from_dict(roof["server"]) if roof.get("server") else None
        k["host_bound"] = HostBound.from_dict(k.get("host_bound"))
        k["notes"] = tuple(k.get("notes") or ())
        k.setdefault("kind", "none")
        k.setdefault("set_name", "")
        k.setdefault("row", "")
        return cls(**{n: ("" if v is None and n in _STR_FIELDS else v) for n, v in k.items()}, extra=extra)


_STR_FIELDS = {"verification", "runtime", "format_note", "runtime_note", "contended", "energy_note"}


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    """(q1, median, q3) by the inclusive method (a class of 2 rows has q1 and q3 between them)."""
    if len(xs) == 1:
        return xs[0], xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], statistics.median(xs), q[2]


@dataclass(frozen=True, slots=True)
class ClassStats:
    """An accelerator class's matching rows for one metric: their values (what the TUI's dot plot
    draws), n / median / IQR / min–max, how many are host-bound, and edge ÷ the class median."""

    name: str
    metric: str
    unit: str
    values: tuple[float, ...]
    n_host_bound: int = 0
    ratio: Ratio | None = None
    role: str | None = None
    note: str = ""

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def median(self) -> float:
        return quartiles(sorted(self.values))[1]

    @property
    def iqr(self) -> tuple[float, float]:
        q1, _, q3 = quartiles(sorted(self.values))
        return q1, q3

    @property
    def span(self) -> tuple[float, float]:
        return min(self.values), max(self.values)

    def to_dict(self) -> dict[str, Any]:
        return finite({"name": self.name, "metric": self.metric, "unit": self.unit, "values": list(self.values),
                       "n": self.n, "median": self.median, "iqr": list(self.iqr), "min": self.span[0],
                       "max": self.span[1], "n_host_bound": self.n_host_bound, "role": self.role, "note": self.note,
                       "ratio": self.ratio.to_dict() if self.ratio else None})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ClassStats":
        return cls(str(d.get("name") or "?"), str(d.get("metric") or ""), str(d.get("unit") or ""),
                   tuple(float(x) for x in d.get("values") or () if x is not None), int(d.get("n_host_bound") or 0),
                   Ratio.from_dict(d["ratio"]) if d.get("ratio") else None, d.get("role"), str(d.get("note") or ""))


@dataclass(frozen=True, slots=True)
class Comparison:
    """What a record is compared with: the kind, the closest row (``rows[0]``) and its ratios, every
    row compared, context rows (NOT a match), the accelerator classes of the matching rows (the
    first is the headline), and what makes the two sides unlike (energy scope, a contended
    reference). ``summary`` is the one-line form written into the JSON for other readers."""

    kind: str
    set_name: str | None = None
    row: str | None = None
    verification: str | None = None
    edge_side: Side = field(default_factory=Side)
    ref_side: Side | None = None
    format_note: str = ""
    ratios: tuple[Ratio, ...] = ()
    notes: tuple[str, ...] = ()
    rows: tuple[RowMatch, ...] = ()
    context: tuple[RowMatch, ...] = ()
    n_candidates: int = 0
    classes: tuple[ClassStats, ...] = ()
    energy_note: str = ""
    contended: str = ""
    summary: str = ""
    short_reason: str = ""          # ``none``: the reason in a few words (the table cell's)
    extra: dict = field(default_factory=dict)

    @property
    def is_match(self) -> bool:
        return self.kind in MATCHES

    @property
    def first(self) -> RowMatch | None:
        return self.rows[0] if self.rows else None

    @property
    def headline_class(self) -> ClassStats | None:
        return self.classes[0] if self.classes else None

    @property
    def reason(self) -> str:
        """Why there is no match (``none``), in one line."""
        return self.notes[0] if self.notes else "no matching row"

    def ratio(self, metric: str) -> Ratio | None:
        return next((r for r in self.ratios if r.metric == metric or r.base_metric == metric), None)

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind, "set_name": self.set_name, "row": self.row, "verification": self.verification,
             "edge_side": self.edge_side.to_dict(), "ref_side": self.ref_side.to_dict() if self.ref_side else {},
             "format_note": self.format_note, "ratios": [r.to_dict() for r in self.ratios],
             "notes": list(self.notes), "rows": [r.to_dict() for r in self.rows],
             "context": [r.to_dict() for r in self.context], "n_candidates": self.n_candidates,
             "classes": [c.to_dict() for c in self.classes], "energy_note": self.energy_note,
             "contended": self.contended, "summary": self.summary, "short_reason": self.short_reason}
        return finite({**d, **self.extra})

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Comparison":
        k, extra = _known(cls, d)
        k.setdefault("kind", "none")
        k["edge_side"] = Side.from_dict(k.get("edge_side"))
        k["ref_side"] = Side.from_dict(k["ref_side"]) if k.get("ref_side") else None
        for name, typ in (("ratios", Ratio), ("rows", RowMatch), ("context", RowMatch), ("classes", ClassStats)):
            k[name] = tuple(typ.from_dict(x) for x in k.get(name) or () if isinstance(x, Mapping))
        k["notes"] = tuple(str(x) for x in k.get("notes") or ())
        for s in ("format_note", "energy_note", "contended", "summary", "short_reason"):
            k[s] = str(k.get(s) or "")
        k["n_candidates"] = int(k.get("n_candidates") or 0)
        return cls(**k, extra=extra)


def as_comparison(x: "Comparison | Mapping[str, Any] | None") -> "Comparison | None":
    """The JSON boundary: a Comparison from a Comparison, a dict (old or new records) or None."""
    if x is None or isinstance(x, Comparison):
        return x
    if not isinstance(x, Mapping):  # a record file is untrusted input: one line, never a traceback later
        raise ValueError(f"Record.reference is {type(x).__name__}, not an object")
    return Comparison.from_dict(x) if x else None
