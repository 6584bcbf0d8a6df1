"""``edgeprof bench`` runs the ONNX file through ONNX Runtime and the HF directory through
PyTorch in real worker processes; the records carry the resolved runtime and placement."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def bench(model: Path, tmp: Path, *extra: str) -> list[dict]:
    env = dict(os.environ, EDGEPROF_HOME=str(tmp / "home"))
    proc = subprocess.run([sys.executable, "-m", "edgeprof", "bench", str(model), "-p", "16", "-n", "8",
                           "--reps", "2", "--min-seconds", "0", "--idle-seconds", "0.2", "-t", "2",
                           "--out", str(tmp / "run"), "-o", "json", *extra],
                          capture_output=True, text=True, env=env, cwd=tmp, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def check_metrics(r: dict) -> None:
    assert r["status"] == "ok" and r["error"] is None, r["error"]
    m = r["metrics"]
    for k in ("ttft_ms", "tpot_ms", "decode_tokens_per_s", "prefill_tokens_per_s", "peak_rss_bytes"):
        assert m[k]["value"] > 0, k
    assert m["decode_tokens_per_s"]["n"] == 2
    assert r["workload"]["prompt_tokens"] == 16 and r["workload"]["gen_tokens"] == 8


def test_bench_onnx_file(tiny, tmp_path, seeded):
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    import onnxruntime

    [r] = bench(tiny["onnx"], tmp_path)
    check_metrics(r)
    rt = r["runtime"]
    assert rt["name"] == "onnxruntime" and rt["version"] == onnxruntime.__version__
    assert rt["placement"]["provider"] == "cpu" and rt["placement"]["threads"] == 2
    assert rt["placement"]["providers"] == ["CPUExecutionProvider"]
    assert r["artifact"]["format"] == "onnx"
    assert r["model"]["params"] and r["model"]["params"] > 100_000
    assert r["runtime_extra"]["n_layers"] == 2


def test_bench_hf_dir_with_torch(tiny, tmp_path, seeded):
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    import torch

    [r] = bench(tiny["hf"], tmp_path, "--runtime", "torch")
    check_metrics(r)
    rt = r["runtime"]
    assert rt["name"] == "torch" and rt["version"] == torch.__version__
    assert rt["placement"]["provider"] == "cpu" and rt["placement"]["threads"] == 2
    assert rt["placement"]["dtype"] == "fp32"
    assert r["artifact"]["format"] == "hf"


def test_bench_unavailable_provider_is_a_failed_row_naming_the_fix(tiny, tmp_path, seeded):
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    env = dict(os.environ, EDGEPROF_HOME=str(tmp_path / "home"))
    proc = subprocess.run([sys.executable, "-m", "edgeprof", "bench", str(tiny["onnx"]), "-p", "4", "-n", "2",
                           "--reps", "1", "--min-seconds", "0", "--idle-seconds", "0", "--provider", "cuda",
                           "--out", str(tmp_path / "run"), "-o", "json"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    [r] = json.loads(proc.stdout)
    assert r["status"] == "failed" and r["error"]["phase"] == "load"
    msg = r["error"]["message"]
    assert "\n" not in msg and "onnxruntime-gpu" in msg and "CPUExecutionProvider" in msg
