"""The weight quantizers: blocks in numpy (``blocks.py``) and the graph rewrite ONNX Runtime runs
(``onnx_quant.py``). Small graphs built here, run in the real ONNX Runtime; no model files needed."""
from __future__ import annotations

import numpy as np
import pytest

from edgeprof.exporters import ExportError
from edgeprof.exporters.onnx import blocks
from edgeprof.exporters.onnx.quant import WeightPlan, quantize_model

RNG = np.random.default_rng(0)


def _q4_1_grid(K: int, N: int, block: int = 32) -> np.ndarray:
    """Weights that ARE on a Q4_1 grid: per block a float minimum and scale, values m + s*q."""
    kb = K // block
    q = RNG.integers(0, 16, size=(N, kb, block))
    q[:, :, 0], q[:, :, 1] = 0, 15  # every block spans its whole grid, as a quantizer's output does
    s = RNG.uniform(0.01, 0.05, size=(N, kb, 1))
    m = RNG.uniform(-0.4, 0.1, size=(N, kb, 1))
    return (m + s * q).reshape(N, K).T.astype(np.float32)


def test_float_minimum_reproduces_a_q4_1_grid_exactly_and_rtn_does_not():
    w = _q4_1_grid(128, 48)
    exact = blocks.asymmetric(w, bits=4, block=32, offset=True)
    assert np.abs(blocks.dequantize(exact) - w).max() < 1e-6
    rtn = blocks.asymmetric(w, bits=4, block=32, offset=False)
    err = np.abs(blocks.dequantize(rtn) - w).max()
    assert err > 1e-3  # an integer zero point cannot hold a float minimum
    assert exact.offsets.shape == (4, 48) and rtn.offsets is None and rtn.zero_points.shape == (48, 2)


@pytest.mark.parametrize("bits", [8, 4])
def test_symmetric_blocks_round_to_the_nearest_step(bits):
    w = RNG.normal(0, 0.05, size=(96, 40)).astype(np.float32)
    b = blocks.symmetric(w, bits=bits, block=32)
    step = np.abs(np.repeat(b.scales.reshape(40, 3), 32, axis=1).T)  # [K, N] step of each weight's block
    err = np.abs(blocks.dequantize(b) - w) / step
    # q8_0: [-127, 127] holds every value; q4_0: the extreme maps to -8, so the other side may clip at +7
    assert err.max() <= (0.5 if bits == 8 else 1.0) + 1e-4 and err.mean() < 0.27
    assert b.zero_points is None and b.data.shape == (40, 3, 32 * bits // 8)


def _graph(K: int, N: int, V: int, tied: bool):
    """input x [1, S, K] -> MatMul W [K, V] -> logits; ids -> Gather(E [V, K]) -> embeds; + one hidden MatMul."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w_head = RNG.normal(0, 0.05, size=(K, V)).astype(np.float32)
    w_mid = RNG.normal(0, 0.05, size=(K, N)).astype(np.float32)
    emb = w_head.T.copy() if tied else RNG.normal(0, 0.05, size=(V, K)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "W_mid"], ["h"], name="/model/layers.0/mlp/down_proj/MatMul"),
             helper.make_node("MatMul", ["x", "W_head"], ["logits"], name="/lm_head/MatMul"),
             helper.make_node("Gather", ["E", "ids"], ["embeds"], name="/model/embed_tokens/Gather")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, None, K]),
                                       helper.make_tensor_value_info("ids", TensorProto.INT64, [1, None])],
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("h", "logits", "embeds")],
                          [numpy_helper.from_array(a, n) for a, n in ((w_mid, "W_mid"), (w_head, "W_head"), (emb, "E"))])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), w_mid, w_head, emb


def _run(model, x, ids):
    import onnxruntime as ort

    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip(("h", "logits", "embeds"), s.run(["h", "logits", "embeds"], {"x": x, "ids": ids})))


@pytest.mark.parametrize("body", ["offset", "rtn", "sym", "int8"])
def test_onnx_runtime_computes_what_the_blocks_say(body):
    model, w_mid, w_head, emb = _graph(K=64, N=96, V=80, tied=True)
    info = quantize_model(model, WeightPlan(body=body, accuracy_level=0))  # fp32 compute: exact comparison
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("MatMulNBits") == 2 and "GatherBlockQuantized" in ops and "Gather" not in ops
    assert ("ReduceSum" in ops) == (body == "offset") and info["embedding"].endswith("(tied)")
    x = RNG.normal(size=(1, 5, 64)).astype(np.float32)
    ids = np.array([[3, 79, 0]], np.int64)
    out = _run(model, x, ids)
    mid = blocks.symmetric(w_mid, bits=8, block=32) if body == "int8" else (
        blocks.symmetric(w_mid, bits=4, block=32) if body == "sym" else
        blocks.asymmetric(w_mid, bits=4, block=32, offset=body == "offset"))
    head = blocks.dequantize(blocks.symmetric(w_head, bits=8, block=32))
    np.testing.assert_allclose(out["h"], x @ blocks.dequantize(mid), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["logits"], x @ head, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out["embeds"][0], head.T[ids[0]], rtol=1e-6, atol=1e-7)  # the head's bytes, shared


def test_tied_embedding_is_stored_once_and_an_untied_one_gets_its_own_blocks():
    tied, *_ = _graph(K=64, N=32, V=80, tied=True)
    quantize_model(tied, WeightPlan())
    untied, *_ = _graph(K=64, N=32, V=80, tied=False)
    info = quantize_model(untied, WeightPlan())
    sizes = [sum(t.ByteSize() for t in m.graph.initializer) for m in (tied, untied)]
    assert sizes[1] - sizes[0] > 64 * 80 * 0.9  # a second 8-bit vocabulary matrix
    assert info["embedding"] == "GatherBlockQuantized 8-bit, own 8-bit blocks"


def test_block_size_must_be_a_power_of_two_of_at_least_16():
    model, *_ = _graph(K=64, N=32, V=80, tied=True)
    with pytest.raises(ExportError, match="power of two"):
        quantize_model(model, WeightPlan(block_size=24))
