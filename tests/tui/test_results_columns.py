"""The live results table of a sweep: a setting the rows differ in (threads of a -t 1,2 sweep, the
power mode, the board) shows right after status, so two rows are never told apart only by ←/→ —
found by trying a fleet's -t 1,2 matrix in the TUI at 120 columns (two 'pp16+tg8' rows, threads hidden)."""
from __future__ import annotations

from pathlib import Path

from edgeprof.results.jsonl import read_records
from edgeprof.results.schema import Record
from edgeprof.views.tui.widgets.results import table_rows

MATRIX = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "matrix" / "records.jsonl"


def _with_threads(rec, n: int):
    d = rec.to_dict()
    d["runtime"]["placement"]["threads"] = n
    return Record.from_dict(d)


def test_a_swept_setting_follows_status_and_a_constant_one_does_not():
    q8 = next(r for r in read_records(MATRIX) if r.artifact.quant == "q8_0")
    cols, rows = table_rows([_with_threads(q8, 1), _with_threads(q8, 2)])
    names = [c.name for c in cols]
    assert names[:5] == ["model", "quant", "test", "status", "threads"], names
    assert [r[4] for r in rows] == ["1", "2"]
    same = [c.name for c in table_rows([_with_threads(q8, 1), _with_threads(q8, 1)])[0]]
    assert same[4] != "threads" and same.index("threads") > same.index("decode t/s")
