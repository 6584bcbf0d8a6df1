"""Every abbreviated column is defined where it appears (issue 20 item 13: ``MCR`` was printed
undefined): the bench table's legend and the report's results table, on the recorded export
matrix (tests/fixtures/report/matrix, README there), whose rows carry compr. and MCR."""
from __future__ import annotations

from pathlib import Path

from edgeprof.results.jsonl import read_records
from edgeprof.results.printers import markdown

MATRIX = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "matrix"


def test_mcr_and_compr_are_defined_under_the_bench_table():
    recs = read_records(MATRIX / "records.jsonl")
    text = markdown(recs)
    head = text.split("\n")[2] if text.startswith("Machine") else text.split("\n")[0]
    assert "| compr. |" in head and "| MCR |" in head
    legend = [x for x in text.splitlines() if x.startswith("- ")]
    assert any(x.startswith("- MCR = model compression rate (EfficientLLM): compr. x quality retention") for x in legend)
    assert any(x.startswith("- compr. = compression rate: the source's 16-bit size") for x in legend)
    without = markdown([r for r in recs if r.metric("mcr") is None])  # no MCR column: no definition
    assert "MCR =" not in without


def test_mcr_is_defined_under_the_report_table():
    from edgeprof.views.report.data import case_views, open_run
    from edgeprof.views.report.tables import results_table

    t = results_table(case_views([open_run(MATRIX)]))
    assert "MCR" in t.head and any(n.startswith("MCR = model compression rate") for n in t.notes)
