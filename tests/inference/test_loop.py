"""The inference loop stops when BOTH --reps passes and --min-seconds are reached, and a case's row
has the inference metrics with their provenance (a real worker, a real ONNX Runtime session)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from edgeprof.engine.inference_loop import _timed
from edgeprof.results.schema import PROVENANCE_KINDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine(encoders):
    from edgeprof.runtimes.base import Placement
    from edgeprof.runtimes.ort_inference import load

    e = load({"path": str(encoders["bert-onnx"])}, Placement(threads=1))
    import numpy as np

    ids = np.ones((1, 8), dtype=np.int64)
    e.prepare({"input_ids": ids, "attention_mask": ids, "token_type_ids": ids * 0})
    yield e
    e.close()


def _events():
    got = []
    return got, got.append


def _results(events):
    return [e.result for e in events if getattr(e, "name", None) == "repetition" and getattr(e, "result", None)]


def test_count_reached_first_stops_at_min_seconds(engine):
    events, emit = _events()
    n = _timed(engine, emit, "c", reps=3, min_seconds=0.3)
    reps = _results(events)
    span = reps[-1].inference[1] - reps[0].inference[0]
    assert span >= 0.3e9 and n > 3  # a 50-µs pass: the duration decided
    assert n == sum(r.n_inferences for r in reps) == sum(len(r.latency_ns) for r in reps)
    assert len(reps) >= 2  # blocks of a third of --min-seconds


def test_duration_reached_first_stops_at_reps(engine):
    events, emit = _events()
    n = _timed(engine, emit, "c", reps=37, min_seconds=0.0)
    reps = _results(events)
    assert n == 37 and sum(r.n_inferences for r in reps) == 37
    assert all(t > 0 for r in reps for t in r.latency_ns)


def bench(model, tmp, *extra, home=None) -> list[dict]:
    proc = subprocess.run([sys.executable, "-m", "edgeprof", "bench", str(model), "--reps", "25", "--min-seconds",
                           "0.3", "--idle-seconds", "0.2", "-t", "1", "--out", str(tmp / "run"), "-o", "json", "-q",
                           *extra], capture_output=True, text=True, timeout=400, cwd=tmp,
                          env=dict(os.environ, EDGEPROF_HOME=str(home or tmp / "home")))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def check_provenance(r: dict) -> None:
    for name, m in r["metrics"].items():
        p = m["provenance"]
        assert p["kind"] in PROVENANCE_KINDS and p.get("source"), name


def test_batch_sweep_of_an_encoder(encoders, tmp_path, bench_home):
    rows = bench(encoders["bert-onnx"], tmp_path, "-p", "16", "--batch", "1,4", home=bench_home)
    assert [r["workload"]["batch"] for r in rows] == [1, 4]
    for r in rows:
        assert r["status"] == "ok", r["error"]
        b = r["workload"]["batch"]
        assert r["workload"]["kind"] == "inference" and r["workload"]["inputs"]["input_ids"] == [b, 16]
        m = r["metrics"]
        lat = m["latency_ms"]
        assert lat["n"] >= 25 and 0 < lat["value"] <= lat["p90"] <= lat["p99"]
        inf = m["inferences_per_s"]["samples"]
        assert m["samples_per_s"]["samples"] == pytest.approx([x * b for x in inf])
        assert m["tokens_per_s"]["samples"] == pytest.approx([x * b * 16 for x in inf])
        for k in ("load_ms", "first_inference_ms", "peak_rss_bytes", "energy_per_inference_j", "energy_per_sample_j"):
            assert m[k]["value"] > 0, k
        assert m["energy_per_sample_j"]["value"] == pytest.approx(m["energy_per_inference_j"]["value"] / b)
        assert "uncertainty_basis" in m["energy_per_inference_j"]
        feed = r["runtime_extra"]["feed"]
        assert feed["input_ids"]["source"] == "real" and "tokenizer" in feed["input_ids"]["how"]
        flops = r["runtime_extra"]["flops_per_inference"]
        assert flops["value"] > 0 and "ONNX graph" in flops["source"]
        assert all(rep["n_inferences"] >= 1 and "latency_ns" not in rep for rep in r["reps"])
        check_provenance(r)
    f1, f4 = (r["runtime_extra"]["flops_per_inference"]["value"] for r in rows)
    assert f4 == pytest.approx(4 * f1)  # the graph's matmuls scale with the batch


@pytest.mark.parametrize("key", ["vit-onnx", "vit-hf"])
def test_random_weight_vision_model_on_ort_and_torch(encoders, tmp_path, key, bench_home):
    [r] = bench(encoders[key], tmp_path, home=bench_home)
    assert r["status"] == "ok", r["error"]
    assert r["runtime"]["name"] == ("onnxruntime" if key.endswith("onnx") else "torch")
    assert r["workload"]["inputs"] == {"pixel_values": [1, 3, 32, 32]}
    assert r["runtime_extra"]["feed"]["pixel_values"]["source"] == "real"
    assert r["runtime_extra"]["task"] == "classification"
    assert r["runtime_extra"]["flops_per_inference"]["value"] > 0
    assert "tokens_per_s" not in r["metrics"] and r["metrics"]["samples_per_s"]["value"] > 0
    check_provenance(r)
