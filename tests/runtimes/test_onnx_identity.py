"""Identity for ONNX and HF artifacts from their content (STYLE rule 16): an ONNX file outside an
export had no parameter count and no quant, so it could never match ``exact``. Now the graph's
initializers and quantized-weight operators are counted (runtimes/onnx_graph.py, without loading
a weight), a forged graph voids its count, an export manifest's claims are checked against the
graph, and an HF directory's dtype is its tensors', not config.json's. Models: the test suite's
tiny Llama (tests/runtimes/conftest.py), quantized here by edgeprof's own int4/int8 passes."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

from edgeprof.compare import reference as ref
from edgeprof.compare.judge import Judge
from edgeprof.models.artifacts import hf_artifact, onnx_artifact
from edgeprof.models.counted import onnx_identity_of
from edgeprof.runtimes.onnx_graph import scan
from tests.reference.refdata import make_record

TINY_FP32 = 112192   # the fp32 graph's initializers (torch's exporter folds the 4 identical all-ones norms into one)


def _dir(tmp_path: Path, tiny, name: str, scheme: str | None = None, **save) -> Path:
    """The tiny ONNX model (with its config.json) in its own directory ``name``, quantized by
    edgeprof's ``scheme`` pass when given; ``save``: onnx.save options (external data)."""
    import onnx

    d = tmp_path / name
    d.mkdir()
    shutil.copy2(tiny["onnx"].parent / "config.json", d / "config.json")
    model = onnx.load(str(tiny["onnx"]))
    if scheme:
        from edgeprof.exporters.onnx.quant import quantize_model
        from edgeprof.exporters.onnx.schemes import get_scheme

        quantize_model(model, get_scheme(scheme).weights)
    onnx.save(model, str(d / "model.onnx"), **save)
    return d / "model.onnx"


def _sets(tmp_path: Path, rows, name: str):
    """The user reference sets after ``rows`` were added as set ``name`` (``reference add``)."""
    from edgeprof.commands.reference import add_run
    from tests.reference.refdata import write_run

    add_run(write_run(tmp_path / f"run-{name}", rows), name, dest_root=tmp_path / "refs")
    return ref.load_sets(user_dir=tmp_path / "refs")


def _rec(art, run_id="edge"):
    rec = make_record(decode=[500.0, 505.0, 510.0], ttft=[2.0, 2.1, 2.2], quant=art.quant, fmt="onnx", run_id=run_id)
    return replace(rec, model=art.model, artifact=art.info())


def test_an_onnx_file_outside_an_export_is_counted_from_its_graph(tmp_path, tiny):
    hf = hf_artifact(tiny["hf"])
    for scheme, quant, types in ((None, "fp32", {"fp32": TINY_FP32}),
                                 ("int8", "int8", {"int8": TINY_FP32 - 64, "fp32": 64}),
                                 ("int4", "int4", {"int4": 73728, "int8": 38400, "fp32": 64})):
        art = onnx_artifact(_dir(tmp_path, tiny, f"tiny-llama-{scheme or 'fp32'}", scheme))
        assert art.model.params == TINY_FP32, scheme     # packed 4/8-bit blocks count as the weights they hold
        assert art.quant == quant and art.extra["identity"]["weight_types"] == types
        assert abs(art.model.params - hf.model.params) / hf.model.params < 0.005   # the source's safetensors
        assert art.model.extra == {"n_layers": 2, "n_embd": 64, "vocab_size": 600}
        assert art.extra["identity"]["problems"] == []
        if scheme == "int4":  # named by its body: the 8-bit head shared with the embedding is not the body
            assert scan(Path(art.path)).body_types == {"int4": 73728, "fp32": 64}


def test_external_data_is_counted_without_being_read_and_its_lengths_checked(tmp_path, tiny):
    path = _dir(tmp_path, tiny, "ext", None, save_as_external_data=True, location="weights.bin",
                size_threshold=0)
    g = scan(path)
    assert g.params == TINY_FP32 and not g.problems
    (path.parent / "weights.bin").write_bytes(b"")   # the weights are not what is counted
    assert scan(path).params == TINY_FP32
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    entry = next(e for t in model.graph.initializer for e in t.external_data if e.key == "length")
    entry.value = str(int(entry.value) // 2)          # a length that disagrees with the dims
    onnx.save(model, str(path))
    g = scan(path)
    assert g.params is None and "bytes but" in g.problems[0] and "are stored" in g.problems[0]


def test_a_forged_quantized_graph_voids_its_count_and_never_matches_exact(tmp_path, tiny, monkeypatch):
    """MatMulNBits attributes that claim a 1000x larger weight than its bytes hold: no count (a
    count we cannot stand behind is no count), the problem named, the row only ``same-model``."""
    import onnx

    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path / "home"))
    path = _dir(tmp_path, tiny, "tiny-llama", "int4")
    good = onnx_artifact(path)
    model = onnx.load(str(path))
    node = next(n for n in model.graph.node if n.op_type == "MatMulNBits")
    next(a for a in node.attribute if a.name == "N").i *= 1000
    onnx.save(model, str(path))
    forged = onnx_artifact(path)
    assert forged.model.params is None
    assert any("MatMulNBits" in p and "do not describe its" in p for p in forged.extra["identity"]["problems"])
    sets = _sets(tmp_path, [_rec(good, "ref")], "tiny-onnx")
    judge = Judge(use_history=False)
    assert ref.match(_rec(good), sets, judge).kind == "exact"
    c = ref.match(_rec(forged), sets, judge)
    assert c.kind == "same-model" and any("identity not verified" in n for r in c.rows for n in r.notes), c


def test_an_onnx_file_matches_a_reference_row_of_the_same_model_by_content(tmp_path, tiny, monkeypatch):
    """A reference set made from an export's int4 row (the source's 112,448 parameters, as the
    manifest records them): the same graph copied out of the export matches it ``exact``; the fp32
    graph of the same model only ``same-model``; the tiny graph in a directory named after
    SmolLM2 never matches SmolLM2's 134.5 M-parameter rows (a name is a claim)."""
    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path / "home"))
    int4 = onnx_artifact(_dir(tmp_path, tiny, "tiny-llama", "int4"))
    row = make_record(decode=[498.0, 503.0, 507.0], ttft=[2.0, 2.1, 2.2], model="tiny-llama", params=112448,
                      quant="int4", fmt="onnx", run_id="ref")
    sets = _sets(tmp_path, [row], "tiny-onnx")
    judge = Judge(use_history=False)
    c = ref.match(_rec(int4), sets, judge)
    assert c.kind == "exact", (c.kind, c.notes)
    fp32 = onnx_artifact(_dir(tmp_path, tiny, "tiny-llama-fp32"))
    fp32 = replace(fp32, model=replace(fp32.model, id="tiny-llama", name="tiny-llama"))
    assert ref.match(_rec(fp32), sets, judge).kind == "same-model"
    smol = make_record(decode=[100.0, 101.0, 102.0], ttft=[9.0, 9.1, 9.2], quant="int4", fmt="onnx", run_id="s")
    fake = onnx_artifact(_dir(tmp_path, tiny, "smollm2-135m-instruct", "int4"))
    c = ref.match(_rec(fake), _sets(tmp_path, [smol], "smol-onnx"), judge)
    assert c.kind not in ("exact", "same-model"), c.kind
    assert any("a name is a claim, the tensors decide" in n for n in c.notes), c.notes


def test_an_export_manifest_is_checked_against_the_graph(tmp_path, tiny):
    path = _dir(tmp_path, tiny, "onnx-int4", "int4")
    assert onnx_identity_of(path, 112448, "int4-rtn") == (112448, "int4-rtn", {})   # borne out: the manifest's
    params, quant, extra = onnx_identity_of(path, 1_235_814_400, "fp16")
    assert (params, quant) == (TINY_FP32, "int4")
    problems = extra["identity"]["problems"]
    assert any(f"says 1,235,814,400 parameters but the graph holds {TINY_FP32:,}" in p for p in problems)
    assert any("says fp16 but the graph's weights are mostly int4" in p for p in problems)


def test_an_hf_directory_is_its_tensors_dtype_and_a_packed_checkpoint_has_no_count(tmp_path, tiny):
    d = tmp_path / "hf"
    shutil.copytree(tiny["hf"], d)
    cfg = json.loads((d / "config.json").read_text())
    assert hf_artifact(d).quant == "fp32" and hf_artifact(d).model.params == 112448
    (d / "config.json").write_text(json.dumps({**cfg, "torch_dtype": "bfloat16", "dtype": "bfloat16"}))
    art = hf_artifact(d)
    assert art.quant == "fp32" and any("config.json says bf16 but 100% of the weights are fp32" in p
                                       for p in art.extra["identity"]["problems"])
    (d / "config.json").write_text(json.dumps({**cfg, "quantization_config": {"quant_method": "gptq", "bits": 4}}))
    art = hf_artifact(d)
    assert art.model.params is None and art.quant == "gptq"
    assert "packed weights, parameter count not counted" in art.extra["identity"]["problems"][0]
