"""Reference sets on disk: packaged (``assets/reference/``) and the user's (``$EDGEPROF_HOME/reference/``).

A set is a directory with ``reference.json`` (name, source, hardware, software, workload,
verification status) and its rows in one of three forms: ``records.jsonl`` (CONTRACTS schema, what
``reference add``/``build`` write), a published CSV mapped by ``records_csv`` (EfficientLLM), or a
file read by a named importer (``"importer": "localscore"`` + ``records_file``), the same importer
``edgeprof reference import`` runs. Why packaged names are reserved: a user set that took the name
``localscore`` would be shown with the packaged set's provenance; a refreshed import gets its own
name and says which packaged set it ``refreshes`` (that one is then left out of matching).
"""
from __future__ import annotations

import csv
import json
import re
import shlex
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping

from edgeprof.assets_access import asset
from edgeprof.compare.setmeta import Compared, SetMeta, SetSummary
from edgeprof.errors import UsageError
from edgeprof.home import reference_dir
from edgeprof.results.jsonl import read_records
from edgeprof.results.schema import Record

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class ReferenceSetError(UsageError):  # unknown or malformed reference set (one-line message)
    pass


@dataclass
class RefSet:
    name: str
    path: Path
    meta: SetMeta
    #: the rows once read (None: not read yet; ``records`` reads them)
    preloaded: list[Record] | None
    origin: str  # "packaged" | "user"
    #: set by a listing (``load_sets(listing=True)``): the summary reference.json stores; the rows
    #: are then not read
    listed: SetSummary | None = None
    #: the set's current row index (``refindex.py``): matching reads only the rows it needs
    index: Any = None
    load_note: str | None = None   # an index that exists but is not used (stale, unreadable)
    notes: list[str] = field(default_factory=list)   # an index found not to match while matching
    _groups: list | None = field(default=None, repr=False, compare=False)
    _ok: list | None = field(default=None, repr=False, compare=False)
    _read: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def records(self) -> list[Record]:
        """Every row of the set (read on first use)."""
        if self.preloaded is None:
            self.preloaded = _records(self.path, self.meta)
        return self.preloaded

    def groups(self) -> list:
        """The ok rows grouped by model, workload and quant (``refindex.RowGroup``), from the index
        when it is current, else from every row."""
        from edgeprof.compare import refindex

        if self._groups is None:
            self._groups = list(self.index.groups) if self.index is not None else refindex.groups_of(self._ok_rows())
        return self._groups

    def _ok_rows(self) -> list[Record]:
        if self._ok is None:
            self._ok = [r for r in self.records if r.ok]
        return self._ok

    def rows_of(self, groups: list) -> list[Record]:
        """The rows of ``groups`` in file order: read through the index (only those), or taken from
        every row. Raises ``refindex.StaleIndex`` after falling back to a full read when a row is
        not what the index says (the caller asks again)."""
        from edgeprof.compare import refindex

        positions = sorted(p for g in groups for p in g.positions)
        if self.index is None:
            ok = self._ok_rows()
            return [ok[p] for p in positions]
        want = {p: g.key for g in groups for p in g.positions if p not in self._read}
        if want:
            try:
                self._read.update(refindex.read_rows(self.path, self.meta, self.index, sorted(want), want))
            except refindex.StaleIndex as exc:
                self.notes.append(f"reference set {self.name}: its row index does not match its rows ({exc}); "
                                  f"every row was read — rebuild the set with the command that made it")
                self.index, self._groups, self._read = None, None, {}
                raise
        return [self._read[p] for p in positions]

    def submissions(self) -> list:
        """What the what-if fit reads of each row: the stored columns of a LocalScore import while
        its rows file is unchanged (``refindex.load_fit``), else the rows themselves."""
        from edgeprof.compare import refindex

        if self.preloaded is None and self.origin == "user":
            subs = refindex.load_fit(self.path, self.meta.records_file)
            if subs is not None:
                return subs
        return self.records

    @property
    def verification(self) -> str:
        return self.meta.verification_status

    @property
    def comparable(self) -> Mapping[str, Compared]:
        from edgeprof.results import metric_catalogue

        return self.meta.comparable or {d.name: Compared(d.name) for d in metric_catalogue.reference_metrics()}

    @property
    def not_comparable(self) -> Mapping[str, str]:
        return self.meta.not_comparable

    @property
    def runtime_label(self) -> str | None:
        return self.meta.runtime_label


def _importers() -> dict[str, Callable[[Path, SetMeta], list[Record]]]:
    from edgeprof.compare import localscore

    return {"localscore": lambda path, meta: localscore.read_tsv(path, meta.models)}


def read_csv_records(folder: Path, meta: SetMeta) -> list[Record]:
    """Published table → CONTRACTS-shaped records, per the set's ``records_csv`` mapping
    (EfficientLLM): the CSV reader, so its rows are read by column name here and only here."""
    spec = meta.records_csv
    prov_rows: dict[tuple, dict] = {}
    if spec.provenance_file:
        with open(folder / spec.provenance_file, newline="") as fh:
            prov_rows = {(p["model"], p["precision"], p["metric"]): p for p in csv.DictReader(fh)}
    quant = {"bfloat16": "bf16", "float16": "fp16"}
    out = []
    with open(folder / spec.file, newline="") as fh:
        for row in csv.DictReader(fh):
            metrics = {}
            for m in spec.metrics:
                if not (value := (row.get(m.column) or "").strip()):
                    continue
                p = prov_rows.get((row["model"], row["precision"], m.column), {})
                notes = [row["verification_status"].split(":")[0], p.get("note", ""),
                         meta.metric_definitions.get(m.name, "")]
                metrics[m.name] = {
                    "value": float(value), "unit": m.unit, "n": 1, "median": float(value), "p90": None,
                    "cv": None, "ci95": None, "samples": [],
                    "provenance": {"kind": spec.kind, "source": spec.source.format(**row),
                                   "scope": spec.scope, "period_s": spec.period_s,
                                   "note": " | ".join(n for n in notes if n)}}
            out.append(Record.from_dict({
                "schema_version": 1, "case_id": f"{row['model']}/{row['precision']}",
                "status": "ok" if metrics else "skipped",
                "verification_status": row["verification_status"], "row_notes": row.get("row_notes", ""),
                "model": {"id": row["model"].lower(), "name": row["model"], "family": meta.families.get(row["model"]),
                          "params": float(row["params_b"]) * 1e9, "params_basis": row.get("params_b_basis"),
                          "hf_id": row.get("hf_id_in_author_code")},
                "artifact": {"format": "hf", "quant": quant.get(row["precision"], row["precision"]),
                             "method": row.get("int4_method_in_author_code") or None},
                "runtime": {"name": meta.runtime},
                "device": {"id": meta.spec_id, "kind": "nvidia", "name": meta.device},
                "workload": {"prompt_tokens": None, "gen_tokens": None, "depth": None, "n_seqs": None},
                "metrics": metrics}))
    return out


def _records(folder: Path, meta: SetMeta) -> list[Record]:
    if meta.importer:
        importer = _importers().get(meta.importer)
        if importer is None:
            raise ReferenceSetError(f"{folder}: unknown importer {meta.importer!r} (known: "
                                    f"{', '.join(_importers())})")
        return importer(folder / (meta.records_file or ""), meta)
    if meta.records_csv is not None:
        return read_csv_records(folder, meta)
    if (folder / "records.jsonl").is_file():
        return read_records(folder / "records.jsonl")
    raise ReferenceSetError(f"reference set {folder} has neither records.jsonl, a records_csv mapping nor an importer")


def load_set(folder: str | Path, origin: str = "user", listing: bool = False) -> RefSet:
    folder = Path(folder)
    meta_path = folder / "reference.json"
    if not meta_path.is_file():
        raise ReferenceSetError(f"not a reference set: {folder} (no reference.json)")
    try:
        raw = json.loads(meta_path.read_bytes())
    except (ValueError, OSError, RecursionError) as exc:  # a user set is untrusted input
        raise ReferenceSetError(f"{meta_path}: not readable JSON ({str(exc)[:120]}); repair or remove the set") from None
    if not isinstance(raw, dict):
        raise ReferenceSetError(f"{meta_path}: not a JSON object; repair or remove the set")
    if origin == "packaged":
        return _packaged(str(folder), meta_path.stat().st_mtime_ns)
    meta = SetMeta.from_dict(raw)
    name = meta.name if "name" in raw else folder.name
    summary = _current_summary(folder, meta) if listing else None
    if summary is not None:
        return RefSet(name, folder, meta, None, origin, listed=summary)
    from edgeprof.compare import refindex

    index, why = refindex.load(folder, _rows_name(folder, meta))
    if index is None:  # no current index: every row is read now (a malformed set fails here, as before)
        return RefSet(name, folder, meta, _records(folder, meta), origin,
                      load_note=f"reference set {name}: {why}" if why else None)
    return RefSet(name, folder, meta, None, origin, index=index)


def _rows_name(folder: Path, meta: SetMeta) -> str | None:
    """The file holding the rows an index can point into: an importer's file or records.jsonl."""
    if meta.importer:
        return str(meta.records_file or "") or None
    if meta.records_csv is not None:
        return None
    return "records.jsonl"


def _current_summary(folder: Path, meta: SetMeta) -> SetSummary | None:
    """The summary the set's writer stored, while its rows file is unchanged (size and mtime);
    None when absent or stale (then the rows are read)."""
    summary = meta.summary
    if summary is None:
        return None
    f = folder / str(summary.file)
    try:
        st = f.stat() if f.parent == folder else None
    except OSError:
        return None
    if st is None or summary.stamp != (st.st_size, st.st_mtime_ns):
        return None
    return summary


@lru_cache(maxsize=8)
def _packaged(folder: str, _mtime_ns: int) -> RefSet:
    """Packaged sets are read once per process (LocalScore: 1,218 rows)."""
    path = Path(folder)
    raw = json.loads((path / "reference.json").read_text())
    meta = SetMeta.from_dict(raw)
    return RefSet(meta.name if "name" in raw else path.name, path, meta, _records(path, meta), "packaged")


def packaged_names() -> list[str]:
    root = asset("reference")
    out = []
    for d in sorted(p for p in root.iterdir() if (p / "reference.json").is_file()):
        try:
            out.append(json.loads((d / "reference.json").read_text()).get("name", d.name))
        except json.JSONDecodeError:
            out.append(d.name)
    return out


def check_name(name: str) -> None:
    """A user set's name: letters, digits, ``. _ -``, and never a packaged set's name."""
    if not NAME_RE.fullmatch(name or ""):
        raise ReferenceSetError(f"bad reference name '{name}' (letters, digits, . _ - only)")
    taken = next((p for p in packaged_names() if p.casefold() == (name or "").casefold()), None)
    if taken is not None:  # case-insensitive: 'LocalScore' would shadow 'localscore' on a case-insensitive disk
        raise ReferenceSetError(f"reference set name '{name}' is reserved for the packaged set '{taken}'; pass "
                                f"another --name (e.g. {shlex.quote(name + '-mine')})")


def load_sets(user_dir: str | Path | None = None, env: dict | None = None,
              notes: list[str] | None = None, listing: bool = False) -> list[RefSet]:
    """Packaged sets, then user sets. A user set that takes a packaged name is left out (with a
    note), never allowed to pass for the packaged one; a malformed user set is skipped with one
    note naming it (it must not switch off every other set). ``listing``: a user set whose stored
    summary is current is not read (``RefSet.listed``; ``reference list``)."""
    sets: list[RefSet] = []
    root = asset("reference")
    for d in sorted(p for p in root.iterdir() if (p / "reference.json").is_file()):
        sets.append(load_set(d, "packaged"))
    reserved = {s.name.casefold() for s in sets}
    udir = Path(user_dir) if user_dir else reference_dir(env)
    if udir.is_dir():
        for d in sorted(p for p in udir.iterdir() if (p / "reference.json").is_file()):
            try:
                s = load_set(d, "user", listing=listing)
                if notes is not None and s.load_note:
                    notes.append(s.load_note)
            except (UsageError, ValueError, OSError, KeyError, TypeError, AttributeError, RecursionError) as exc:
                # one broken set is skipped, with one warning naming it; the others (packaged ones
                # included) stay usable
                if notes is not None:
                    notes.append(f"user reference set {d} is skipped: {str(exc)[:200]}; repair or remove it")
                continue
            if str(s.name).casefold() in reserved:
                if notes is not None:
                    notes.append(f"user reference set {d} takes the packaged name '{s.name}' and is ignored; "
                                 f"rename it")
                continue
            sets.append(s)
    return sets


def matching_sets(sets: list[RefSet]) -> list[RefSet]:
    """The sets used for matching: a packaged set that a user import ``refreshes`` steps aside."""
    refreshed = {s.meta.refreshes for s in sets if s.origin == "user" and s.meta.refreshes}
    return [s for s in sets if not (s.origin == "packaged" and s.name in refreshed)]


def get_set(name: str, sets: list[RefSet]) -> RefSet:
    for s in sets:
        if s.name == name:
            return s
    raise ReferenceSetError(f"unknown reference set '{name}' (known: {', '.join(s.name for s in sets) or 'none'})")
