"""compare: known shift detected, identical distributions not; verdict directions; pairing; CLI."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
from refdata import make_record, noisy, write_run

from edgeprof.compare import paired as cmp
from edgeprof.commands import compare as cmd

ROOT = Path(__file__).resolve().parents[2]


def test_known_shift_is_detected():
    a, b = noisy(100, seed=1), noisy(150, seed=2)
    row = cmp.compare_metric(a, b, "decode_tokens_per_s", margin=0.1, seed=0)
    assert row.ratio_b_over_a == pytest.approx(1.5, rel=0.05)
    assert row.ci95[0] > 1.1 and row.p_value < 0.01 and row.verdict == "faster"
    # the same shift in a lower-is-better metric is "slower"
    assert cmp.compare_metric(a, b, "ttft_ms", 0.1).verdict == "slower"
    assert cmp.compare_metric(a, b, "energy_per_token_j", 0.1).verdict == "worse (higher)"


def test_identical_distributions_not_called_different():
    for seed in range(5):
        a, b = noisy(100, seed=10 + seed), noisy(100, seed=20 + seed)
        row = cmp.compare_metric(a, b, "decode_tokens_per_s", margin=0.1, seed=seed)
        assert row.verdict == "no detectable difference", row
        assert row.p_value > 0.05


def test_small_noisy_sample_is_inconclusive():
    a, b = noisy(100, n=3, rel=0.3, seed=3), noisy(105, n=3, rel=0.3, seed=4)
    assert cmp.compare_metric(a, b, "decode_tokens_per_s", 0.05).verdict.startswith("inconclusive")


def test_verdict_rules():
    p = 0.01  # a detected difference
    assert cmp.verdict((1.2, 1.3), "decode_tokens_per_s", 0.1, p) == "faster"
    assert cmp.verdict((0.7, 0.8), "decode_tokens_per_s", 0.1, p) == "slower"
    assert cmp.verdict((0.7, 0.8), "tpot_ms", 0.1, p) == "faster"  # B takes less time
    assert cmp.verdict((0.95, 1.05), "tpot_ms", 0.1, 0.5) == "no detectable difference"
    assert cmp.verdict((0.95, 1.05), "tpot_ms", 0.1, p) == "equivalent within ±10 %"
    assert cmp.verdict((0.95, 1.2), "tpot_ms", 0.1, 0.5) == "inconclusive"
    assert cmp.verdict(None, "tpot_ms", 0.1).startswith("inconclusive")
    assert cmp.verdict((1.5, 1.6), "cpu_busy_ratio", 0.1, p) == "higher"
    assert cmp.verdict((1.5, 1.6), "cpu_busy_ratio", 0.1, 0.2) == "inconclusive"  # no better/worse at p >= 0.05


def test_bootstrap_and_permutation_are_seeded():
    a, b = noisy(100, seed=5), noisy(120, seed=6)
    assert cmp.bootstrap_ratio_ci(a, b, seed=3) == cmp.bootstrap_ratio_ci(a, b, seed=3)
    assert cmp.permutation_p(a, b) == cmp.permutation_p(a, b)
    assert cmp.bootstrap_ratio_ci([1.0], [2.0]) is None and cmp.permutation_p([1.0], [2.0, 3.0]) is None


def test_pairing_shows_axes():
    a = [make_record(quant="f16", decode=[1.0]), make_record(p=512, decode=[1.0])]
    b = [make_record(quant="q4_k_m", decode=[1.0], host="hostB")]
    pairs = cmp.pair_rows(a, b)
    assert len(pairs) == 1
    assert cmp.differing_axes(*pairs[0]) == {"quant": ["f16", "q4_k_m"], "host": ["hostA", "hostB"]}
    assert cmp.difference(*pairs[0]) == "quant: f16 -> q4_k_m; host: hostA -> hostB"


def test_a_setting_one_runtime_lacks_reads_na_not_none():
    assert cmp._axes_text({"n_batch": [None, 2048]}) == "n_batch: n/a -> 2048"   # was 'None -> 2048'


def test_interleave_plan_abba():
    a_plan = {"cases": [{"workload": {"prompt_tokens": 128, "gen_tokens": 128, "depth": 0, "n_seqs": 1},
                         "model": {"id": "m"}, "name": "a1"}]}
    b_plan = {"cases": [dict(a_plan["cases"][0], name="b1")]}
    order = cmp.interleave_plan(a_plan, b_plan, pairs=2)
    assert [o["side"] for o in order] == ["A", "B", "B", "A"]
    assert order[0]["case"]["name"] == "a1" and order[1]["case"]["name"] == "b1"
    with pytest.raises(cmp.CompareError):
        cmp.interleave_plan(a_plan, b_plan, 0)
    # plan.json shape: the model sits under artifact.model
    case = {"artifact": {"model": {"id": "m"}, "quant": "f16"}, "workload": a_plan["cases"][0]["workload"]}
    order = cmp.interleave_plan({"cases": [case]}, {"cases": [dict(case, artifact={"model": {"id": "m"}})]}, 1)
    assert [o["side"] for o in order] == ["A", "B"]


def _runs(tmp_path, shift):
    a = write_run(tmp_path / "a", [make_record(quant="f16", decode=noisy(93, seed=1), ttft=noisy(400, seed=2))])
    b = write_run(tmp_path / "b", [make_record(quant="q4_k_m", decode=noisy(93 * shift, seed=3),
                                               ttft=noisy(400 / shift, seed=4), run_id="run-b")])
    return a, b


def _cmd(argv):
    from edgeprof.cli import main

    return main(["compare", *argv])


def test_cli_run_dirs(tmp_path, home, capsys):
    a, b = _runs(tmp_path, 2.0)
    assert _cmd([str(a), str(b), "-o", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["margins"]["decode_tokens_per_s"]["margin"] == 0.20
    assert out["margins"]["decode_tokens_per_s"]["basis"].startswith("stated 20 %")
    rows = {r["metric"]: r for r in out["rows"]}
    assert rows["decode_tokens_per_s"]["verdict"] == "faster" and rows["ttft_ms"]["verdict"] == "faster"
    assert out["axes"] == "quant: f16 -> q4_k_m" and "axes" not in rows["decode_tokens_per_s"]  # stated once
    assert _cmd([str(a), str(b), "--margin", "5%", "-o", "csv"]) == 0
    assert capsys.readouterr().out.startswith("workload,metric")
    assert _cmd([str(a), str(a)]) == 0
    verdicts = {line.rsplit("|", 2)[1].strip() for line in capsys.readouterr().out.splitlines()
                if line.startswith("| smollm2")}
    assert verdicts == {"no detectable difference"}


def test_cli_bad_input_is_one_line(tmp_path, home, capsys):
    assert _cmd([str(tmp_path / "nope"), str(tmp_path / "nope2")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a run directory" in err
    a, _ = _runs(tmp_path, 1.0)
    assert _cmd([str(a), "efficientllm-gh200"]) == 1  # nothing shares a workload key with published rows


@pytest.mark.skipif(not (ROOT / "edgeprof" / "cli.py").exists(), reason="edgeprof/cli.py not written yet")
def test_cli_module_entry(tmp_path, home):
    a, b = _runs(tmp_path, 2.0)
    res = subprocess.run([sys.executable, "-m", "edgeprof.cli", "compare", str(a), str(b), "-o", "json"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["rows"]
