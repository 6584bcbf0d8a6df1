"""The ONNX Runtime and PyTorch engines reproduce transformers' greedy generate token for token,
and reset() really forgets the context."""
from __future__ import annotations

import pytest

from edgeprof.runtimes.base import Placement

from .conftest import PROMPTS

N = 12


def greedy(engine, ids: list[int], n: int = N) -> list[int]:
    engine.reset()
    out = [engine.prefill(ids)]
    while len(out) < n:
        out.append(engine.decode(out[-1]))
    return out


@pytest.fixture(scope="module")
def ort_engine(tiny):
    from edgeprof.runtimes.onnxruntime import load

    e = load({"path": str(tiny["onnx"]), "model": {}}, Placement(threads=2), 64)
    yield e
    e.close()


@pytest.fixture(scope="module")
def torch_engine(tiny):
    from edgeprof.runtimes.torch import load

    e = load({"path": str(tiny["hf"]), "quant": "fp32", "model": {}}, Placement(threads=2), 64)
    yield e
    e.close()


@pytest.mark.parametrize("prompt", PROMPTS)
def test_ort_matches_transformers_generate(ort_engine, teacher, prompt):
    ids, expected = teacher[prompt]
    assert ort_engine.tokenize(prompt) == ids
    assert greedy(ort_engine, ids) == expected


@pytest.mark.parametrize("prompt", PROMPTS)
def test_torch_matches_transformers_generate(torch_engine, teacher, prompt):
    ids, expected = teacher[prompt]
    assert torch_engine.tokenize(prompt) == ids
    assert greedy(torch_engine, ids) == expected


@pytest.mark.parametrize("which", ["ort_engine", "torch_engine"])
def test_reset_forgets_context(request, teacher, which):
    e = request.getfixturevalue(which)
    ids, expected = teacher[PROMPTS[0]]
    first = greedy(e, ids)
    # pollute the cache with another prompt, then the same prompt again after reset
    greedy(e, teacher[PROMPTS[1]][0], 4)
    assert greedy(e, ids) == first == expected
    # without reset the context would continue: prefill after decode sees a longer past
    e.reset()
    e.prefill(ids)
    assert e.n_past == len(ids)
    e.reset()
    assert e.n_past == 0


def test_prefill_in_chunks_equals_one_prefill(ort_engine, teacher):
    ids, expected = teacher[PROMPTS[1]]
    ort_engine.reset()
    ort_engine.prefill(ids[:5])
    tok = ort_engine.prefill(ids[5:])
    assert tok == expected[0]


def test_engine_info_is_resolved(ort_engine, torch_engine):
    import onnxruntime

    pl = ort_engine.info.placement
    assert ort_engine.info.name == "onnxruntime" and ort_engine.info.version == onnxruntime.__version__
    assert pl["provider"] == "cpu" and pl["providers"] == ["CPUExecutionProvider"] and pl["threads"] == 2
    assert pl["graph_optimization_level"] == "all" and pl["kv_dtype"] == "float32"
    tied = sum(p.numel() for p in torch_engine.model.parameters())
    assert torch_engine.info.n_params == tied
    # counted from the initializers (the tied embedding/lm_head is one initializer); the exporter
    # deduplicates identical constants (the all-ones RMSNorm weights here), hence "about"
    assert abs(ort_engine.info.n_params - tied) <= 0.01 * tied
    tp = torch_engine.info.placement
    assert torch_engine.info.name == "torch" and tp["provider"] == "cpu" and tp["dtype"] == "fp32"
    assert tp["threads"] == 2 and tp["device_name"]


@pytest.mark.parametrize("keep_io_types", [True, False])
def test_fp16_graph_with_fp32_or_fp16_io(tiny, teacher, tmp_path, keep_io_types):
    """fp16 exports keep fp32 inputs/outputs (keep_io_types) or not: the KV dtype is read from the
    session and the loop feeds what the graph declares."""
    import shutil

    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    from edgeprof.runtimes.onnxruntime import load

    m = convert_float_to_float16(onnx.load(str(tiny["onnx"])), keep_io_types=keep_io_types)
    onnx.save(m, str(tmp_path / "model.onnx"))
    shutil.copy2(tiny["onnx"].parent / "tokenizer.json", tmp_path / "tokenizer.json")
    e = load({"path": str(tmp_path / "model.onnx"), "model": {}}, Placement(threads=2), 64)
    assert e.info.placement["kv_dtype"] == ("float32" if keep_io_types else "float16")
    ids, expected = teacher[PROMPTS[0]]
    got = greedy(e, ids)
    assert len(got) == N and got[:3] == expected[:3]  # fp16 rounding may flip a later near-tie
    e.close()


def test_torch_bf16_from_placement(tiny, teacher):
    import torch

    from edgeprof.runtimes.torch import load

    e = load({"path": str(tiny["hf"]), "quant": "fp32", "model": {}}, Placement(threads=2, dtype="bf16"), 64)
    assert e.info.placement["dtype"] == "bf16"
    assert next(e.model.parameters()).dtype == torch.bfloat16
    ids, expected = teacher[PROMPTS[0]]
    got = greedy(e, ids)
    assert len(got) == N and got[0] == expected[0]  # bf16 keeps the clear first argmax
    e.close()
