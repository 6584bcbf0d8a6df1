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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from edgeprof.assets_access import asset
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
    meta: dict[str, Any]
    records: list[Record]
    origin: str  # "packaged" | "user"
    #: set by a listing (``load_sets(listing=True)``): the summary reference.json stores; ``records``
    #: is then left empty (not read)
    listed: dict[str, Any] | None = None

    @property
    def verification(self) -> str:
        return str(self.meta.get("verification_status", "unknown"))

    @property
    def comparable(self) -> dict[str, dict]:
        from edgeprof.results import metric_catalogue

        return self.meta.get("comparable") or {d.name: {"ref": d.name} for d in metric_catalogue.reference_metrics()}

    @property
    def not_comparable(self) -> dict[str, str]:
        return self.meta.get("not_comparable") or {}

    @property
    def runtime_label(self) -> str | None:
        return (self.meta.get("software") or {}).get("runtime_label")


def _importers() -> dict[str, Callable[[Path, dict], list[Record]]]:
    from edgeprof.compare import localscore

    return {"localscore": lambda path, meta: localscore.read_tsv(path, meta.get("models"))}


def _csv_records(folder: Path, meta: dict) -> list[Record]:
    """Published table → CONTRACTS-shaped records, per the set's ``records_csv`` mapping (EfficientLLM)."""
    spec = meta["records_csv"]
    prov_rows: dict[tuple, dict] = {}
    if spec.get("provenance_file"):
        with open(folder / spec["provenance_file"], newline="") as fh:
            prov_rows = {(p["model"], p["precision"], p["metric"]): p for p in csv.DictReader(fh)}
    quant = {"bfloat16": "bf16", "float16": "fp16"}
    families = meta.get("families", {})
    base_prov = spec.get("provenance", {})
    out = []
    with open(folder / spec["file"], newline="") as fh:
        for row in csv.DictReader(fh):
            metrics = {}
            for name, m in spec["metrics"].items():
                if not (value := (row.get(m["column"]) or "").strip()):
                    continue
                p = prov_rows.get((row["model"], row["precision"], m["column"]), {})
                notes = [row["verification_status"].split(":")[0], p.get("note", ""),
                         meta.get("metric_definitions", {}).get(name, "")]
                metrics[name] = {
                    "value": float(value), "unit": m["unit"], "n": 1, "median": float(value), "p90": None,
                    "cv": None, "ci95": None, "samples": [],
                    "provenance": {"kind": base_prov.get("kind", "reference"),
                                   "source": base_prov.get("source", "").format(**row),
                                   "scope": base_prov.get("scope"), "period_s": base_prov.get("period_s"),
                                   "note": " | ".join(n for n in notes if n)}}
            out.append(Record.from_dict({
                "schema_version": 1, "case_id": f"{row['model']}/{row['precision']}",
                "status": "ok" if metrics else "skipped",
                "verification_status": row["verification_status"], "row_notes": row.get("row_notes", ""),
                "model": {"id": row["model"].lower(), "name": row["model"], "family": families.get(row["model"]),
                          "params": float(row["params_b"]) * 1e9, "params_basis": row.get("params_b_basis"),
                          "hf_id": row.get("hf_id_in_author_code")},
                "artifact": {"format": "hf", "quant": quant.get(row["precision"], row["precision"]),
                             "method": row.get("int4_method_in_author_code") or None},
                "runtime": {"name": meta.get("software", {}).get("runtime", "unknown")},
                "device": {"id": meta.get("hardware", {}).get("spec_id"), "kind": "nvidia",
                           "name": meta.get("hardware", {}).get("device")},
                "workload": {"prompt_tokens": None, "gen_tokens": None, "depth": None, "n_seqs": None},
                "metrics": metrics}))
    return out


def _records(folder: Path, meta: dict) -> list[Record]:
    if meta.get("importer"):
        importer = _importers().get(meta["importer"])
        if importer is None:
            raise ReferenceSetError(f"{folder}: unknown importer {meta['importer']!r} (known: "
                                    f"{', '.join(_importers())})")
        return importer(folder / meta.get("records_file", ""), meta)
    if "records_csv" in meta:
        return _csv_records(folder, meta)
    if (folder / "records.jsonl").is_file():
        return read_records(folder / "records.jsonl")
    raise ReferenceSetError(f"reference set {folder} has neither records.jsonl, a records_csv mapping nor an importer")


def load_set(folder: str | Path, origin: str = "user", listing: bool = False) -> RefSet:
    folder = Path(folder)
    meta_path = folder / "reference.json"
    if not meta_path.is_file():
        raise ReferenceSetError(f"not a reference set: {folder} (no reference.json)")
    try:
        meta = json.loads(meta_path.read_bytes())
    except (ValueError, OSError, RecursionError) as exc:  # a user set is untrusted input
        raise ReferenceSetError(f"{meta_path}: not readable JSON ({str(exc)[:120]}); repair or remove the set") from None
    if not isinstance(meta, dict):
        raise ReferenceSetError(f"{meta_path}: not a JSON object; repair or remove the set")
    if origin == "packaged":
        return _packaged(str(folder), meta_path.stat().st_mtime_ns)
    summary = _current_summary(folder, meta) if listing else None
    if summary is not None:
        return RefSet(name=meta.get("name", folder.name), path=folder, meta=meta, records=[], origin=origin,
                      listed=summary)
    return RefSet(name=meta.get("name", folder.name), path=folder, meta=meta, records=_records(folder, meta),
                  origin=origin)


def _current_summary(folder: Path, meta: dict) -> dict[str, Any] | None:
    """The summary the set's writer stored, while its rows file is unchanged (size and mtime);
    None when absent or stale (then the rows are read)."""
    summary = meta.get("summary")
    if not isinstance(summary, dict) or not isinstance(summary.get("file"), str):
        return None
    f = folder / summary["file"]
    try:
        st = f.stat() if f.parent == folder else None
    except OSError:
        return None
    if st is None or summary.get("stamp") != [st.st_size, st.st_mtime_ns]:
        return None
    texts = (summary.get("suites"), summary.get("energy"))
    if not isinstance(summary.get("rows_ok"), int) or not all(
            isinstance(t, list) and all(isinstance(x, str) for x in t) for t in texts):
        return None
    return summary


@lru_cache(maxsize=8)
def _packaged(folder: str, _mtime_ns: int) -> RefSet:
    """Packaged sets are read once per process (LocalScore: 1,218 rows)."""
    path = Path(folder)
    meta = json.loads((path / "reference.json").read_text())
    return RefSet(name=meta.get("name", path.name), path=path, meta=meta, records=_records(path, meta),
                  origin="packaged")


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
    refreshed = {s.meta.get("refreshes") for s in sets if s.origin == "user" and s.meta.get("refreshes")}
    return [s for s in sets if not (s.origin == "packaged" and s.name in refreshed)]


def get_set(name: str, sets: list[RefSet]) -> RefSet:
    for s in sets:
        if s.name == name:
            return s
    raise ReferenceSetError(f"unknown reference set '{name}' (known: {', '.join(s.name for s in sets) or 'none'})")
