"""References accept per-inference rows: a user set made from an encoder run on one machine is
matched EXACT by a later run of the same model, batch and shapes, and its per-inference figures
are compared (latency, inferences/s, J/inference); another batch is another workload."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow


def _cli(home, *args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeprof", *map(str, args)], capture_output=True, text=True,
                          timeout=400, cwd=cwd, env=dict(os.environ, EDGEPROF_HOME=str(home)))


def test_a_set_from_an_encoder_run_matches_the_same_workload(encoders, tmp_path, bench_home):
    model = encoders["bert-onnx"]
    flags = ["-p", "16", "--reps", "10", "--min-seconds", "0.3", "--idle-seconds", "0.2", "-t", "1", "-q"]
    first = _cli(bench_home, "bench", model, "--batch", "2", *flags, "--out", tmp_path / "a", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-1500:]
    made = _cli(bench_home, "reference", "add", tmp_path / "a", "--name", "enc-ref-test")
    assert made.returncode == 0, made.stderr[-1500:]
    shown = _cli(bench_home, "reference", "show", "enc-ref-test")
    assert "b2 input_ids 2x16" in shown.stdout and "latency_ms" in shown.stdout, shown.stdout[:800]
    again = _cli(bench_home, "bench", model, "--batch", "2,4", *flags, "-o", "json", "--out", tmp_path / "b",
                 cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-1500:]
    same, other = json.loads(again.stdout)
    assert same["reference"]["kind"] == "exact" and same["reference"]["set_name"] == "enc-ref-test"
    compared = {r["metric"] for r in same["reference"]["ratios"]}
    assert {"latency_ms", "inferences_per_s", "energy_per_inference_j"} <= compared, compared
    assert "b2 input_ids 2x16" in same["reference"]["summary"]
    assert other["reference"]["kind"] != "exact"  # batch 4 is another workload
