"""The chart data shared by the report, the terminal charts and the TUI: the Pareto front, phase
spans on the samples' clock, labelled power/memory series, per-token latency and scaled axes."""
from __future__ import annotations

import csv
from dataclasses import replace

import pytest

from edgeprof.results.history import load_run
from edgeprof.results.samples import case_traces, read_tokens, read_trace, samples_path, tokens_path
from edgeprof.views.charts import (itl_values, memory_series, nice_ticks, pareto_charts, pareto_front, phase_spans,
                                   power_series, roofline_chart, scale_for, token_series)
from edgeprof.views.charts.pareto import dominates, quality_ratio


def test_pareto_front_of_points_with_a_known_front():
    # lower-is-better on both axes: (1,5), (2,3), (4,1) form the front; (3,4) is beaten by (2,3);
    # (5,5) by everything; (2,3) twice: ties stay on the front
    pts = [(3, 4), (1, 5), (2, 3), (5, 5), (4, 1), (2, 3)]
    assert pareto_front(pts, "lower", "lower") == [1, 2, 4, 5]
    # higher x and lower y: (5,5) has the best x, (4,1) the best y, and neither beats the other
    assert pareto_front(pts, "higher", "lower") == [3, 4]
    assert pareto_front(pts, "higher", "higher") == [3]
    assert pareto_front([(1.0, 1.0)]) == [0] and pareto_front([]) == []
    assert dominates((1, 1), (1, 2), "lower", "lower") and not dominates((1, 2), (1, 2), "lower", "lower")


def test_pareto_charts_of_the_export_matrix(matrix_run):
    recs = load_run(matrix_run)["records"]
    charts = {c.key: c for c in pareto_charts(recs)}
    assert set(charts) == {"pareto-energy-quality", "pareto-decode-memory", "pareto-ttft-size"}
    eq = charts["pareto-energy-quality"]
    # the HF source has no quality figure: five artifacts plotted, the sixth left out and said so
    assert len(eq.points) == 5 and any("1 case(s) left out" in n for n in eq.notes)
    assert all(p.estimated for p in eq.points)  # the TDP estimate stays an estimate in the plot
    by_label = {p.label: p for p in eq.points}
    q = next(r for r in recs if r.artifact.quant == "q8_0").artifact.quality
    assert by_label["gguf q8_0"].x == pytest.approx(q.perplexity_ratio)
    # the front is exactly what the brute-force definition says on these points
    for c in charts.values():
        pts = [(p.x, p.y) for p in c.points]
        assert set(c.front) == set(pareto_front(pts, c.x_better, c.y_better)) and c.front
    dm = charts["pareto-decode-memory"]
    assert dm.y_better == "higher" and len(dm.points) == 6
    best = max(dm.points, key=lambda p: p.y)
    assert dm.points.index(best) in dm.front  # the fastest is never dominated


def test_degraded_artifacts_and_quality_without_a_ratio(matrix_run):
    rec = next(r for r in load_run(matrix_run)["records"] if r.artifact.quant == "q4_0")
    q = {k: v for k, v in rec.artifact.quality.to_dict().items() if k != "perplexity_ratio"}
    bad = replace(rec, artifact=replace(rec.artifact, extra={**rec.artifact.extra,
                                                             "quality": {**q, "status": "degraded"}}))
    assert quality_ratio(bad) == pytest.approx(q["perplexity"] / q["baseline_perplexity"])
    chart = pareto_charts([bad])[0]
    assert chart.points[0].degraded and any("DEGRADED" in n for n in chart.notes)


def test_phase_spans_line_up_with_the_samples_clock(matrix_run):
    run = load_run(matrix_run)
    first = run["records"][0]
    tr = read_trace(samples_path(matrix_run, first.case_id), run["env"])
    spans = phase_spans(first, tr.t_ns[0], run["baseline"])
    names = [s.name for s in spans]
    # the first case follows the idle baseline; then load, one warm-up repetition, 3 x (prefill, decode)
    assert names[:3] == ["idle", "load", "warm-up"]
    assert names.count("prefill") == names.count("decode") == 3
    assert all(a.t1_s <= b.t0_s + 1e-9 for a, b in zip(spans[1:], spans[2:]))  # no overlap after idle
    decode = [p for p in first.phases if p.name == "decode" and p.label != "warmup"][0]
    assert spans[names.index("decode")].t0_s == pytest.approx((decode.t0_ns - tr.t_ns[0]) / 1e9)
    later = run["records"][-1]
    tr2 = read_trace(samples_path(matrix_run, later.case_id), run["env"])
    assert "idle" not in [s.name for s in phase_spans(later, tr2.t_ns[0], run["baseline"])]


def test_power_and_memory_series_carry_their_provenance(matrix_run):
    run = load_run(matrix_run)
    traces = case_traces(matrix_run, [r.case_id for r in run["records"]], run["env"])
    tr = next(iter(traces.values()))
    power = power_series(tr)
    assert [s.name for s in power] == ["cpu:power_estimate"] and power[0].estimated
    assert power[0].source == "tdp_model" and power[0].unit == "W"
    mem = memory_series(tr)
    assert {s.name for s in mem} >= {"worker:rss rss"} and all(s.kind == "measured" for s in mem)
    assert "mem:used" not in {s.name.split()[0] for s in mem}  # system-wide memory is not the model's
    with open(samples_path(matrix_run, tr.case_id)) as fh:
        rows = list(csv.DictReader(fh))
    rss = [float(r["worker:rss.rss_bytes"]) for r in rows if r["worker:rss.rss_bytes"]]
    factor = 1 / 2**20 if mem[0].unit == "MiB" else 1 / 2**30
    assert max(mem[0].y) == pytest.approx(max(rss) * factor)


def test_token_series_from_a_timeline(suite_run):
    run = load_run(suite_run)
    rec = max(run["records"], key=lambda r: r.workload.gen_tokens)
    tokens = read_tokens(tokens_path(suite_run, rec.case_id))
    itl = itl_values(tokens)
    assert len(itl) == len(tokens["t_ns"]) == rec.workload.gen_tokens - 1  # token 1 comes from the prefill
    assert itl == pytest.approx([v for v in tokens["itl_ms"]])
    # without an itl_ms column the same latencies follow from t_ns differences (first token has no gap)
    derived = itl_values({"t_ns": tokens["t_ns"], "rep": tokens["rep"]})
    assert derived == pytest.approx(itl[1:], rel=1e-4, abs=1e-5)
    assert len(token_series(tokens)) == len({int(r) for r in tokens["rep"]})


def test_roofline_ceilings_follow_from_the_recorded_fractions(matrix_run):
    recs = load_run(matrix_run)["records"]
    ceilings, points, _ = roofline_chart(recs)
    edge = [c for c in ceilings if not c.server]
    assert edge and all("measured" in c.basis or "spec" in c.basis for c in edge)
    rec = next(r for r in recs if r.artifact.quant == "q8_0")
    p = next(p for p in points if p.label == "gguf q8_0")
    c = next(c for c in edge if c.device == p.device)
    # achieved / ceiling at that intensity = the recorded fraction of the bandwidth roofline
    assert p.flops / (c.bandwidth_bs * p.intensity) == pytest.approx(rec.value("roofline_fraction"), rel=0.02)


def test_scaled_axes():
    assert scale_for("B", 3 * 2**30) == (1 / 2**30, "GiB") and scale_for("B", 200 * 2**20)[1] == "MiB"
    assert scale_for("s", 0.004) == (1000.0, "ms") and scale_for("W", 12.0) == (1.0, "W")
    assert nice_ticks(0, 10, 5) == [0, 2, 4, 6, 8, 10]
    assert nice_ticks(0.13, 0.97, 4) == [0.25, 0.5, 0.75]
