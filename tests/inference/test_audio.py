"""A small audio model a package ships: Silero VAD's ONNX from PyPI ``silero-vad`` (fetched once
through the catalogue, sha256-verified), benched with the 512-sample chunk its own code feeds:
its recurrent state's batch axis follows --batch, its sampling rate is fed as 16 kHz, its audio is
random samples said to be random, and the row has the real-time factor."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from edgeprof.models import shapes
from edgeprof.models.signature import read

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def silero(test_home):
    from edgeprof.models import catalogue

    return catalogue.ensure(catalogue.get("silero-vad"), test_home / "models")


def test_signature_takes_the_packaged_chunk_and_the_batch_symbol(silero):
    sig = read(silero, "onnx")
    assert (sig.modality, sig.task) == ("audio", "vad")
    assert sig.input("state").dims == (2, "batch", 128) and sig.input("sr").dims == ()
    b, dims = shapes.resolve(sig, {}, 4, None)
    assert dims == {"input": [4, 512], "state": [2, 4, 128], "sr": []}


def test_bench_reports_the_real_time_factor(silero, tmp_path, bench_home):
    proc = subprocess.run([sys.executable, "-m", "edgeprof", "bench", str(silero), "--batch", "1,2", "--reps", "20",
                           "--min-seconds", "0.3", "--idle-seconds", "0.2", "-t", "1", "-q", "-o", "json", "--out",
                           str(tmp_path / "run")], capture_output=True, text=True, timeout=400, cwd=tmp_path,
                          env=dict(os.environ, EDGEPROF_HOME=str(bench_home)))
    assert proc.returncode == 0, proc.stderr[-1500:]
    rows = json.loads(proc.stdout)
    for r in rows:
        assert r["status"] == "ok" and r["model"]["id"] == "silero-vad", r["error"]
        feed, m = r["runtime_extra"]["feed"], r["metrics"]
        assert feed["input"]["source"] == "random" and "audio" in feed["input"]["how"]
        assert feed["sr"]["source"] == "fixed" and "16000" in feed["sr"]["how"]
        assert r["runtime_extra"]["audio_s_per_sample"] == pytest.approx(512 / 16000)
        assert m["rtfx"]["samples"] == pytest.approx([x * 512 / 16000 for x in m["samples_per_s"]["samples"]])
    assert [r["workload"]["inputs"]["state"] for r in rows] == [[2, 1, 128], [2, 2, 128]]
