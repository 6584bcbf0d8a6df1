"""Run directories and the SQLite history index (CONTRACTS.md "User directories": ``history.sqlite``).

Reading: ``read_records(path)`` (records.jsonl), ``load_run(run_dir)``, ``workload_key(record)``,
``metric_of(record, name)``. Index: ``index_run(run_dir, db_path=None)`` stores the run (run_id,
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

WORKLOAD_FIELDS = ("prompt_tokens", "gen_tokens", "depth", "n_seqs")


class RunError(Exception):
    """A run directory or history entry cannot be read (one-line message)."""


def read_records(path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise RunError(f"no records file: {path}")
    out = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise RunError(f"{path}:{i}: invalid JSON ({exc.msg})") from None
    return out


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """records + plan/env/baseline (those present) of a run directory."""
    d = Path(run_dir)
    if not d.is_dir():
        raise RunError(f"no such run directory: {d}")
    if not (d / "records.jsonl").is_file():
        raise RunError(f"not a run directory: {d} (no records.jsonl)")
    run: dict[str, Any] = {"dir": d, "records": read_records(d / "records.jsonl")}
    for name in ("plan", "env", "baseline"):
        f = d / f"{name}.json"
        run[name] = json.loads(f.read_text()) if f.is_file() else None
    return run


def workload_key(rec: dict) -> tuple:
    """CONTRACTS workload key: model id, prompt_tokens, gen_tokens, depth, n_seqs (default 1)."""
    w = rec.get("workload") or {}
    n_seqs = w.get("n_seqs", 1) if "n_seqs" in w else 1
    return ((rec.get("model") or {}).get("id"), w.get("prompt_tokens"), w.get("gen_tokens"), w.get("depth"), n_seqs)


def metric_of(rec: dict, name: str) -> dict | None:
    """``{value (median, else value), unit, samples, provenance}`` of a metric, or None if absent."""
    m = (rec.get("metrics") or {}).get(name)
    if not m:
        return None
    v = m.get("median") if m.get("median") is not None else m.get("value")
    if v is None:
        return None
    return {"value": float(v), "unit": m.get("unit", ""), "samples": list(m.get("samples") or []),
            "provenance": m.get("provenance") or {}}


_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, dir TEXT NOT NULL, host TEXT, device TEXT,
  started_at TEXT, indexed_at TEXT, n_records INTEGER);
CREATE TABLE IF NOT EXISTS records (run_id TEXT NOT NULL, case_id TEXT, status TEXT, model_id TEXT,
  prompt_tokens INTEGER, gen_tokens INTEGER, depth INTEGER, n_seqs INTEGER, format TEXT, quant TEXT,
  runtime TEXT, placement TEXT, device_id TEXT, host TEXT, decode_tokens_per_s REAL, ttft_ms REAL,
  energy_per_token_j REAL, json TEXT NOT NULL, PRIMARY KEY (run_id, case_id));
CREATE INDEX IF NOT EXISTS records_workload ON records (model_id, prompt_tokens, gen_tokens, depth, n_seqs);
"""


def connect(db_path: str | Path | None = None) -> sqlite3.Connection:
    path = Path(db_path) if db_path else history_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript(_SCHEMA)
    return con


def _row(run_id: str, rec: dict) -> tuple:
    art, rt = rec.get("artifact") or {}, rec.get("runtime") or {}
    mid, p, g, d, n = workload_key(rec)
    med = {m: (metric_of(rec, m) or {}).get("value") for m in ("decode_tokens_per_s", "ttft_ms", "energy_per_token_j")}
    return (run_id, rec.get("case_id"), rec.get("status"), mid, p, g, d, n, art.get("format"), art.get("quant"),
            rt.get("name"), json.dumps(rt.get("placement"), sort_keys=True), (rec.get("device") or {}).get("id"),
            rec.get("host"), med["decode_tokens_per_s"], med["ttft_ms"], med["energy_per_token_j"], json.dumps(rec))


def index_run(run_dir: str | Path, db_path: str | Path | None = None) -> str:
    """Index (or re-index) one run directory; returns its run_id."""
    run = load_run(run_dir)
    recs = run["records"]
    first = recs[0] if recs else {}
    run_id = first.get("run_id") or Path(run_dir).resolve().name
    devices = sorted({str((r.get("device") or {}).get("id")) for r in recs})
    with closing(connect(db_path)) as con, con:
        con.execute("DELETE FROM records WHERE run_id = ?", (run_id,))
        con.execute("INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?)",
                    (run_id, str(Path(run_dir).resolve()), first.get("host"), ",".join(devices),
                     first.get("started_at"), datetime.now(timezone.utc).isoformat(timespec="seconds"), len(recs)))
        con.executemany("INSERT OR REPLACE INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                        [_row(run_id, r) for r in recs])
    return run_id


def list_runs(db_path: str | Path | None = None) -> list[dict]:
    with closing(connect(db_path)) as con:
        cur = con.execute("SELECT run_id, dir, host, device, started_at, n_records FROM runs ORDER BY started_at")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]


def run_records(run_id: str, db_path: str | Path | None = None) -> list[dict]:
    with closing(connect(db_path)) as con:
        return [json.loads(j) for (j,) in con.execute("SELECT json FROM records WHERE run_id = ?", (run_id,))]


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
        rec = json.loads(js)
        m = metric_of(rec, metric)
        if m and m["value"] > 0:
            art, rt = rec.get("artifact") or {}, rec.get("runtime") or {}
            key = json.dumps([workload_key(rec), art.get("sha256"), art.get("quant"), rt.get("name"),
                              rt.get("placement"), (rec.get("device") or {}).get("id"), h], sort_keys=True)
            groups.setdefault(key, []).append(m["value"])
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
