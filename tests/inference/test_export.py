"""``edgeprof export`` of models that are not causal LMs: ONNX fp32/fp16/int8/int8-static, each
measured against the source by its task's measure (embedding cosine, classifier top-1 agreement,
max abs error otherwise) and held to the gate, the manifest saying which; a deliberately broken
int8 fails the gate; the packaged all-MiniLM-L6-v2 exports to int8 and passes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from edgeprof.exporters.errors import ExportError
from edgeprof.exporters.pipeline.encoder import _reference, _sets, export_encoder
from edgeprof.exporters.quality import encoder as q

pytestmark = pytest.mark.slow


def test_tiny_embedder_every_scheme_with_cosine_gate(encoders, tmp_path):
    out = export_encoder(encoders["bert-hf"], ["onnx:fp32,fp16,int8,int8-static"], tmp_path / "exp")
    m = json.loads((out / "manifest.json").read_text())
    assert m["quality_method"]["metric"] == "cosine_similarity" and m["model"]["task"] == "embedding"
    assert [a["quant"] for a in m["artifacts"]] == ["fp32", "fp16", "int8", "int8-static"]
    for a in m["artifacts"]:
        assert a["quality_status"] == "ok" and a["quality"]["metric"] == "cosine_similarity", a
        assert a["quality_gate"]["limits"]["min_mean_cosine"] > 0.8
        assert (out / a["path"] / "tokenizer.json").is_file() and (out / a["path"] / "model.onnx").is_file()
    assert m["artifacts"][0]["quality"]["mean_cosine"] > 0.9999
    assert not list(tmp_path.glob(".*partial"))


def _tamper(path, seed=0):
    """Overwrite every quantized weight with random int8 values: a quantizer gone wrong."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(path))
    rng = np.random.default_rng(seed)
    ints = [t for t in m.graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert ints, "the int8 artifact holds no int8 weights"
    for t in ints:
        t.CopyFrom(numpy_helper.from_array(rng.integers(-127, 127, size=tuple(t.dims), dtype=np.int8), t.name))
    onnx.save(m, str(path))


def test_classifier_top1_and_depth_max_error(encoders, tmp_path):
    m = json.loads((export_encoder(encoders["vit-hf"], ["onnx:fp16"], tmp_path / "vit") / "manifest.json").read_text())
    [a] = m["artifacts"]
    assert m["quality_method"]["metric"] == "top1_agreement" and a["quality"]["n"] == 12
    assert a["quality"]["top1_agreement"] >= 0.95 and a["quality_status"] == "ok"
    m = json.loads((export_encoder(encoders["dpt-hf"], ["onnx:fp32"], tmp_path / "dpt") / "manifest.json").read_text())
    [a] = m["artifacts"]
    assert a["quality"]["metric"] == "max_abs_error" and a["quality"]["relative_error"] < 1e-3


def test_bad_scheme_and_existing_out_are_usage_errors(encoders, tmp_path):
    with pytest.raises(ExportError, match="unknown scheme 'int4'"):
        export_encoder(encoders["bert-hf"], ["onnx:int4"], tmp_path / "x")
    with pytest.raises(ExportError, match="export to ONNX only"):
        export_encoder(encoders["bert-hf"], ["gguf:q8_0"], tmp_path / "x")


@pytest.fixture(scope="module")
def minilm_int8(minilm, tmp_path_factory):
    """``edgeprof export`` of the packaged all-MiniLM-L6-v2 to ONNX int8, as a new user runs it."""
    tmp = tmp_path_factory.mktemp("minilm")
    out = tmp / "minilm"
    proc = subprocess.run([sys.executable, "-m", "edgeprof", "export", str(minilm), "--to", "onnx:int8", "--out",
                           str(out), "-o", "json"], capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, EDGEPROF_HOME=str(tmp / "home"), HF_HUB_OFFLINE="1"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, json.loads(proc.stdout), proc.stderr


def test_packaged_minilm_exports_to_int8_and_passes_its_gate(minilm, minilm_int8):
    _, m, err = minilm_int8
    [a] = m["artifacts"]
    assert "warning" not in err, err  # torch's tracer advice is not edgeprof's warning: the gate measures the graph
    assert m["quality_method"]["metric"] == "cosine_similarity" and m["model"]["task"] == "embedding"
    assert a["quality_status"] == "ok" and a["quality"]["mean_cosine"] >= 0.98, a["quality"]
    assert a["size_bytes"] < 0.7 * sum(f.stat().st_size for f in minilm.glob("*.safetensors"))


def test_broken_int8_fails_the_cosine_gate(minilm, minilm_int8, tmp_path):
    import shutil

    out, m, _ = minilm_int8
    path = shutil.copytree(out / "onnx-int8", tmp_path / "broken") / "model.onnx"
    ev, _, _ = _sets(minilm, "text")
    ref = _reference(minilm, ev.feeds, "embedding")
    _tamper(path)
    figures = q.measure("embedding", ref, q.run_onnx(path, ev.feeds), ev.masks)
    bad = q.judge("int8", figures)
    assert bad["status"] == "degraded" and any("cosine" in f for f in bad["failures"]), (figures, bad)
    assert figures["mean_cosine"] < m["artifacts"][0]["quality"]["mean_cosine"] - 0.05


def test_bench_of_the_int8_export_with_a_batch_sweep(minilm_int8, tmp_path, bench_home):
    out, _, _ = minilm_int8
    proc = subprocess.run([sys.executable, "-m", "edgeprof", "bench", str(out), "--batch", "1,8", "-p", "32",
                           "--reps", "3", "--min-seconds", "0.3", "--idle-seconds", "0.2", "-t", "2", "-q",
                           "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env=dict(os.environ, EDGEPROF_HOME=str(bench_home)))
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = proc.stdout
    assert "latency p50/p90/p99 ms" in table and "J/inf" in table and "samples/s" in table
    rows = [json.loads(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert [(r["artifact"]["quant"], r["workload"]["batch"]) for r in rows] == [("int8", 1), ("int8", 8)]
    assert "cos 0.99" in table  # the quality column: the export's own measure
    for r in rows:
        assert r["status"] == "ok" and r["model"]["id"] == "all-minilm-l6-v2"
        assert "cosine_similarity" in r["metrics"]["mcr"]["provenance"]["note"]
        assert r["artifact"]["quality"]["mean_cosine"] >= 0.98  # the manifest's figures travel with the row
        assert r["metrics"]["mcr"]["value"] < r["metrics"]["compression_rate"]["value"]
