"""The tiny model through every ONNX scheme and four GGUF types: artifacts, manifest, README.

One export per session (``tiny_export``); every test here reads it. The artifacts are loaded in
their real runtimes (onnxruntime, llama.cpp) and generate tokens; the manifest is checked field
by field against the files on disk.
"""
from __future__ import annotations

import json
import math

import pytest

from exporters import check_files, list_artifacts, read_manifest
from exporters.files import sha256_file

ONNX = ["fp32", "fp16", "int8", "int4"]
GGUF = ["f16", "q8_0", "q4_0", "q4_k_m"]


@pytest.fixture(scope="module")
def manifest(tiny_export):
    return read_manifest(tiny_export[0])


def test_export_dir_holds_only_finished_things(tiny_export):
    out, _ = tiny_export
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["README.md", "manifest.json", "logs"] + [f"onnx-{s}" for s in ONNX]
                           + [f"gguf-{q}" for q in GGUF])
    assert not list(out.parent.glob(".*partial*")) and not (out / ".progress.json").exists()


def test_progress_events_cover_every_step(tiny_export):
    _, events = tiny_export
    done = [e.step for e in events if e.status == "done"]
    assert done[:-1] == ["onnx:base", "onnx:fp16", "onnx:int8", "onnx:int4", "gguf:f16", "gguf:q8_0",
                         "gguf:q4_0", "gguf:q4_k_m"] and done[-1] == "verify"
    assert all(e.total == 9 and 0 <= e.index <= 9 for e in events)
    assert events[0].step == "resources" and "GB of disk" in events[0].message


def test_manifest_top_level_fields(manifest, tiny_llama_dir):
    m = manifest
    assert m["schema_version"] == 1 and m["kind"] == "edgeprof-export"
    assert m["model"]["params"] == m["source"]["params"] > 3_000_000
    src = m["source"]
    assert src["path"] == str(tiny_llama_dir.resolve())
    assert src["weights_sha256"] == sha256_file(tiny_llama_dir / "model.safetensors")
    assert m["baseline"]["size_16bit_bytes"] == src["params"] * 2 and "params x 2" in m["baseline"]["basis"]
    for tool in ("torch", "transformers", "optimum", "onnxruntime", "llama-cpp-python", "gguf", "onnx"):
        assert m["tool_versions"][tool], tool
    assert m["export"]["wall_s"] > 0 and m["export"]["peak_rss_bytes"] > 50_000_000
    assert {s["name"] for s in m["export"]["steps"]} >= {"onnx:base", "gguf:q4_k_m"}
    q = m["quality_method"]
    assert q["tokens"] == 1024 and q["window"] == 256 and q["prompts"] == 8 and len(q["text_sha256"]) == 64
    assert math.isfinite(q["baseline"]["perplexity"])


def test_manifest_artifacts_field_by_field(manifest, tiny_export):
    out, _ = tiny_export
    arts = manifest["artifacts"]
    assert [(a["format"], a["quant"]) for a in arts] == [("onnx", s) for s in ONNX] + [("gguf", q) for q in GGUF]
    for a in arts:
        d = out / a["path"]
        assert a["name"] == a["path"] and a["runtime"] in ("onnxruntime", "llama.cpp")
        on_disk = sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file())
        assert [f["name"] for f in a["files"]] == on_disk
        for f in a["files"]:
            assert (d / f["name"]).stat().st_size == f["size_bytes"]
            assert sha256_file(d / f["name"]) == f["sha256"]
        assert a["size_bytes"] == sum(f["size_bytes"] for f in a["files"])
        assert a["sha256"] == sha256_file(out / a["main_file"])
        assert a["compression_rate"] == pytest.approx(manifest["baseline"]["size_16bit_bytes"] / a["size_bytes"], rel=1e-3)
        assert a["compression_basis"].startswith("params x 2")
        assert a["verify"]["loads"] is True and isinstance(a["verify"]["first_token_id"], int)
        assert a["export"]["wall_s"] > 0 and a["export"]["peak_rss_bytes"] > 0
        q = a["quality"]
        for key in ("perplexity", "baseline_perplexity", "perplexity_ratio", "quality_retention",
                    "next_token_agreement", "greedy_agreement"):
            assert math.isfinite(q[key]), key
        assert 0 <= q["greedy_agreement"] <= 1 and 0 < q["quality_retention"] <= 1
        assert a["mcr"] == pytest.approx(a["compression_rate"] * q["quality_retention"], rel=1e-3)
    by = {(a["format"], a["quant"]): a for a in arts}
    assert by[("onnx", "fp32")]["quality"]["perplexity_ratio"] == pytest.approx(1.0, abs=1e-3)
    assert by[("gguf", "f16")]["quality"]["greedy_agreement"] >= 0.95
    assert by[("onnx", "int4")]["scheme"] == {
        "method": "ort-genai-builder 0.13.2", "bits": 4, "lm_head_bits": 8, "block_size": 32, "accuracy_level": 4,
        "symmetric": False, "algo": "rtn_last", "embedding": "shares the 8-bit lm_head (GatherBlockQuantized)",
        "graph": "GroupQueryAttention, SkipSimplifiedLayerNormalization, fused QKV/gate-up"}
    assert "after" not in by[("onnx", "int4")]["export"]  # the builder reads the source, not the fp32 export
    assert by[("onnx", "int8")]["export"]["after"] == "onnx:base"
    assert check_files(out, rehash=True) == []


def test_list_artifacts_is_what_a_bench_needs(tiny_export, manifest):
    rows = list_artifacts(tiny_export[0])
    assert len(rows) == 8
    for r in rows:
        assert set(r) >= {"path", "format", "quant", "size_bytes", "sha256", "files", "quality",
                          "compression_rate", "model_id", "params"}
        assert r["path"].endswith((".onnx", ".gguf")) and r["params"] == manifest["model"]["params"]


def test_readme_tells_how_to_load_each_artifact(tiny_export, manifest):
    text = (tiny_export[0] / "README.md").read_text()
    for a in manifest["artifacts"]:
        assert f"`{a['path']}`" in text
    assert "llama-cli -m gguf-q4_k_m/model-q4_k_m.gguf" in text
    assert "ort.InferenceSession('onnx-int4/model.onnx')" in text and "llama_cpp.Llama(" in text


@pytest.mark.parametrize("scheme", ONNX)
def test_onnx_artifacts_generate_in_onnxruntime(tiny_export, scheme):
    from exporters.onnx_runner import OnnxDecoder

    d = tiny_export[0] / f"onnx-{scheme}"
    dec = OnnxDecoder(d / "model.onnx")
    assert {"tokenizer.json", "config.json"} <= {p.name for p in d.iterdir()}  # runs on its own
    tokens = dec.greedy([504, 3575, 282, 4649, 314], 6)
    assert len(tokens) == 6 and all(0 <= t < 49152 for t in tokens)
    if scheme == "fp16":  # keep_io_types: the runtime feeds and reads fp32
        assert all(i.type == "tensor(float)" for i in dec.session.get_inputs() if i.name.startswith("past"))


@pytest.mark.parametrize("quant", GGUF)
def test_gguf_artifacts_generate_in_llama_cpp(tiny_export, quant):
    from exporters.scorers import _load_llama

    llm = _load_llama(tiny_export[0] / f"gguf-{quant}" / f"model-{quant}.gguf", extra_bufts=False, n_ctx=64)
    tokens = []
    for tok in llm.generate([504, 3575, 282], temp=0.0):
        tokens.append(tok)
        if len(tokens) == 6:
            break
    assert len(tokens) == 6
    llm.close()


def test_int4_is_smaller_than_int8_with_no_large_fp32_weight(tiny_export):
    import numpy as np
    import onnx

    out = tiny_export[0]
    sizes = {s: sum(p.stat().st_size for p in (out / f"onnx-{s}").glob("model.onnx*")) for s in ONNX}
    assert sizes["int4"] < sizes["int8"] < sizes["fp32"] and sizes["fp16"] < sizes["fp32"]
    model = onnx.load(str(out / "onnx-int4" / "model.onnx"))
    fp32 = [(t.name, int(np.prod(t.dims))) for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT]
    assert max(n for _, n in fp32) < 100_000, sorted(fp32, key=lambda x: -x[1])[:3]
    ops = {n.op_type for n in model.graph.node}  # the model builder's fused graph
    assert {"MatMulNBits", "GatherBlockQuantized", "GroupQueryAttention"} <= ops


def test_manifest_metadata_in_gguf_names_the_model(tiny_export):
    from gguf import GGUFReader

    r = GGUFReader(str(tiny_export[0] / "gguf-q4_k_m" / "model-q4_k_m.gguf"))
    assert r.fields["tokenizer.ggml.pre"].contents() == "smollm"
    assert r.fields["general.file_type"].contents() == 15  # LLAMA_FTYPE_MOSTLY_Q4_K_M
    assert json.loads(json.dumps(r.fields["tokenizer.ggml.add_bos_token"].contents())) is False
