"""The report and the record say the same numbers (issue 20, item 4): the ITL percentiles come
from one computation (the report drew nearest-rank values: p90 35.11 / p99 41.89 ms beside the
record's 34.901 / 42.363), and the memory chart carries the table's peak RSS instead of a line
whose top contradicts it."""
from __future__ import annotations

import re

import pytest

from edgeprof.analysis.itl import itl_metric, itl_quantiles
from edgeprof.results.schema import Provenance, Repetition
from edgeprof.views.charts.series import itl_marks, itl_values, memory_series, peak_mark, token_series
from edgeprof.views.report.data import case_views, open_run


def test_the_record_and_a_recomputation_agree_on_every_percentile():
    token_ns = [(9_000_000 + 37_000 * ((7 * i) % 23)) for i in range(50)]
    reps = [Repetition(rep=r, decode=(0, 1), n_decode=50, token_ns=tuple(token_ns[r:] + token_ns[:r]))
            for r in range(3)]
    m = itl_metric(reps, Provenance("measured", "clock", "process"))
    pooled = [t / 1e6 for r in reps for t in r.token_ns]
    q = itl_quantiles(pooled)
    assert (m.center, m.p90, m.p99) == (q[50], q[90], q[99])
    assert itl_quantiles(pooled[:19])[99] is None  # p99 only from 20 values on, in both


def test_the_report_draws_the_record_percentiles(suite_run):
    cases = [c for c in case_views([open_run(suite_run)]) if c.tokens]
    assert cases
    for c in cases:
        itl, m = itl_values(c.tokens), c.record.metric("itl_ms")
        marks = itl_marks(c.record, itl)
        recomputed = itl_quantiles(itl)
        if m is None:  # a record made before itl_ms: the same computation over its timeline ...
            assert marks == {q: v for q, v in recomputed.items() if v is not None}
            # ... and the figure a bench writes today from those tokens is what the report draws
            reps = [Repetition(rep=i, decode=(0, 1), n_decode=len(s.y), token_ns=tuple(round(y * 1e6) for y in s.y))
                    for i, s in enumerate(token_series(c.tokens))]
            rec = c.record.with_metrics({"itl_ms": itl_metric(reps, Provenance("measured", "clock", "process"))})
            m, marks = rec.metric("itl_ms"), itl_marks(rec, itl)
        assert marks == {q: v for q, v in ((50, m.center), (90, m.p90), (99, m.p99)) if v is not None}
        # the timeline alone gives the same numbers, up to the CSV's rounding
        for qq, v in marks.items():
            assert recomputed[qq] == pytest.approx(v, abs=2e-6), qq


def test_the_terminal_report_prints_the_recorded_percentiles(suite_run, edgeprof_cli):
    out = edgeprof_cli("report", "--terminal", str(suite_run), "--width", "80").stdout
    cases = [c for c in case_views([open_run(suite_run)]) if c.tokens]
    for c in cases:
        marks = itl_marks(c.record, itl_values(c.tokens))
        assert f"p50 {marks[50]:.3f} ms, p90 {marks[90]:.3f} ms" in out


def test_the_memory_chart_reaches_the_table_peak(matrix_run, edgeprof_cli):
    out = edgeprof_cli("report", "--terminal", str(matrix_run), "--width", "100").stdout
    for c in case_views([open_run(matrix_run)]):
        mem = memory_series(c.trace)
        peak = peak_mark(c.record, mem)
        table = c.record.metric("peak_rss_bytes").value / 2**20
        assert peak is not None and peak.y == pytest.approx(table)
        assert f"red line = peak RSS (table) {table:.1f} MiB" in out
        if peak.y > max(max(s.y) for s in mem) * 1.02:  # above the sampled line: the chart says why
            assert peak.note
        # the memory chart's y axis reaches the table's figure
        chart = out.split(f"(case {c.record.case_id}) — memory (MiB)", 1)[1].split("s since the first sample", 1)[0]
        ys = [float(v) for v in re.findall(r"^\s*([\d.]+)[┤├]", chart, flags=re.M)]
        assert max(ys) >= table, (max(ys), table)
