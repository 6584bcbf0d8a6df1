"""History stores: SQLite (default) and PostgreSQL (a real cluster started by the test), one schema
with a version, migrated from wave 2's; ``history rebuild``; ``compare`` and ``edgeprof.history()``
reading PostgreSQL; a database that is down during a real run loses nothing and catches up."""
from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from refdata import make_record, noisy, write_run

import edgeprof
from edgeprof.results import history, pending, store

FAST = ["-p", "8", "-n", "8", "--reps", "2", "--warmup", "0", "--min-seconds", "0", "--idle-seconds", "0.2",
        "-t", "1"]

V1_SCHEMA = """
CREATE TABLE runs (run_id TEXT PRIMARY KEY, dir TEXT NOT NULL, host TEXT, device TEXT,
  started_at TEXT, indexed_at TEXT, n_records INTEGER);
CREATE TABLE records (run_id TEXT NOT NULL, case_id TEXT, status TEXT, model_id TEXT,
  prompt_tokens INTEGER, gen_tokens INTEGER, depth INTEGER, n_seqs INTEGER, format TEXT, quant TEXT,
  runtime TEXT, placement TEXT, device_id TEXT, host TEXT, decode_tokens_per_s REAL, ttft_ms REAL,
  energy_per_token_j REAL, json TEXT NOT NULL, PRIMARY KEY (run_id, case_id));
"""


def cli(*args, env, timeout=300):
    return subprocess.run([sys.executable, "-m", "edgeprof", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    """Run A and run B of the same three workloads; B decodes 30 % faster."""
    a = write_run(tmp_path / "runs" / "a", [make_record(run_id="run-a", p=p, decode=noisy(100, seed=p))
                                            for p in (64, 128, 256)])
    b = write_run(tmp_path / "runs" / "b", [make_record(run_id="run-b", p=p, decode=noisy(130, seed=p + 1))
                                            for p in (64, 128, 256)])
    return a, b


def test_a_wave2_sqlite_history_is_migrated_and_keeps_its_rows(tmp_path, home):
    db = tmp_path / "old.sqlite"
    a, _ = two_runs(tmp_path)
    rec = make_record(run_id="old-run")
    with sqlite3.connect(db) as con:
        con.executescript(V1_SCHEMA)
        con.execute("INSERT INTO runs VALUES ('old-run', '/gone', 'hostA', 'cpu0:test', '2026-01-01', NULL, 1)")
        con.execute("INSERT INTO records (run_id, case_id, status, json) VALUES ('old-run', ?, 'ok', ?)",
                    (rec.case_id, json.dumps(rec.to_dict())))
    assert store.schema_version(db) == store.SCHEMA_VERSION == 3
    with sqlite3.connect(db) as con:
        assert {"origin", "board"} <= {r[1] for r in con.execute("PRAGMA table_info(runs)")}
        assert con.execute("SELECT value FROM edgeprof_meta WHERE key='schema_version'").fetchone() == ("3",)
    assert [r.case_id for r in history.run_records("old-run", db)] == [rec.case_id]   # kept through the migration
    history.index_run(a, db)
    assert {r["run_id"] for r in history.list_runs(db)} == {"old-run", "run-a"}
    # a store from a newer edgeprof is refused in one line, not half-read
    with sqlite3.connect(db) as con:
        con.execute("UPDATE edgeprof_meta SET value = '9' WHERE key = 'schema_version'")
    with pytest.raises(history.RunError, match="schema version 9, newer than this edgeprof knows"):
        history.list_runs(db)


def test_postgresql_history_read_back_by_compare_and_history_frame(tmp_path, home, pg_url, cli_env):
    a, b = two_runs(tmp_path)
    res = cli("history", "rebuild", str(tmp_path / "runs"), "--history", pg_url, env=cli_env)
    assert res.returncode == 0, res.stderr
    assert "indexed 2 run(s) into postgresql://" in res.stdout
    assert store.schema_version(pg_url) == store.SCHEMA_VERSION
    # the rows are in PostgreSQL (psycopg directly, not through edgeprof)
    import psycopg

    with psycopg.connect(pg_url) as con:
        n, speed = con.execute("SELECT COUNT(*), AVG(decode_tokens_per_s) FROM records WHERE run_id = 'run-b'"
                               ).fetchone()
    assert n == 3 and 120 < speed < 140
    # the run directories are gone: compare must take both sides from the store
    shutil.rmtree(tmp_path / "runs")
    res = cli("compare", "run-a", "run-b", "--history", pg_url, "-o", "json", env=cli_env)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert "history copy" in out["a"] and "history copy" in out["b"]
    rows = [r for r in out["rows"] if r["metric"] == "decode_tokens_per_s"]
    assert len(rows) == 3 and all(1.2 < r["ratio_b_over_a"] < 1.4 for r in rows), rows
    # edgeprof.history() reads the same store; EDGEPROF_HISTORY names it as well as db_path does
    df = edgeprof.history(pg_url)
    assert sorted(df["run_id"].unique()) == ["run-a", "run-b"] and len(df) == 6
    assert df.groupby("run_id")["decode_tokens_per_s"].median()["run-b"] > 120
    full = edgeprof.history(pg_url, records=True)
    assert "record.metrics.decode_tokens_per_s.median" in full.columns
    listed = cli("history", "-o", "json", env={**cli_env, "EDGEPROF_HISTORY": pg_url})
    assert [r["run_id"] for r in json.loads(listed.stdout)] == ["run-a", "run-b"], listed.stderr


def test_the_config_entry_names_the_store_and_a_password_is_never_printed(tmp_path, home, pg_url):
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(f'history = "{pg_url}"\n')
    assert store.resolve().kind == "postgresql"
    t = store.Target.parse("postgresql://team:s3cret@db.lab:5433/edgeprof")
    assert "s3cret" not in t.label and "team:***@db.lab:5433" in t.label and "s3cret" not in str(t)
    with pytest.raises(history.RunError, match="unknown database scheme 'mysql'"):
        store.Target.parse("mysql://x@y/z")


def test_a_database_down_during_a_run_loses_nothing_and_the_index_catches_up(tmp_path, home, pg_server, pg_url,
                                                                              cli_env, smollm2_gguf):
    env = {**cli_env, "EDGEPROF_HISTORY": pg_url}
    pg_server.stop()
    try:
        out = tmp_path / "run"
        res = cli("bench", str(smollm2_gguf), *FAST, "--out", str(out), env={**env}, timeout=600)
        assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-3000:]
        assert "is unreachable" in res.stderr and "is kept" in res.stderr
        assert len((out / "records.jsonl").read_text().splitlines()) == 1
        waiting = pending.waiting(store.resolve(pg_url))
        assert [w.dir for w in waiting] == [str(out.resolve())]
        # still down: the next command says so and keeps waiting
        res = cli("history", "--history", pg_url, env=env)
        assert "still wait for the history database" in res.stderr
    finally:
        pg_server.start()
    res = cli("history", "-o", "json", env=env)
    assert res.returncode == 0, res.stderr
    assert "indexed 1 run(s) that waited" in res.stderr
    runs = json.loads(res.stdout)
    assert [r["dir"] for r in runs] == [str(out.resolve())] and runs[0]["n_records"] == 1
    assert pending.waiting() == []
    res = cli("history", env=env)
    assert "waited" not in res.stderr   # caught up once, not again


def test_bad_history_values_are_usage_errors(tmp_path, home, cli_env):
    res = cli("bench", "--history", "ftp://nowhere/x", "--out", str(tmp_path / "r"), env=cli_env)
    assert res.returncode == 2 and "unknown database scheme 'ftp'" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "r").exists()
    res = cli("history", "rebuild", str(tmp_path / "nothing"), env=cli_env)
    assert res.returncode == 2 and "no such directory" in res.stderr
