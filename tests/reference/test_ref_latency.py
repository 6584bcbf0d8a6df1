"""Latency model: recovers known coefficients; intervals; the predict command."""
from __future__ import annotations

import argparse
import json
import random

import pytest
from refdata import make_record, write_run

from edgeprof.analysis import latency_model as lm
from edgeprof.commands import predict as cmd


def sweep(quadratic=0.0, seed=0, noise_ms=1.0):
    rng = random.Random(seed)
    recs = []
    for p in (32, 64, 128, 256, 512):
        for depth in (0, 256, 1024):
            ttft = [20 + 0.5 * p + quadratic * p * p + rng.gauss(0, noise_ms) for _ in range(5)]
            ctx = depth + p + 64 / 2
            tpot = [8 + 0.004 * ctx + rng.gauss(0, 0.05) for _ in range(5)]
            recs.append(make_record(p=p, n=64, depth=depth, ttft=ttft, tpot=tpot))
    return recs


def test_recovers_linear_coefficients():
    model = lm.fit(sweep())
    a, b = model.ttft.coef
    assert a == pytest.approx(20, abs=1.0) and b == pytest.approx(0.5, abs=0.01)
    assert model.ttft.r2 > 0.99 and "rejected" in model.ttft.note
    d, e = model.tpot.coef
    assert d == pytest.approx(8, abs=0.05) and e == pytest.approx(0.004, abs=2e-4)
    assert model.tpot.rmse == pytest.approx(0.05, rel=0.3)


def test_keeps_quadratic_term_when_significant():
    model = lm.fit(sweep(quadratic=0.002))
    assert len(model.ttft.coef) == 3 and model.ttft.coef[2] == pytest.approx(0.002, rel=0.1)
    assert "kept" in model.ttft.note


def test_prediction_interval_covers_truth():
    pred = lm.fit(sweep()).predict(300, 100, depth=128)
    ttft_true = 20 + 0.5 * 300
    assert pred["ttft_ms"]["lo"] < ttft_true < pred["ttft_ms"]["hi"]
    tpot_true = 8 + 0.004 * (128 + 300 + 50)
    assert pred["tpot_ms"]["lo"] < tpot_true < pred["tpot_ms"]["hi"]
    e2e = pred["e2e_ms"]
    assert e2e["lo"] < ttft_true + 99 * tpot_true < e2e["hi"] and not e2e["extrapolated"]
    assert e2e["provenance"]["kind"] == "estimated"
    assert lm.fit(sweep()).predict(4096, 10)["e2e_ms"]["extrapolated"]


def test_stat_helpers():
    assert lm.t_ppf(0.975, 10) == pytest.approx(2.228, abs=1e-3)
    assert lm.f_sf(4.96, 1, 10) == pytest.approx(0.05, abs=1e-3)


def test_not_enough_data():
    with pytest.raises(lm.FitError):
        lm.fit([make_record(ttft=[10.0])])


def _run(argv):
    p = argparse.ArgumentParser()
    cmd.add_arguments(p)
    return cmd.run(p.parse_args(argv))


def test_predict_command(tmp_path, home, capsys):
    run = write_run(tmp_path / "sweep", sweep())
    assert _run(["--prompt", "300", "--gen", "100", str(run), "-o", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["prediction"]["e2e_ms"]["lo"] < out["prediction"]["e2e_ms"]["value"] < out["prediction"]["e2e_ms"]["hi"]
    assert _run(["-p", "300", "-n", "100", str(run)]) == 0
    md = capsys.readouterr().out
    assert "e2e_ms" in md and "prediction interval" in md and "R²" in md
    mixed = write_run(tmp_path / "mixed", sweep()[:3] + [make_record(quant="f16", ttft=[1.0, 2.0])])
    assert _run(["-p", "1", "-n", "1", str(mixed)]) == 2
    assert "mix 2 configurations" in capsys.readouterr().err
    assert _run(["-p", "1", "-n", "1", str(tmp_path / "missing")]) == 2
