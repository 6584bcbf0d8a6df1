"""Writing user reference sets: from a run (``reference add``, ``reference build``) or from a
public database export (``reference import localscore FILE.tsv``), into ``$EDGEPROF_HOME/reference/NAME``.

Why the set-level status names its energy source: a set measured by edgeprof on a machine without
RAPL carries TDP-*estimated* power; the old status "MEASURED" next to a power ratio read as if the
power had been measured. Every value keeps its own provenance kind (records are copied as they
are), and the set's status says "MEASURED (power/energy ESTIMATED: tdp_model)" when that is so.
A suite's summaries (``suite.json``) are added as rows, so another machine's suite summary matches
them exactly. Sets are written to a temporary directory and renamed (never half-written).
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

from edgeprof.compare import refindex
from edgeprof.compare.refsets import ReferenceSetError, check_name
from edgeprof.compare.setmeta import SetSummary
from edgeprof.errors import check_writable, os_fault
from edgeprof.home import home_fix, reference_dir
from edgeprof.results.schema import Record

ENERGY_METRICS = ("energy_per_token_j", "avg_power_w", "energy_gross_j")


def energy_provenance(records: list[Record]) -> list[str]:
    """``kind: source`` of every energy/power figure in the rows (e.g. "estimated: tdp_model")."""
    out: list[str] = []
    for r in records:
        for m in ENERGY_METRICS:
            metric = r.metric(m)
            if metric is not None:
                tag = f"{metric.provenance.kind}: {metric.provenance.source}"
                if tag not in out:
                    out.append(tag)
    return out


def list_summary(records: list[Record]) -> SetSummary:
    """What ``reference list`` shows of a set's rows (stored in reference.json at write time, so a
    300,000-row import is listed without reading it)."""
    return SetSummary(sum(1 for r in records if r.ok), tuple(sorted({r.workload.suite for r in records
                                                                     if r.workload.suite})),
                      tuple(sorted({k.split(":")[0] for k in energy_provenance(records)})), load_state(records))


def load_state(records: list[Record]) -> str:
    """Whether the rows were measured on a busy machine (their own load records say so): a
    contended reference is labelled wherever it is listed."""
    from edgeprof.compare.classes import contended

    ok = [r for r in records if r.ok]
    busy = sum(1 for r in ok if contended(r))
    if busy:
        return f"CONTENDED: {busy} of {len(ok)} rows measured on a busy machine"
    return "quiet" if any(r.conditions.load is not None for r in ok) else "not recorded"


def status_for(records: list[Record]) -> str:
    kinds = energy_provenance(records)
    estimated = sorted({k.split(": ", 1)[1] for k in kinds if k.startswith("estimated")})
    if estimated:
        return f"MEASURED (power/energy ESTIMATED: {', '.join(estimated)})"
    return "MEASURED"


def target(name: str, dest_root: str | Path | None, overwrite: bool, env: dict | None = None) -> Path:
    check_name(name)
    dest = Path(dest_root) if dest_root else reference_dir(env)
    path = dest / name
    if path.exists() and not overwrite:
        raise ReferenceSetError(f"reference set '{name}' exists at {path} (use --overwrite)")
    check_writable(dest, named=f"the reference folder {dest}", fix=home_fix(dest))  # before a build runs
    return path


def write(path: Path, meta: dict[str, Any], records: list[Record] | None = None,
          copy: tuple[Path, ...] = (), rows: list[Record] | None = None) -> Path:
    """reference.json (+ records.jsonl, + copied files) into ``path``, atomically. ``rows`` (the
    set's rows when they are not ``records``: an importer's file) and ``records`` are summarised into
    ``meta["summary"]``, stamped with the rows file's size and mtime (``refsets.load_set``'s listing
    trusts it only while both are unchanged)."""
    tmp = path.parent / f".{path.name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    writing = tmp
    try:
        tmp.mkdir(parents=True)
        for f in copy:
            writing = tmp / f.name
            shutil.copy2(f, writing)
        lines = None
        if records is not None:
            writing = tmp / "records.jsonl"
            lines = [json.dumps(r.to_dict()) + "\n" for r in records]
            writing.write_text("".join(lines))
        rows_file = tmp / ("records.jsonl" if records is not None else str(meta.get("records_file") or ""))
        if (rows if rows is not None else records) is not None and rows_file.is_file():
            st = rows_file.stat()
            summary = replace(list_summary(rows if rows is not None else records), file=rows_file.name,
                              stamp=(st.st_size, st.st_mtime_ns))
            meta = dict(meta, summary=summary.to_dict())
            writing = tmp / refindex.INDEX
            _index(tmp, rows_file, meta, records, rows, lines)
        writing = tmp / "reference.json"
        writing.write_text(json.dumps(meta, indent=2) + "\n")
    except OSError as exc:  # a full or read-only disk: no half set is left, the old one is untouched
        shutil.rmtree(tmp, ignore_errors=True)
        raise os_fault(path / writing.name if writing != tmp else path, exc, fix=home_fix(path)) from None
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)
    return path


def _index(folder: Path, rows_file: Path, meta: dict, records: list[Record] | None, rows: list[Record] | None,
           lines: list[str] | None) -> None:
    """The set's row index (``refindex.py``): records.jsonl's offsets are known from writing it, an
    importer's file is scanned once for them."""
    if records is not None and lines is not None:
        refindex.write(folder, rows_file, "jsonl", records, refindex.jsonl_offsets(lines))
    elif rows is not None and meta.get("importer") in refindex.READERS:
        from edgeprof.compare.localscore import row_offsets

        refindex.write(folder, rows_file, meta["importer"], rows, row_offsets(rows_file))


def from_run(run_dir: str | Path, name: str, dest_root: str | Path | None = None, overwrite: bool = False,
             env: dict | None = None, build: dict | None = None) -> Path:
    """A run directory (and its suite.json summaries) as reference set ``name``; ``build`` adds
    what ``reference build`` knows about the machine and runtime build."""
    from edgeprof import __version__
    from edgeprof.results.history import load_run

    path = target(name, dest_root, overwrite, env)
    run = load_run(run_dir)
    src = Path(run_dir)
    records = [r for r in run["records"] if r.ok]
    if not records:
        raise ReferenceSetError(f"{src}: no successful case to use as a reference")
    summaries: list[Record] = []
    data = run.get("suite") or {}   # read bounded and shape-checked by load_run (results/sidefiles.py)
    summaries = [s for s in (Record.from_dict(x) for suite in data.get("suites") or []
                             for x in suite.get("summaries") or []) if s.ok]
    env_json = run.get("env") or {}
    version = records[0].conditions.edgeprof_version or env_json.get("edgeprof") or __version__
    devices = {json.dumps(r.device.to_dict(), sort_keys=True): r.device.to_dict() for r in records}
    names = sorted({str(d.get("name")) for d in devices.values()})
    runtimes = sorted({" ".join(str(x) for x in (r.runtime.name, r.runtime.version) if x) for r in records})
    first = records[0]
    meta = {"name": name, "title": f"edgeprof run {first.run_id} used as a reference",
            "source": f"measured by edgeprof v{version} on {', '.join(names)}",
            "created_from": {"run_dir": str(src.resolve()), "run_id": first.run_id, "host": first.host,
                             "started_at": first.started_at},
            "verification_status": status_for(records), "energy_provenance": energy_provenance(records),
            "hardware": {"devices": list(devices.values()), "env": {k: env_json.get(k) for k in
                                                                    ("platform", "cpu_governor", "devices")}},
            "software": {"runtimes": runtimes, "versions": env_json.get("versions"),
                         "runtime_extra": first.conditions.runtime_extra},
            "workload": {"known": True, "keys": sorted({json.dumps(r.workload_key()) for r in records}),
                         "suites": sorted({s.workload.suite for s in summaries})},
            "metric_definitions": "CONTRACTS.md records.jsonl, schema_version 1 (metric names carry their units)"}
    if build:
        meta.update(build)
    copy = tuple(src / f for f in ("plan.json", "env.json", "baseline.json", "suite.json") if (src / f).is_file())
    return write(path, meta, records + summaries, copy)


def import_localscore(tsv: str | Path, name: str | None = None, dest_root: str | Path | None = None,
                      overwrite: bool = False, env: dict | None = None) -> tuple[Path, int]:
    """A newer LocalScore export as a user set that ``refreshes`` the packaged one, checked by the
    same loader (a malformed row fails with its line number before anything is written)."""
    from edgeprof.assets_access import asset
    from edgeprof.compare.localscore import read_tsv

    packaged = json.loads(asset("reference", "localscore", "reference.json").read_text())
    tsv = Path(tsv)
    rows = read_tsv(tsv, packaged.get("models"))
    latest = max(str(r.started_at or "") for r in rows)
    name = name or f"localscore-{latest[:10].replace('-', '')}"
    path = target(name, dest_root, overwrite, env)
    meta = dict(packaged, name=name, refreshes="localscore", records_file=tsv.name,
                title=f"LocalScore public results, imported from {tsv.name} ({len(rows)} rows, latest {latest[:10]})",
                source=dict(packaged["source"], export=str(tsv.resolve()), files=[tsv.name],
                            imported_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")))
    return write(path, meta, None, (tsv,), rows=rows), len(rows)
