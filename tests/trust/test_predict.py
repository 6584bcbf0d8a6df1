"""``edgeprof predict`` refuses a fit with one value of the axis it predicts along, and widens its
interval outside the fitted range."""
from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from edgeprof.analysis.latency_model import FitError, fit, widening
from edgeprof.results.jsonl import read_records
from edgeprof.results.schema import Metric, Provenance

RUNS = Path(__file__).resolve().parents[1] / "fixtures" / "runs"


def test_prompt_1024_from_16_token_runs_is_refused(capsys):
    """The issue: from 32-token runs, TTFT at 1024 came out as the 32-token figure, 355 ms."""
    from edgeprof.cli import main

    code = main(["predict", str(RUNS / "same-A"), str(RUNS / "same-B"), "--prompt", "1024", "--gen", "16"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "one prompt length (16)" in err and "-p 16,1024" in err


def test_the_measured_point_itself_is_answered():
    model = fit(read_records(RUNS / "same-A" / "records.jsonl") + read_records(RUNS / "same-B" / "records.jsonl"))
    out = model.predict(16, 16)
    assert out["ttft_ms"]["extrapolated"] is False and out["ttft_ms"]["widened_x"] == 1.0
    with pytest.raises(FitError, match="decode context"):
        model.predict(16, 64)  # another decode context: no slope measured


def _sweep(prompts, truth, rel=0.01, n=4, seed=0):
    """Records whose TTFT samples follow ``truth(p)`` with seeded noise (a template from a real run)."""
    rng = random.Random(seed)
    template = read_records(RUNS / "same-A" / "records.jsonl")[0]
    prov = Provenance("measured", "monotonic clock in the worker", "process")
    out = []
    for p in prompts:
        ys = tuple(truth(p) * (1 + rng.gauss(0, rel)) for _ in range(n))
        out.append(replace(template, case_id=f"p{p}", workload=replace(template.workload, prompt_tokens=p),
                           metrics={**template.metrics, "ttft_ms": Metric(ys[0], "ms", prov, n=n, samples=ys)}))
    return out


def test_extrapolation_widens_the_interval_enough_to_hold_a_curved_truth():
    truth = lambda p: 5.0 * p + 0.002 * p * p  # noqa: E731 - attention's quadratic term
    model = fit(_sweep((16, 32, 64), truth))
    inside = model.ttft.predict(48)
    far = model.ttft.predict(1024)
    assert inside["widened_x"] == 1.0 and far["widened_x"] == pytest.approx(16.0)
    plain_half = far["t"] * far["se"] / 16  # what the OLS interval alone would have been
    assert far["value"] + plain_half < truth(1024)  # the straight line's own interval misses the truth
    assert far["model_spread"] > 0  # three prompt lengths: the quadratic fit disagrees out there
    assert far["lo"] <= truth(1024) <= far["hi"]    # the widened one holds it
    notes = model.predict(1024, 16)["notes"]
    assert any("TTFT: outside the fitted range (16x" in n and "widened 16-fold" in n for n in notes)


def test_widening_factor():
    assert widening(48, (16, 64)) == 1.0 and widening(128, (16, 64)) == 2.0 and widening(4, (16, 64)) == 4.0
