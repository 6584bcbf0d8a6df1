"""The graph the quantized ONNX schemes start from: ONNX Runtime's model builder, optimum as the fallback.

The builder's graph (``tiny_export``'s ``onnx-int4``) must run in edgeprof's own ONNX Runtime
loop, the one ``edgeprof bench`` uses; when the builder cannot be fetched (here: a cache path
under a regular file, so nothing can be downloaded or created) ``int4`` is still made, from the
optimum graph, and the manifest says why.
"""
from __future__ import annotations

import json

import pytest

from edgeprof import exporters
from edgeprof.exporters.onnx.builder import unsupported_reason


def _generate(model_path, n=6):
    from edgeprof.runtimes.base import Placement
    from edgeprof.runtimes.onnxruntime import load

    eng = load({"path": str(model_path)}, Placement(threads=1), n_ctx=64)
    try:
        tok = eng.prefill(eng.tokenize("The capital of France is"))
        out = [tok]
        while len(out) < n:
            out.append(eng.decode(out[-1]))
    finally:
        eng.close()
    return out, eng.info


def test_builder_graph_int4_runs_in_the_bench_runtime(tiny_export):
    d = tiny_export[0] / "onnx-int4"
    assert {"model.onnx", "tokenizer.json", "config.json"} <= {p.name for p in d.iterdir()}
    tokens, info = _generate(d / "model.onnx")
    assert len(tokens) == 6 and all(0 <= t < 49152 for t in tokens)
    assert info.extra["ops"].get("GroupQueryAttention") == 2 and "position_ids" not in info.extra["inputs"]


@pytest.fixture(scope="module")
def fallback_export(tiny_llama_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("int4-fallback")
    (tmp / "not-a-dir").write_text("")
    events: list = []
    out = tmp / "export"
    exporters.export(tiny_llama_dir, ["onnx:int4"], out, builder_cache=tmp / "not-a-dir" / "genai",
                     quality=False, progress=events.append)
    return out, events


def test_unfetchable_builder_falls_back_to_the_optimum_graph(fallback_export):
    out, events = fallback_export
    [a] = exporters.read_manifest(out)["artifacts"]
    assert a["scheme"]["graph"] == "optimum" and a["scheme"]["blocks"].startswith("asymmetric, float minimum")
    assert a["scheme"]["fallback_reason"].startswith("cannot create the builder cache")
    assert [e.message for e in events if e.status == "info" and e.step == "onnx:graph"] == [
        f"optimum: {a['scheme']['fallback_reason']}"]
    assert "onnx:base" not in [e.step for e in events]  # the graph job made the optimum export itself
    assert a["quality_status"] == "unchecked" and a["quality"] is None
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "logs", "manifest.json", "onnx-int4"]
    tokens, info = _generate(out / "onnx-int4" / "model.onnx")
    assert len(tokens) == 6 and "GroupQueryAttention" not in info.extra["ops"] and info.extra["ops"]["MatMulNBits"]
    assert "position_ids" in info.extra["inputs"]


def test_unsupported_architecture_is_a_fallback_reason(tiny_llama_dir, tmp_path):
    assert unsupported_reason(tiny_llama_dir) is None
    cfg = json.loads((tiny_llama_dir / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**cfg, "architectures": ["GPT2LMHeadModel"]}))
    assert unsupported_reason(tmp_path) == "architecture GPT2LMHeadModel is not supported by the model builder 0.13.2"


def test_forced_builder_fails_instead_of_falling_back(tiny_llama_dir, tmp_path):
    (tmp_path / "not-a-dir").write_text("")
    with pytest.raises(exporters.ExportError, match="onnx:int4-builder needs the model builder: cannot create") as err:
        exporters.export(tiny_llama_dir, ["onnx:int4-builder"], tmp_path / "export",
                         builder_cache=tmp_path / "not-a-dir" / "genai", quality=False)
    assert "\n" not in str(err.value) and not (tmp_path / "export").exists()
