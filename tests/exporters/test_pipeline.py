"""The tiny model through the default ONNX schemes and seven GGUF types: artifacts, manifest, README.

One export per session (``tiny_export``); every test here reads it. The artifacts are loaded in
their real runtimes (onnxruntime, llama.cpp) and generate tokens; the manifest is checked field
by field against the files on disk; every artifact, int8 and int4 included, passes the quality gate.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from edgeprof.exporters import check_files, list_artifacts, read_manifest
from edgeprof.exporters.files import sha256_file

ONNX = ["fp32", "fp16", "int8", "int4"]
GGUF = ["f16", "q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_0", "iq4_xs"]


@pytest.fixture(scope="module")
def manifest(tiny_export):
    return read_manifest(tiny_export[0])


def test_export_dir_holds_only_finished_things(tiny_export):
    out, _ = tiny_export
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["README.md", "manifest.json", "logs"] + [f"onnx-{s}" for s in ONNX]
                           + [f"gguf-{q}" for q in GGUF])
    assert not list(out.parent.glob(".*partial*")) and not (out / ".progress.json").exists()


def test_progress_events_cover_every_job_once(tiny_export):
    _, events = tiny_export
    builds = ["onnx:graph"] + [f"onnx:{s}" for s in ONNX[1:]] + [f"gguf:{q}" for q in GGUF]  # no optimum export
    checks = ["quality:reference"] + [f"check:onnx-{s}" for s in ONNX] + [f"check:gguf-{q}" for q in GGUF]
    done = [e.step for e in events if e.status == "done"]
    assert sorted(done) == sorted(builds + checks)  # each exactly once, in whatever order they finished
    assert sorted(e.step for e in events if e.status == "started") == sorted(done)
    total = len(done)
    assert all(e.total == total and 0 <= e.index <= total for e in events)
    assert events[0].step == "resources" and "GB of disk" in events[0].message and "at a time" in events[0].message
    # a check starts only after its artifact is built: the gate acts as soon as it can
    order = [e.step for e in events if e.status in ("started", "done")]
    for s in ONNX[1:]:
        assert order.index(f"check:onnx-{s}") > order.index(f"onnx:{s}")


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
    names = {s["name"] for s in m["export"]["steps"]}
    assert "gguf:q4_k_m" in names and "onnx:graph (model builder)" in names and "onnx:base" not in names
    assert m["export"]["parallel_jobs"] in (1, 2)
    q = m["quality_method"]
    assert q["tokens"] == 256 and q["window"] == 256 and q["prompts"] == 8 and len(q["text_sha256"]) == 64
    assert math.isfinite(q["baseline"]["perplexity"])
    # the fp32 graph is built anyway, so the source is scored on it (same numbers as torch, faster)
    assert q["baseline"]["runtime"] == "onnxruntime, fp32 ort-genai-builder 0.13.2 graph of the source"
    assert q["gate"]["4-bit"] == {"max_perplexity_ratio": 1.5, "min_greedy_agreement": 0.5}


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
        assert a["quality_status"] == "ok" and a["quality_gate"]["failures"] == [], (a["path"], q)
        assert a["export"]["quality_eval_s"] > 0
    by = {(a["format"], a["quant"]): a for a in arts}
    assert by[("onnx", "fp32")]["quality"]["perplexity_ratio"] == pytest.approx(1.0, abs=1e-3)
    assert by[("gguf", "f16")]["quality"]["greedy_agreement"] >= 0.95
    assert by[("onnx", "int4")]["scheme"] == {
        "method": "weight-only blocks (MatMulNBits, GatherBlockQuantized)", "bits": 4, "lm_head_bits": 8,
        "block_size": 32, "accuracy_level": 4,
        "blocks": "asymmetric, float minimum (integer zero point + per-block offset)",
        "float_minimum_on": ["q_proj", "k_proj", "v_proj", "qkv_proj", "down_proj"],
        "matmuls": {"4-bit": 10, "8-bit": 1},
        "embedding": "GatherBlockQuantized 8-bit, shares the lm_head's quantized weights (tied)",
        "correction": "per-block offset MatMul", "graph": "ort-genai-builder 0.13.2",
        "ops": "GroupQueryAttention, SkipSimplifiedLayerNormalization, fused QKV"}
    assert by[("onnx", "int8")]["scheme"]["matmuls"] == {"4-bit": 0, "8-bit": 11}
    assert by[("onnx", "fp32")]["scheme"] == {"graph": "ort-genai-builder 0.13.2",
                                              "ops": "GroupQueryAttention, SkipSimplifiedLayerNormalization, fused QKV"}
    for s in ("fp16", "int8", "int4"):
        assert by[("onnx", s)]["export"]["after"] == "onnx:graph"
    assert by[("gguf", "q4_k_m")]["export"]["after"] == "gguf:f16"
    src = by[("gguf", "f16")]["scheme"]["converter_source"]
    assert src["version"] == "0.3.36" and len(src["sha256"]) == 64 and src["archive"].endswith(".tar.gz")
    assert check_files(out, rehash=True) == []


def test_list_artifacts_is_what_a_bench_needs(tiny_export, manifest):
    rows = list_artifacts(tiny_export[0])
    assert len(rows) == len(ONNX) + len(GGUF)
    from dataclasses import fields

    for r in rows:
        assert {f.name for f in fields(r)} >= {"path", "format", "quant", "size_bytes", "sha256", "files", "quality",
                                               "compression_rate", "model_id", "params", "quality_status",
                                               "quality_gate"}
        assert r.quality_status == "ok"
        assert r.path.endswith((".onnx", ".gguf")) and r.params == manifest["model"]["params"]


def test_readme_tells_how_to_load_each_artifact(tiny_export, manifest):
    text = (tiny_export[0] / "README.md").read_text()
    for a in manifest["artifacts"]:
        assert f"`{a['path']}`" in text
    assert "llama-cli -m gguf-q4_k_m/model-q4_k_m.gguf" in text
    assert 'ort.InferenceSession("onnx-int4/model.onnx")' in text and "llama_cpp.Llama(" in text
    assert "DEGRADED" not in text and "Quality gate:" in text


@pytest.mark.parametrize("scheme", ONNX)
def test_onnx_artifacts_generate_in_onnxruntime(tiny_export, scheme):
    from edgeprof.exporters.onnx.runner import OnnxDecoder

    d = tiny_export[0] / f"onnx-{scheme}"
    dec = OnnxDecoder(d / "model.onnx")
    assert {"tokenizer.json", "config.json"} <= {p.name for p in d.iterdir()}  # runs on its own
    tokens = dec.greedy([504, 3575, 282, 4649, 314], 6)
    assert len(tokens) == 6 and all(0 <= t < 49152 for t in tokens)
    if scheme == "fp16":  # keep_io_types: the runtime feeds and reads fp32
        assert all(i.type == "tensor(float)" for i in dec.session.get_inputs() if i.name.startswith("past"))


@pytest.mark.parametrize("quant", GGUF)
def test_gguf_artifacts_generate_in_llama_cpp(tiny_export, quant):
    from edgeprof.exporters.quality.scorers import _load_llama

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
    assert sizes["int8"] < sizes["fp16"]
    model = onnx.load(str(out / "onnx-int4" / "model.onnx"))
    fp32 = [(t.name, int(np.prod(t.dims))) for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT]
    # no fp32 copy of any weight matrix is left: the largest fp32 tensor is the lm_head's block scales
    assert max(n for _, n in fp32) <= 49152 * 64 // 32, sorted(fp32, key=lambda x: -x[1])[:3]
    ops = [n.op_type for n in model.graph.node]  # the model builder's fused graph, our weights
    assert {"MatMulNBits", "GatherBlockQuantized", "GroupQueryAttention"} <= set(ops)
    sums = [n for n in model.graph.node if n.op_type == "ReduceSum" and n.output[0].endswith("_block_sums")]
    assert len(sums) == 4  # block sums for the float minimum: 2 layers x (qkv, down) inputs


def test_manifest_metadata_in_gguf_names_the_model(tiny_export):
    from gguf import GGUFReader

    r = GGUFReader(str(tiny_export[0] / "gguf-q4_k_m" / "model-q4_k_m.gguf"))
    assert r.fields["tokenizer.ggml.pre"].contents() == "smollm"
    assert r.fields["general.file_type"].contents() == 15  # LLAMA_FTYPE_MOSTLY_Q4_K_M
    assert json.loads(json.dumps(r.fields["tokenizer.ggml.add_bos_token"].contents())) is False


def test_the_reference_runtime_gives_the_same_numbers_as_pytorch(tiny_export, tiny_llama_dir, tmp_path):
    """The export scored its source with ONNX Runtime on the fp32 export; PyTorch must agree."""
    from dataclasses import asdict

    from edgeprof.exporters.quality.measure import build_eval_set
    from edgeprof.exporters.quality.verify import compute_reference

    es = tmp_path / "es.json"
    es.write_text(json.dumps(asdict(build_eval_set(tiny_llama_dir / "tokenizer.json", max_tokens=256))))
    onnx = compute_reference("onnx", str(tiny_export[0] / "onnx-fp32" / "model.onnx"), str(es), str(tmp_path / "o"))
    torch = compute_reference("hf", str(tiny_llama_dir), str(es), str(tmp_path / "t"))
    assert onnx["perplexity"] == pytest.approx(torch["perplexity"], rel=1e-5)
    a, b = (json.loads((tmp_path / n).read_text()) for n in ("o", "t"))
    same = sum(x == y for wa, wb in zip(a["argmax"], b["argmax"]) for x, y in zip(wa, wb))
    assert same >= 0.99 * sum(map(len, a["argmax"]))  # random weights: near-ties may flip a rare top-1
    assert sum(x == y for ca, cb in zip(a["continuations"], b["continuations"]) for x, y in zip(ca, cb)) >= 0.95 * 8 * 16


def test_an_artifact_directory_of_an_export_is_that_artifact(tiny_export, tmp_path):
    """Issue 20 item 14: ``bench exports/m/gguf-q8_0`` was refused ("a directory without
    manifest.json") and an ONNX one (it holds optimum's config.json) was labelled ``hf | torch``.
    Named alone, an artifact directory is the very artifact the whole export lists — model id,
    quant, hashes, quality and 16-bit baseline size from the parent's manifest — and only its own
    files are checked against it; a folder the manifest does not list is refused as before."""
    import shutil

    from edgeprof.models import artifacts
    from edgeprof.models.trust import ArtifactError

    out = tiny_export[0]
    whole = {Path(a.path).parent.name: a for a in artifacts.resolve(str(out)) if a.format != "hf"}
    for name in ("gguf-q8_0", "onnx-int4", "onnx-fp32"):
        (one,) = artifacts.resolve(str(out / name))
        assert one == whole[name], name
        assert one.format == name.split("-")[0] and one.runtime in ("llama.cpp", "onnxruntime")
        assert one.baseline_size is not None and one.quality_retention is not None
        assert "identity" not in one.extra, one.extra    # the ONNX graph's own count bears the manifest out
    copy = tmp_path / "export"
    shutil.copytree(out, copy)
    with open(next((copy / "gguf-q8_0").glob("*.gguf")), "ab") as f:
        f.write(b"\0")                                   # tampered: this artifact is refused...
    with pytest.raises(ArtifactError, match="does not match its manifest.json"):
        artifacts.resolve(str(copy / "gguf-q8_0"))
    (other,) = artifacts.resolve(str(copy / "gguf-q4_0"))  # ...another of the same export is not
    assert other.quant == whole["gguf-q4_0"].quant and other.sha256 == whole["gguf-q4_0"].sha256
    (copy / "notes").mkdir()
    with pytest.raises(ArtifactError, match="a directory without manifest.json"):
        artifacts.resolve(str(copy / "notes"))


def test_the_export_table_and_readme_show_the_baseline_in_one_unit(tiny_export, manifest):
    """Issue 20 item 13: the baseline's perplexity was only in manifest.json, and the table said MiB
    where the README said MB for the same file. The baseline row comes first in both, with the
    perplexity every retention is measured against; every size is MiB in both."""
    from edgeprof.models.exporting import MANIFEST_COLUMNS, manifest_rows
    from edgeprof.exporters.manifest import README, load_manifest

    base_ppl = manifest["quality_method"]["baseline"]["perplexity"]
    rows = manifest_rows(load_manifest(tiny_export[0]))
    first = dict(zip(MANIFEST_COLUMNS, rows[0]))
    assert first["artifact"] == manifest["baseline"]["label"] and first["perplexity"] == str(base_ppl)
    assert first["size MiB"] == f"{manifest['baseline']['size_16bit_bytes'] / 2**20:.1f} (16-bit)"
    readme = (tiny_export[0] / README).read_text()
    assert "| size MiB |" in readme and "(MB)" not in readme
    assert f"| {base_ppl:.3f} | reference |" in readme
    for a, row in zip(manifest["artifacts"], rows[1:]):
        cell = dict(zip(MANIFEST_COLUMNS, row))["size MiB"]
        assert f"| `{a['path']}` | {a['format']} | {a['quant']} | {cell} |" in readme  # the same figure
