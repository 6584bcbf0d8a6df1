"""A reference set's ``reference.json`` as values, read once where the file is read
(``refsets.load_set``): what the set compares and how (``Compared``), where its rows come from
(an importer, a ``records_csv`` mapping, records.jsonl), the facts it adds about its models
(``ModelFacts``: real parameter counts and file sizes a site does not publish), and the summary
its writer stored (``SetSummary``). Matching, listing and the views read attributes; ``raw``
keeps the JSON as it was for the places that write or print it whole."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class Compared:
    """How one edge metric is compared with this set's rows: the reference metric it is divided
    by, a scale and unit for the edge figure (None: its own), and the caveat printed with it."""
    ref: str
    edge_scale: float = 1.0
    edge_unit: str | None = None
    caveat: str = ""

    @classmethod
    def from_dict(cls, metric: str, d: Mapping[str, Any]) -> "Compared":
        return cls(str(d.get("ref", metric)), float(d.get("edge_scale", 1.0)), d.get("edge_unit"),
                   str(d.get("caveat", "")))


@dataclass(frozen=True)
class CsvMetric:
    name: str
    column: str
    unit: str


@dataclass(frozen=True)
class CsvMapping:
    """A published table read as records (``records_csv``, EfficientLLM): the file, its
    per-cell provenance file, the metric columns and the provenance every figure carries."""
    file: str
    provenance_file: str | None
    metrics: tuple[CsvMetric, ...]
    kind: str = "reference"
    source: str = ""
    scope: str | None = None
    period_s: float | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "CsvMapping":
        prov = d.get("provenance", {})
        return cls(d["file"], d.get("provenance_file") or None,
                   tuple(CsvMetric(name, m["column"], m["unit"]) for name, m in d["metrics"].items()),
                   prov.get("kind", "reference"), prov.get("source", ""), prov.get("scope"), prov.get("period_s"))


@dataclass(frozen=True)
class FileFacts:
    """A model file's size as a set states it, with its basis, and the catalogue entry it is."""
    size_bytes: int | None = None
    basis: str | None = None
    catalogue_id: str | None = None


@dataclass(frozen=True)
class ModelFacts:
    """What a set knows about a model beyond its rows (LocalScore's ``models`` block)."""
    params: float | None = None
    params_basis: str | None = None
    files: Mapping[str, FileFacts] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ModelFacts":
        files = {q: FileFacts(f.get("size_bytes"), f.get("basis"), f.get("catalogue_id"))
                 for q, f in (d.get("files") or {}).items()}
        return cls(d.get("params"), d.get("params_basis"), files)


def read_model_facts(models: Mapping[str, Any] | None) -> dict[str, ModelFacts]:
    """A ``models`` block (model id -> facts), typed; one already typed is returned as it is."""
    return {k: v if isinstance(v, ModelFacts) else ModelFacts.from_dict(v) for k, v in (models or {}).items()}


@dataclass(frozen=True)
class SetSummary:
    """What ``reference list`` shows of a set's rows, stored by its writer so a large import is
    listed without reading it (``refwrite.list_summary``); ``file``/``stamp`` say which rows file
    it describes (size, mtime) when stored."""
    rows_ok: int
    suites: tuple[str, ...]
    energy: tuple[str, ...]
    load: str | None = None
    file: str | None = None
    stamp: tuple[int, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {} if self.file is None else {"file": self.file, "stamp": list(self.stamp or ())}
        return {**out, "rows_ok": self.rows_ok, "suites": list(self.suites), "energy": list(self.energy),
                "load": self.load}

    @classmethod
    def from_dict(cls, d: Any) -> "SetSummary | None":
        """The stored summary, or None where it is absent or not what a writer stores."""
        if not isinstance(d, dict) or not isinstance(d.get("file"), str) or not isinstance(d.get("rows_ok"), int):
            return None
        texts = (d.get("suites"), d.get("energy"))
        if not all(isinstance(t, list) and all(isinstance(x, str) for x in t) for t in texts):
            return None
        stamp = d.get("stamp")
        return cls(d["rows_ok"], tuple(d["suites"]), tuple(d["energy"]), d.get("load"), d["file"],
                   tuple(stamp) if isinstance(stamp, list) and len(stamp) == 2 else None)


@dataclass(frozen=True)
class SetMeta:
    """``reference.json``: the keys edgeprof reads, typed; the whole object in ``raw``."""
    name: str | None = None
    title: str | None = None
    source: Any = None                      # text, or an object naming a paper / database
    verification_status: str = "unknown"
    importer: str | None = None
    records_file: str | None = None
    records_csv: CsvMapping | None = None
    refreshes: str | None = None
    comparable: Mapping[str, Compared] | None = None   # None: every reference metric, as itself
    not_comparable: Mapping[str, str] = field(default_factory=dict)
    runtime: str = "unknown"
    runtime_label: str | None = None
    device: str | None = None
    spec_id: str | None = None
    workload_known: bool = True
    families: Mapping[str, str] = field(default_factory=dict)
    metric_definitions: Mapping[str, str] = field(default_factory=dict)
    energy_provenance: tuple[str, ...] = ()
    models: Mapping[str, ModelFacts] = field(default_factory=dict)
    summary: SetSummary | None = None
    imported_from: str | None = None
    imported_at: str | None = None
    paper: str = ""                         # the source object's paper / database, when it names one
    database: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "SetMeta":
        sw, hw, wl = d.get("software") or {}, d.get("hardware") or {}, d.get("workload") or {}
        imp = d.get("imported") if isinstance(d.get("imported"), dict) else {}
        defs = d.get("metric_definitions")
        comparable, src = d.get("comparable") or None, d.get("source")
        return cls(
            name=d.get("name"), title=d.get("title"), source=src,
            verification_status=str(d.get("verification_status", "unknown")), importer=d.get("importer") or None,
            records_file=d.get("records_file"),
            records_csv=CsvMapping.from_dict(d["records_csv"]) if "records_csv" in d else None,
            refreshes=d.get("refreshes") or None,
            comparable={m: Compared.from_dict(m, how) for m, how in comparable.items()} if comparable else None,
            not_comparable=d.get("not_comparable") or {}, runtime=sw.get("runtime", "unknown"),
            runtime_label=sw.get("runtime_label"), device=hw.get("device"), spec_id=hw.get("spec_id"),
            workload_known=bool(wl.get("known", True)), families=d.get("families", {}),
            metric_definitions=defs if isinstance(defs, dict) else {},
            energy_provenance=tuple(d.get("energy_provenance") or ()), models=read_model_facts(d.get("models")),
            summary=SetSummary.from_dict(d.get("summary")),
            imported_from=str(imp.get("from")) if imp else None, imported_at=imp.get("imported_at") if imp else None,
            paper=str(src.get("paper", "")) if isinstance(src, dict) else "",
            database=str(src.get("database") or "") if isinstance(src, dict) else "", raw=dict(d))

    def to_dict(self) -> dict[str, Any]:
        return dict(self.raw)

    @property
    def source_text(self) -> str:
        """The set's source when it is text ("" when it names a paper or database)."""
        return self.source if isinstance(self.source, str) else ""
