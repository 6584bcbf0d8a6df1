"""Run directories and the history index (CONTRACTS.md "User directories": ``history.sqlite``, or
a PostgreSQL database: ``store.py``).

Reading: ``load_run(run_dir)``. Index: ``index_run(run_dir, db_path=None)`` stores the run (run_id,
dir, host, device, started_at, origin, board) and each record (flattened key columns + the full JSON, in
records.jsonl order); ``find_run(name_or_id)`` resolves a run_id (or unique prefix) or a directory
name to its directory. ``db_path`` is a SQLite path, a postgresql:// URL or None: the configured
store (``--history``/``EDGEPROF_HISTORY``/config entry/default, ``store.resolve``).

``drift_margins(db_path, host, metrics)`` measures each metric's own run-to-run drift from the
history: for every case key run at least twice on this host, the spread of per-run medians (p90 of
|ln(median / mean of medians)|). ``compare`` uses it as that metric's practical-equivalence margin.
"""
from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgeprof.results import store
from edgeprof.results.bounded import load_json
from edgeprof.results.jsonl import RunError, read_records
from edgeprof.results import sidefiles
from edgeprof.results.schema import Record
from edgeprof.results.store import INDEXED, RECORD_COLUMNS, RUN_COLUMNS, Target

__all__ = ["INDEXED", "RunError", "Target", "all_records", "connect", "drift_margin", "drift_margins", "find_run",
           "index_run", "list_runs", "load_run", "run_records"]


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """records + plan/env/baseline/suite (those present; absent ones are None) of a run directory."""
    d = Path(run_dir)
    if not d.is_dir():
        raise RunError(f"no such run directory: {d}; give the --out of an 'edgeprof bench' run")
    if not (d / "records.jsonl").is_file():
        raise RunError(f"not a run directory: {d} (no records.jsonl file); give the --out of an 'edgeprof bench' run")
    run: dict[str, Any] = {"dir": d, "records": read_records(d / "records.jsonl")}
    for name in ("plan", "env", "baseline", "suite"):
        f = d / f"{name}.json"
        run[name] = load_json(f) if f.exists() or f.is_symlink() else None  # bounded, regular, shallow
        if run[name] is not None and not isinstance(run[name], dict):
            raise RunError(f"{f}: not a JSON object; restore or remove the file")
        if run[name] is not None:
            sidefiles.check(name, run[name], f)  # the fields edgeprof reads have their shapes
    return run


def connect(db_path: str | Path | Target | None = None, create: bool = True):
    """A connection to the history store (``store.connect``): ``db_path`` is a SQLite path, a
    postgresql:// URL or None for the configured store."""
    return store.connect(db_path, create)


def _row(run_id: str, rec: Record, seq: int) -> tuple:
    mid, p, g, d, n = rec.workload_key()[:5]
    med = [rec.value(m) for m in INDEXED]
    return (run_id, rec.case_id, rec.status, mid, p, g, d, n, rec.artifact.format, rec.artifact.quant,
            rec.runtime.name, json.dumps(rec.runtime.placement.to_dict(), sort_keys=True), rec.device.id, rec.host, *med,
            json.dumps(rec.to_dict()), seq, _board(rec))


def _board(rec: Record) -> str | None:
    """The board a row was measured on (``BoardTag.key``: its fleet name and hardware id), None here."""
    return rec.conditions.board.key if rec.conditions.board is not None else None


def _origin(run_dir: Path) -> str | None:
    """Where a copied run was measured (``remote.json``'s target, e.g. pi@board:22), None for a local run."""
    try:
        return str(load_json(run_dir / "remote.json").get("target") or "") or None
    except (RunError, AttributeError):
        return None


def index_run(run_dir: str | Path, db_path: str | Path | Target | None = None) -> str:
    """Index (or re-index) one run directory; returns its run_id."""
    run = load_run(run_dir)
    recs: list[Record] = run["records"]
    first = recs[0] if recs else None
    run_id = (first.run_id if first else None) or Path(run_dir).resolve().name
    devices = sorted({str(r.device.id) for r in recs})
    with connect(db_path) as con:
        con.execute("DELETE FROM records WHERE run_id = ?", (run_id,))
        con.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))
        con.execute(f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({','.join('?' * len(RUN_COLUMNS))})",
                    (run_id, str(Path(run_dir).resolve()), first.host if first else None, ",".join(devices),
                     first.started_at if first else None, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     len(recs), _origin(Path(run_dir)),
                     ",".join(sorted({b for r in recs if (b := _board(r))})) or None))
        rows = {r.case_id: _row(run_id, r, i) for i, r in enumerate(recs)}  # a case appears once
        con.executemany(f"INSERT INTO records ({', '.join(RECORD_COLUMNS)}) "
                        f"VALUES ({','.join('?' * len(RECORD_COLUMNS))})", list(rows.values()))
    return run_id


def list_runs(db_path: str | Path | Target | None = None) -> list[dict]:
    with connect(db_path) as con:
        cols, rows = con.query("SELECT run_id, dir, host, device, started_at, n_records, origin, board FROM runs "
                               "ORDER BY started_at, run_id")
        return [dict(zip(cols, row)) for row in rows]


def run_records(run_id: str, db_path: str | Path | Target | None = None) -> list[Record]:
    with connect(db_path) as con:
        return [Record.from_dict(json.loads(j))
                for (j,) in con.rows("SELECT json FROM records WHERE run_id = ? ORDER BY seq", (run_id,))]


def all_records(db_path: str | Path | Target | None = None) -> list[tuple[str, Record]]:
    """(run_id, record) of every indexed row of runs the store knows; [] when a SQLite file is absent."""
    target = store.resolve(db_path) if not isinstance(db_path, Target) else db_path
    if not target.exists:
        return []
    with connect(target) as con:
        rows = con.rows("SELECT r.run_id, r.json FROM records r JOIN runs USING (run_id)")
    return [(run_id, Record.from_dict(json.loads(js))) for run_id, js in rows]


def find_run(name_or_id: str, db_path: str | Path | Target | None = None) -> Path | None:
    """Directory of a run named by run_id, a unique run_id prefix or its directory's name; None if unknown."""
    target = store.resolve(db_path) if not isinstance(db_path, Target) else db_path
    if not target.exists:
        return None
    with connect(target) as con:
        rows = con.rows("SELECT run_id, dir FROM runs")
    for pred in (lambda r: r[0] == name_or_id, lambda r: r[0].startswith(name_or_id),
                 lambda r: Path(r[1]).name == name_or_id):
        hits = [r for r in rows if pred(r)]
        if len(hits) == 1:
            return Path(hits[0][1])
        if len(hits) > 1:
            raise RunError(f"'{name_or_id}' is ambiguous in the history: {', '.join(h[0] for h in hits[:5])}")
    return None


def drift_margin(db_path: str | Path | None = None, host: str | None = None,
                 metric: str = "decode_tokens_per_s", min_groups: int = 3) -> tuple[float, str] | None:
    """Measured run-to-run drift of one metric as a fraction, with its basis; None when the history
    has too little."""
    return drift_margins(db_path, host, (metric,), min_groups).get(metric)


def drift_margins(db_path: str | Path | None = None, host: str | None = None, metrics: tuple[str, ...] = (),
                  min_groups: int = 3, floors: dict[str, float] | None = None) -> dict[str, tuple[float, str]]:
    """Each metric's OWN run-to-run drift (one scan of the history): for every configuration run at
    least twice on this host, the spread of per-run medians (p90 of |ln(median / mean)|, ×2 for a
    pair of runs), clamped to [floor, 50 %] (floor: ``floors[metric]``, default 5 %). A metric with
    fewer than ``min_groups`` repeated configurations is absent: decode-speed drift is never
    applied to memory."""
    target = store.resolve(db_path) if not isinstance(db_path, Target) else db_path
    if not target.exists or not metrics:
        return {}
    with connect(target) as con:
        rows = con.rows("SELECT run_id, host, json FROM records WHERE status = 'ok'")   # board: from the JSON
    groups: dict[str, dict[str, list[float]]] = {m: {} for m in metrics}
    for run_id, h, js in rows:
        if host and h != host:
            continue
        rec = Record.from_dict(json.loads(js))
        key = json.dumps([rec.workload_key(), rec.artifact.sha256, rec.artifact.quant, rec.runtime.name,
                          rec.runtime.placement.to_dict(), rec.device.id, h, _board(rec)], sort_keys=True)
        for m in metrics:
            v = rec.value(m)
            if v and v > 0:
                groups[m].setdefault(key, []).append(v)
    out = {}
    for m, by_key in groups.items():
        repeated = [vals for vals in by_key.values() if len(vals) >= 2]
        if len(repeated) < min_groups:
            continue
        devs = sorted(abs(math.log(v) - sum(math.log(x) for x in vals) / len(vals)) for vals in repeated for v in vals)
        p90 = devs[min(len(devs) - 1, int(math.ceil(0.9 * len(devs))) - 1)]
        floor = (floors or {}).get(m, 0.05)
        out[m] = (min(0.5, max(floor, math.exp(2 * p90) - 1)),
                  f"measured: p90 run-to-run drift of {m} medians over {len(repeated)} repeated configurations in "
                  f"the history{' on ' + host if host else ''} (x2 for a pair of runs), clamped to "
                  f"{100 * floor:g}-50 %")
    return out
