"""A board is its fleet name plus its hardware id, not its hostname: two boards flashed from one
SD-card image (same hostname, same machine id) or two loopback "boards" on one machine are told
apart by ``compare`` (a ``board`` axis), by the tables' legends (warnings named per board and
case) and by the history (a ``board`` column in SQLite and PostgreSQL, old rows back-filled)."""
from __future__ import annotations

import sqlite3

from refdata import make_record, noisy, write_run

from edgeprof.compare import paired as cmp
from edgeprof.compare.context import same_machine
from edgeprof.results import history, printers, store

CLONE = "5d3e9f0a1b2c4d5e6f708192a3b4c5d6"     # one /etc/machine-id, copied with the image


def on(board: dict | None, seed: int = 0, run_id: str = "run-a", warnings=(), p: int = 128):
    rec = make_record(run_id=run_id, host="pi", p=p, decode=noisy(100, seed=seed))
    rec = rec.with_extra(board=board) if board else rec
    return rec.__class__.from_dict({**rec.to_dict(), "warnings": list(warnings)})


def tag(name: str, serial: str | None = None) -> dict:
    return {"name": name, "target": f"pi@{name}.lab", "hostname": "pi", "machine_id": CLONE, "serial": serial,
            "kind": "cpu", "power_mode": None}


def side(label: str, *recs) -> cmp.Side:
    return cmp.Side(label, "run", list(recs))


def test_two_boards_cloned_from_one_image_are_a_compared_axis_not_a_rerun():
    a, b = on(tag("shelf-1")), on(tag("shelf-2"), seed=1)
    assert a.host == b.host and a.conditions.board.machine_id == b.conditions.board.machine_id
    res = cmp.compare(side("A", a), side("B", b))
    assert res.axes == "board: shelf-1 -> shelf-2", res.axes
    # the same fleet name on other hardware (the card moved to another Pi): the serials tell them apart
    x, y = on(tag("pi5", "10000000aaaa")), on(tag("pi5", "10000000bbbb"), seed=1)
    assert cmp.difference(x, y) == "board: pi5 [serial 10000000aaaa] -> pi5 [serial 10000000bbbb]"
    assert cmp.difference(on(None), a) == "board: local -> shelf-1"
    # one board against itself is a re-run, and says so
    assert cmp.difference(a, on(tag("shelf-1"), seed=2)) == cmp.SAME and "board" in cmp.SAME
    # two boards are two machines: a power-context difference between them is compared, not held back
    assert same_machine(a, on(tag("shelf-1"))) and not same_machine(a, b)


def test_a_run_mixing_boards_names_each_row_by_its_board():
    """One side holding rows of two boards (a report or a history query over a fleet): each row's
    configuration names its board."""
    rows = cmp.compare(side("A", on(tag("a")), on(tag("b"), seed=1)), side("B", on(tag("a"), seed=2),
                                                                             on(tag("b"), seed=3))).rows
    labels = {r.workload for r in rows if r.metric == "decode_tokens_per_s"}
    assert labels == {"smollm2-135m-instruct p128 n128 d0 · board=a", "smollm2-135m-instruct p128 n128 d0 · board=b"}


def test_the_legend_names_a_shared_warning_by_board_and_case():
    short = "window {} ms is shorter than 5 x the sensor's update period (200 ms): energy of one window is not resolved"
    recs = [on(tag("a"), warnings=[short.format(164)]), on(tag("b"), warnings=[short.format(250)]),
            on(tag("a"), p=512, warnings=[short.format(509)])]
    lines = [x for x in printers.legend(recs) if "shorter than 5 x" in x]
    # one line for the kind (its figures differ per case), each row named by case AND board
    assert len(lines) == 1, lines
    assert lines[0].startswith("- warning (3 cases: gguf q4_1 pp128+tg128 on a, gguf q4_1 pp128+tg128 on b, "
                               "gguf q4_1 pp512+tg128 on a): window 164 ms"), lines[0]
    # cloned boards that even share a name: the hardware id names them
    same = [on(tag("pi5", "1"), warnings=["x"]), on(tag("pi5", "2"), warnings=["x"])]
    assert printers.legend(same)[-1] == "- warning (gguf q4_1 on pi5 [serial 1], gguf q4_1 on pi5 [serial 2]): x"
    # one board, or a local run: no board in the labels
    assert printers.legend([on(tag("a"), warnings=["x"]), on(tag("a"), p=512, warnings=["x"])])[-1] == \
        "- warning (gguf q4_1 pp128+tg128, gguf q4_1 pp512+tg128): x"


def _two_boards(tmp_path):
    a = write_run(tmp_path / "runs" / "a", [on(tag("a"), run_id="run-a", p=p, seed=p) for p in (64, 128)])
    b = write_run(tmp_path / "runs" / "b", [on(tag("b"), run_id="run-b", p=p, seed=p + 1) for p in (64, 128)])
    return a, b


def _keys(db) -> tuple[dict, set]:
    with history.connect(db) as con:
        runs = dict(con.rows("SELECT run_id, board FROM runs"))
        recs = {tuple(r) for r in con.rows("SELECT run_id, board FROM records")}
    return runs, recs


def test_history_rows_are_keyed_by_board_in_sqlite_and_postgresql(tmp_path, home, pg_url):
    a, b = _two_boards(tmp_path)
    key_a, key_b = f"a [machine-id {CLONE[:12]}]", f"b [machine-id {CLONE[:12]}]"
    for db in (tmp_path / "h.sqlite", pg_url):
        history.index_run(a, db)
        history.index_run(b, db)
        runs, recs = _keys(db)
        assert runs == {"run-a": key_a, "run-b": key_b}
        assert recs == {("run-a", key_a), ("run-b", key_b)}
        listed = {r["run_id"]: (r["host"], r["board"]) for r in history.list_runs(db)}
        assert listed == {"run-a": ("pi", key_a), "run-b": ("pi", key_b)}


def test_a_version_2_history_gets_its_board_column_from_each_rows_json(tmp_path, home):
    """A store indexed before boards were a column: migrated in place, every row's board read back
    from its own JSON (no rebuild needed), a local row's left empty."""
    db = tmp_path / "v2.sqlite"
    a, _ = _two_boards(tmp_path)
    history.index_run(a, db)
    local = write_run(tmp_path / "runs" / "local", [on(None, run_id="run-local")])
    history.index_run(local, db)
    with sqlite3.connect(db) as con:   # back to version 2: no board columns
        for table in ("runs", "records"):
            con.execute(f"ALTER TABLE {table} DROP COLUMN board")
        con.execute("UPDATE edgeprof_meta SET value = '2' WHERE key = 'schema_version'")
    assert store.schema_version(db) == store.SCHEMA_VERSION == 3
    runs, recs = _keys(db)
    assert runs == {"run-a": f"a [machine-id {CLONE[:12]}]", "run-local": None}
    assert recs == {("run-a", f"a [machine-id {CLONE[:12]}]"), ("run-local", None)}
    assert history.run_records("run-a", db)[0].conditions.board.name == "a"


def test_the_run_context_legend_names_rows_by_board_and_case_not_by_hex_id():
    """Two boards of one fleet plan the same case ids: a legend of case ids listed one id twice."""
    def ctx(board: str, governor: str, p: int = 128):
        r = on(tag(board), p=p)
        return r.with_extra(context={"fields": {"cpu_governor": governor}})
    recs = [ctx("a", "performance"), ctx("a", "performance", p=512), ctx("b", "powersave")]
    assert recs[0].case_id == recs[2].case_id
    lines = [x for x in printers.legend(recs) if x.startswith("- run context")]
    assert lines == ["- run context (gguf q4_1 pp128+tg128 on a, gguf q4_1 pp512+tg128 on a): governor performance; "
                     "no thermal zone",
                     "- run context (gguf q4_1 pp128+tg128 on b): governor powersave; no thermal zone"], lines


def test_the_report_names_two_boards_rows_by_host_not_by_case_id(tmp_path):
    """Both boards of a fleet run the same plan, so their cases share ids: the host column is what
    tells the rows apart, and no hex case column is needed."""
    from edgeprof.views.report.data import case_views, open_run
    from edgeprof.views.report.tables import results_table

    t = results_table(case_views([open_run(d) for d in _two_boards(tmp_path)]))
    assert "case" not in t.head and t.head[0] == "host", t.head
    assert [(r[0].text, r[t.head.index("test")].text) for r in t.rows] == \
        [("a", "pp64+tg128"), ("a", "pp128+tg128"), ("b", "pp64+tg128"), ("b", "pp128+tg128")]
