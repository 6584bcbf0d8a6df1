"""Issue 21 item 10 (STYLE rule 17): text from files anyone can hand a user (model names, set
names, hosts) is neutralised for the format it is printed in: one Markdown row stays one row, and
no CSV cell is a formula a spreadsheet would run (OWASP "CSV injection")."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

from hypothesis import given, settings, strategies as st

from edgeprof.compare.paired import render_table
from edgeprof.results.cells import csv_cell, md_cell
from edgeprof.results.printers import markdown, to_csv
from edgeprof.results.schema import Record

MATRIX = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "matrix" / "records.jsonl"
HOSTILE = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1", "name\nwith | newline", "a\r\nb", "ok"]


def _records() -> list[Record]:
    first = Record.from_dict(json.loads(MATRIX.read_text().splitlines()[0]))
    return [replace(first, model=replace(first.model, id=name, name=name), host=name) for name in HOSTILE]


def _formula(cell: str) -> bool:
    return cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not csv_cell(cell) == cell


def test_bench_csv_holds_no_formula_and_keeps_negative_numbers():
    rows = list(csv.reader(io.StringIO(to_csv(_records()))))
    head = rows[0]
    for name, row in zip(HOSTILE, rows[1:]):
        assert not any(_formula(c) for c in row)
        assert row[head.index("model.id")] == (("'" + name) if name[0] in "=+-@\t" else name)
    assert csv_cell("-0.5") == "-0.5" and csv_cell(-3) == -3 and csv_cell("-1e-3") == "-1e-3"
    assert csv_cell("=1+1") == "'=1+1" and csv_cell("-2+3") == "'-2+3"


def test_bench_markdown_keeps_one_row_per_record():
    text = markdown(_records())
    rows = [x for x in text.splitlines() if x.startswith("| ") and "---" not in x]
    assert len(rows) == 1 + len(HOSTILE)  # the header, then one line per record
    assert all(x.rstrip().endswith("|") for x in rows)


def test_reference_tables_neutralise_set_names():
    rows = [{"name": "my\nset | x", "origin": "user", "note": "=HYPERLINK(\"http://x\")"}]
    md = render_table(rows, "md", ("name", "origin", "note")).splitlines()
    assert len(md) == 3 and md[2].count(" | ") == 2 and "my set \\| x" in md[2]
    (parsed,) = list(csv.reader(io.StringIO(render_table(rows, "csv", ("name", "origin", "note")))))[1:]
    assert parsed[2].startswith("'=")


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_one_markdown_cell(text):
    cell = md_cell(text)
    assert "\n" not in cell and "\r" not in cell
    assert "|" not in cell.replace("\\|", "")
    assert cell.isprintable()


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(max_size=40), st.floats(allow_nan=False).map(str), st.integers().map(str)))
def test_any_text_is_an_inert_csv_cell(text):
    cell = csv_cell(text)
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        float(cell)  # only a number may start so
    assert cell in (text, "'" + text)
