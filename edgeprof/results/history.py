"""Run directories and the SQLite history index (CONTRACTS.md "User directories": ``history.sqlite``).

Reading: ``load_run(run_dir)``. Index: ``index_run(run_dir, db_path=None)`` stores the run (run_id,
dir, host, device, started_at) and each record (flattened key columns + the full JSON);
``find_run(name_or_id)`` resolves a run_id (or unique prefix) or a directory name to its directory.
``db_path`` defaults to ``home.history_path()``; ``EDGEPROF_HISTORY`` is read by the commands, not here.

``drift_margin(db_path, host)`` measures run-to-run drift from the history: for every case key run
at least twice on this host, the spread of per-run medians of ``decode_tokens_per_s`` (p90 of
|ln(median / mean of medians)|). ``compare`` uses it as its default practical-equivalence margin.
"""
from __future__ import annotations

import json
import math
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgeprof.home import history_path
from edgeprof.results import metric_catalogue
from edgeprof.results.jsonl import RunError, read_records
from edgeprof.results.schema import Record


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """records + plan/env/baseline/suite (those present; absent ones are None) of a run directory."""
    d = Path(run_dir)
    if not d.is_dir():
        raise RunError(f"no such run directory: {d}")
    if not (d / "records.jsonl").is_file():
        raise RunError(f"not a run directory: {d} (no records.jsonl)")
    run: dict[str, Any] = {"dir": d, "records": read_records(d / "records.jsonl")}
    for name in ("plan", "env", "baseline", "suite"):
        f = d / f"{name}.json"
        try:
            run[name] = json.loads(f.read_text()) if f.is_file() else None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise RunError(f"{f}: invalid JSON ({exc})") from None
    return run


_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, dir TEXT NOT NULL, host TEXT, device TEXT,
  started_at TEXT, indexed_at TEXT, n_records INTEGER);
CREATE TABLE IF NOT EXISTS records (run_id TEXT NOT NULL, case_id TEXT, status TEXT, model_id TEXT,
  prompt_tokens INTEGER, gen_tokens INTEGER, depth INTEGER, n_seqs INTEGER, format TEXT, quant TEXT,
  runtime TEXT, placement TEXT, device_id TEXT, host TEXT, {indexed}, json TEXT NOT NULL,
  PRIMARY KEY (run_id, case_id));
CREATE INDEX IF NOT EXISTS records_workload ON records (model_id, prompt_tokens, gen_tokens, depth, n_seqs);
"""


#: metric medians kept as columns (the metric catalogue's ``indexed`` rows), for SQL without JSON
INDEXED = ("decode_tokens_per_s", "ttft_ms", "energy_per_token_j")  # column order of existing databases
assert set(INDEXED) == set(metric_catalogue.indexed()), "history columns follow the metric catalogue"


def connect(db_path: str | Path | None = None) -> sqlite3.Connection:
    path = Path(db_path) if db_path else history_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript(_SCHEMA.format(indexed=", ".join(f"{m} REAL" for m in INDEXED)))
    return con


def _row(run_id: str, rec: Record) -> tuple:
    mid, p, g, d, n = rec.workload_key()
    med = [rec.value(m) for m in INDEXED]
    return (run_id, rec.case_id, rec.status, mid, p, g, d, n, rec.artifact.format, rec.artifact.quant,
            rec.runtime.name, json.dumps(rec.runtime.placement, sort_keys=True), rec.device.id, rec.host, *med,
            json.dumps(rec.to_dict()))


def index_run(run_dir: str | Path, db_path: str | Path | None = None) -> str:
    """Index (or re-index) one run directory; returns its run_id."""
    run = load_run(run_dir)
    recs: list[Record] = run["records"]
    first = recs[0] if recs else None
    run_id = (first.run_id if first else None) or Path(run_dir).resolve().name
    devices = sorted({str(r.device.id) for r in recs})
    with closing(connect(db_path)) as con, con:
        con.execute("DELETE FROM records WHERE run_id = ?", (run_id,))
        con.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?)",
                    (run_id, str(Path(run_dir).resolve()), first.host if first else None, ",".join(devices),
                     first.started_at if first else None, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                     len(recs)))
        cols = ("run_id, case_id, status, model_id, prompt_tokens, gen_tokens, depth, n_seqs, format, quant, "
                "runtime, placement, device_id, host, " + ", ".join(INDEXED) + ", json")
        con.executemany(f"INSERT OR REPLACE INTO records ({cols}) VALUES ({','.join('?' * (15 + len(INDEXED)))})",
                        [_row(run_id, r) for r in recs])
    return run_id


def list_runs(db_path: str | Path | None = None) -> list[dict]:
    with closing(connect(db_path)) as con:
        cur = con.execute("SELECT run_id, dir, host, device, started_at, n_records FROM runs ORDER BY started_at")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]


def run_records(run_id: str, db_path: str | Path | None = None) -> list[Record]:
    with closing(connect(db_path)) as con:
        return [Record.from_dict(json.loads(j))
                for (j,) in con.execute("SELECT json FROM records WHERE run_id = ?", (run_id,))]


def find_run(name_or_id: str, db_path: str | Path | None = None) -> Path | None:
    """Directory of a run named by run_id, a unique run_id prefix or its directory's name; None if unknown."""
    path = Path(db_path) if db_path else history_path()
    if not path.is_file():
        return None
    with closing(connect(path)) as con:
        rows = con.execute("SELECT run_id, dir FROM runs").fetchall()
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
    """Measured run-to-run drift as a fraction, with its basis; None when the history has too little."""
    path = Path(db_path) if db_path else history_path()
    if not path.is_file():
        return None
    with closing(connect(path)) as con:
        rows = con.execute("SELECT run_id, host, json FROM records WHERE status = 'ok'").fetchall()
    groups: dict[str, list[float]] = {}
    for run_id, h, js in rows:
        if host and h != host:
            continue
        rec = Record.from_dict(json.loads(js))
        v = rec.value(metric)
        if v and v > 0:
            key = json.dumps([rec.workload_key(), rec.artifact.sha256, rec.artifact.quant, rec.runtime.name,
                              rec.runtime.placement, rec.device.id, h], sort_keys=True)
            groups.setdefault(key, []).append(v)
    devs = []
    for vals in groups.values():
        if len(vals) >= 2:
            mean_log = sum(math.log(v) for v in vals) / len(vals)
            devs += [abs(math.log(v) - mean_log) for v in vals]
    n_groups = sum(1 for v in groups.values() if len(v) >= 2)
    if n_groups < min_groups:
        return None
    devs.sort()
    p90 = devs[min(len(devs) - 1, int(math.ceil(0.9 * len(devs))) - 1)]
    margin = min(0.5, max(0.05, math.exp(2 * p90) - 1))
    return margin, (f"measured: p90 run-to-run drift of {metric} medians over {n_groups} repeated "
                    f"configurations in the history{' on ' + host if host else ''} (×2 for a pair of runs), "
                    f"clamped to 5–50 %")
