"""``-o sql`` (``printers.to_sql``, as llama-bench): the text loads into a real SQLite database, can
be loaded twice (CREATE TABLE IF NOT EXISTS), and every flattened value comes back as it went in."""
from __future__ import annotations

import math
import sqlite3
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from edgeprof.results.flatten import flatten
from edgeprof.results.history import load_run
from edgeprof.results.printers import render, to_sql
from edgeprof.results.schema import Metric, Provenance, Record


def _load(sql: str, con: sqlite3.Connection | None = None) -> tuple[sqlite3.Connection, list[dict]]:
    con = con or sqlite3.connect(":memory:")
    con.executescript(sql)
    cur = con.execute('SELECT * FROM "edgeprof" ORDER BY rowid')
    cols = [c[0] for c in cur.description]
    return con, [dict(zip(cols, row)) for row in cur.fetchall()]


def _same(a, b) -> bool:
    """Floats within one unit in the last place: SQLite's own decimal-to-double conversion is not
    correctly rounded near the ends of the exponent range (1.4908244731851798e-297 reads back one
    ulp lower), so an exact comparison would test SQLite, not the printer."""
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) <= math.ulp(float(a))
    return a == b


def _assert_round_trip(records: list[Record]) -> None:
    con, rows = _load(to_sql(records))
    assert len(rows) == len(records)
    for rec, row in zip(records, rows):
        flat = flatten(rec.to_dict())
        for k, v in flat.items():
            assert _same(row[k], v), (k, v, row[k])
        assert all(row[k] is None for k in row if k not in flat)
    con.close()


def test_recorded_runs_round_trip(matrix_run, suite_run):
    for d in (matrix_run, suite_run):
        _assert_round_trip(load_run(d)["records"])


def test_loading_twice_appends_like_llama_bench(matrix_run):
    recs = load_run(matrix_run)["records"]
    sql = render(recs, "sql")
    con, _ = _load(sql)
    _, rows = _load(sql, con)
    assert len(rows) == 2 * len(recs)
    types = {r[1]: r[2] for r in con.execute('PRAGMA table_info("edgeprof")')}
    # declared as the first dump typed them (a widened table keeps SQLite's affinity names: INT, REAL, TEXT)
    assert types["metrics.ttft_ms.median"] == "REAL" and types["artifact.size_bytes"] in ("INT", "INTEGER")
    assert types["artifact.quant"] == "TEXT"


def test_mixed_types_and_awkward_text_survive(matrix_run):
    rec = load_run(matrix_run)["records"][0]
    odd = replace(rec, host="it's \"quoted\"; DROP TABLE x; -- ünïcode\nnewline",
                  extra={**rec.extra, "throttled": True, "note_or_number": 3})
    other = replace(rec, case_id="other", extra={**rec.extra, "throttled": False, "note_or_number": "three"})
    _assert_round_trip([odd, other])  # a column holding 3 and "three" keeps both types


def test_two_different_runs_piped_into_one_database(matrix_run, suite_run, tmp_path):
    """Issue 20: a second run whose columns differ stopped at "table edgeprof has no column named
    ...". Both dumps go through the real sqlite3 shell (as ``edgeprof bench -o sql | sqlite3 db``) and
    through a driver; the table gains the columns it lacks, keeps every earlier value, and a view on
    it survives."""
    import shutil
    import subprocess

    runs = [load_run(d)["records"] for d in (matrix_run, suite_run)]
    failed = replace(runs[0][0], case_id="failed", status="failed", metrics={}, error=None)
    runs.append([failed.with_extra(note_only_here="x")])
    cols = [set(_load(to_sql(r))[1][0]) for r in runs]
    assert cols[1] - cols[0] and cols[0] - cols[1]  # the runs really have different columns
    dumps = [to_sql(r) for r in runs]
    loaders = []
    if shutil.which("sqlite3"):
        loaders.append(lambda db, sql: subprocess.run(["sqlite3", str(db)], input=sql, capture_output=True, text=True,
                                                      check=False))
    loaders.append(lambda db, sql: sqlite3.connect(db).executescript(sql).connection.close())
    for i, load in enumerate(loaders):
        db = tmp_path / f"results-{i}.sqlite"
        for k, sql in enumerate(dumps + dumps[:1]):
            done = load(db, sql)
            if isinstance(done, subprocess.CompletedProcess):
                assert done.returncode == 0 and done.stderr == "", done.stderr
            if k == 0:
                sqlite3.connect(db).executescript('CREATE VIEW mine AS SELECT "case_id" FROM "edgeprof";').close()
        con = sqlite3.connect(db)
        cur = con.execute('SELECT * FROM "edgeprof" ORDER BY rowid')
        names = [c[0] for c in cur.description]
        rows = [dict(zip(names, row)) for row in cur.fetchall()]
        expected = runs[0] + runs[1] + runs[2] + runs[0]
        assert len(rows) == len(expected) and set(names) == set().union(*cols)
        for rec, row in zip(expected, rows):
            flat = flatten(rec.to_dict())
            for k, v in flat.items():
                assert _same(row[k], v), (k, v, row[k])
            assert all(row[k] is None for k in row if k not in flat)
        assert con.execute("SELECT count(*) FROM mine").fetchone()[0] == len(expected)
        con.close()


def test_no_records_is_still_valid_sql():
    sql = to_sql([])
    sqlite3.connect(":memory:").executescript(sql)
    assert sql.startswith("--")


TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
FLOAT = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(TEXT, FLOAT, st.integers(-2**62, 2**62), st.booleans(), TEXT), min_size=1, max_size=4))
def test_any_record_round_trips(rows):
    recs = []
    for i, (host, value, size, flag, kind) in enumerate(rows):
        m = Metric(value=value, unit="ms", provenance=Provenance("measured", source=kind), n=2, median=value,
                   ci95=(value, value), samples=(value, value))
        recs.append(Record(case_id=f"c{i}", host=host, metrics={"ttft_ms": m},
                           extra={"throttled": flag, "size_bytes": size}))
    _assert_round_trip(recs)
