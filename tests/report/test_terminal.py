"""``edgeprof report --terminal``: the key charts in the terminal from the same chart data as the
HTML report; no colour codes when the output is not a terminal; nothing written."""
from __future__ import annotations

import re

import pytest

from edgeprof.results.history import load_run
from edgeprof.views.charts import pareto_charts

pytest.importorskip("plotext")


def test_terminal_report_of_the_matrix(matrix_run, edgeprof_cli, tmp_path):
    before = sorted(p.name for p in matrix_run.rglob("*"))
    proc = edgeprof_cli("report", "--terminal", str(matrix_run), "--width", "100")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "\x1b[" not in out  # piped: plain text
    recs = load_run(matrix_run)["records"]
    for chart in pareto_charts(recs):
        assert chart.title in out
        front = [p.label for i, p in enumerate(chart.points) if i in chart.front]
        for label in front:  # the listing under each chart marks the front with ●
            assert re.search(rf"● {re.escape(label)}: x", out), (chart.title, label)
    for r in recs:  # every case's power and memory trace, the estimate labelled
        assert f"(case {r.case_id}) — power (W)" in out and f"(case {r.case_id}) — memory" in out
    assert "[~ESTIMATED]" in out and "phase starts (vertical lines)" in out
    assert max(len(line) for line in out.splitlines() if "┤" in line or "┌" in line) <= 100
    assert sorted(p.name for p in matrix_run.rglob("*")) == before


def test_terminal_report_draws_token_latency(suite_run, edgeprof_cli):
    proc = edgeprof_cli("report", "--terminal", str(suite_run), "--width", "80")
    assert proc.returncode == 0, proc.stderr
    n = len(load_run(suite_run)["records"])
    assert proc.stdout.count("inter-token latency") == n


def test_terminal_width_is_checked(matrix_run, edgeprof_cli):
    proc = edgeprof_cli("report", "--terminal", str(matrix_run), "--width", "10")
    assert proc.returncode == 2 and "--width must be at least 40" in proc.stderr


def test_a_run_named_by_its_history_run_id(matrix_run, edgeprof_cli, tmp_path):
    from edgeprof.results.history import index_run

    db = tmp_path / "history.sqlite"
    run_id = index_run(matrix_run, db)
    proc = edgeprof_cli("report", "--terminal", run_id[:12], "--history", str(db), "--width", "80")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"edgeprof report — {run_id}: 6 case(s)")
