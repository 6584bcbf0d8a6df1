"""Weight-only int8/int4 for an fp32 ONNX decoder: MatMul -> MatMulNBits, embedding ->
GatherBlockQuantized, in place on a ModelProto (``blocks.py`` does the numbers).

What each knob is for (measured on SmolLM2-135M, docs/benchmarks.md "ONNX int4 options"):
- ``body="offset"``: 4-bit blocks with a float minimum (integer zero point + per-block offset
  MatMul over the input's block sums, ``blocks.py``); ``"rtn"``: ONNX Runtime's RTN (integer zero
  point); ``"sym"``: q4_0-like symmetric, no zero points; ``"int8"``: q8_0-like symmetric 8 bits.
- ``head_bits=8``: the lm_head at 8 bits, as llama.cpp keeps a tied output at q6_k/q8_0; with tied
  embeddings the embedding Gather reads the SAME quantized bytes (GatherBlockQuantized), so the
  vocabulary matrix is stored once.
- ``offset_only``: the float minimum only where it pays most (the default int4: QKV and MLP down
  projections; measured 1.037x the baseline's perplexity vs 1.003x everywhere and 1.216x nowhere,
  at 0.98x instead of 0.85x the decode speed of the plain RTN graph).
- ``accuracy_level=4``: the CPU kernel quantizes activations to int8 per block, like llama.cpp.

Tied embeddings export as ``Transpose(W)`` feeding a MatMul (optimum) or a Gather (the model
builder); ``fold_constant_transposes`` turns that into a plain initializer first.
"""
from __future__ import annotations

from dataclasses import dataclass

import edgeprof.exporters.onnx.blocks as blocks
from edgeprof.exporters.errors import ExportError

MS = "com.microsoft"


@dataclass(frozen=True)
class WeightPlan:
    body: str = "offset"           # offset | rtn | sym | int8
    block_size: int = 32
    head_bits: int = 8
    accuracy_level: int = 4
    offset_only: tuple[str, ...] = ()  # body="offset": only MatMuls whose names contain one of these


def fold_constant_transposes(model) -> int:
    """Replace ``Transpose(initializer)`` by a transposed initializer; returns how many were folded."""
    import numpy as np
    from onnx import numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    folded = 0
    for node in list(graph.node):
        if node.op_type != "Transpose" or len(node.input) != 1 or node.input[0] not in inits:
            continue
        if any(o.name == node.output[0] for o in graph.output):
            raise ExportError("a Transpose of a weight feeds a graph output; cannot fold it")
        w = numpy_helper.to_array(inits[node.input[0]])
        perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
        name = f"{node.input[0]}.transposed_folded"
        graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(np.transpose(w, perm)), name))
        for other in graph.node:
            for i, inp in enumerate(other.input):
                if inp == node.output[0]:
                    other.input[i] = name
        graph.node.remove(node)
        folded += 1
    _drop_unused(graph)
    return folded


def _drop_unused(graph) -> None:
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    keep = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)


class _Rewriter:
    """Collects new initializers and nodes while MatMuls are replaced (one pass over the graph)."""

    def __init__(self, model, plan: WeightPlan):
        from onnx import numpy_helper

        self.model, self.plan, self.nh = model, plan, numpy_helper
        self.inits = {t.name: t for t in model.graph.initializer}
        self.new_inits: list = []
        self.block_sums: dict[tuple[str, int], str] = {}
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)

    def add(self, array, name: str) -> str:
        self.new_inits.append(self.nh.from_array(array, name))
        return name

    def matmul(self, node, b: blocks.Blocks) -> list:
        from onnx import helper

        x, w, y = node.input[0], node.input[1], node.output[0]
        ins = [x, self.add(b.data, f"{w}_Q{b.bits}"), self.add(b.scales, f"{w}_scales")]
        if b.zero_points is not None:
            ins.append(self.add(b.zero_points.reshape(-1), f"{w}_zp"))
        main = y if b.offsets is None else f"{y}_blocks"
        out = [helper.make_node("MatMulNBits", ins, [main], name=f"{node.name}_Q{b.bits}", domain=MS, K=b.K, N=b.N,
                                bits=b.bits, block_size=b.block, accuracy_level=self.plan.accuracy_level)]
        if b.offsets is not None:  # y += block_sums(x) @ offsets
            sums = self._block_sums(x, b, out)
            off = self.add(b.offsets, f"{w}_offsets")
            out += [helper.make_node("MatMul", [sums, off], [f"{y}_offset"], name=f"{node.name}_offset"),
                    helper.make_node("Add", [main, f"{y}_offset"], [y], name=f"{node.name}_offset_add")]
        return out

    def _block_sums(self, x: str, b: blocks.Blocks, out: list) -> str:
        import numpy as np
        from onnx import helper

        key = (x, b.block)
        if key not in self.block_sums:
            shape = self.add(np.array([0, 0, b.K // b.block, b.block], np.int64), f"{x}_block_shape")
            out.append(helper.make_node("Reshape", [x, shape], [f"{x}_in_blocks"], name=f"{x}_in_blocks"))
            if self.opset >= 13:
                axes = self.add(np.array([-1], np.int64), f"{x}_block_axis")
                red = helper.make_node("ReduceSum", [f"{x}_in_blocks", axes], [f"{x}_block_sums"], keepdims=0,
                                       name=f"{x}_block_sums")
            else:
                red = helper.make_node("ReduceSum", [f"{x}_in_blocks"], [f"{x}_block_sums"], axes=[-1], keepdims=0,
                                       name=f"{x}_block_sums")
            out.append(red)
            self.block_sums[key] = f"{x}_block_sums"
        return self.block_sums[key]


def quantize_model(model, plan: WeightPlan) -> dict:
    """Quantize every constant-weight MatMul (and a tied/own embedding Gather) of ``model`` in place;
    returns what was done, for the manifest."""
    from onnx import helper

    if plan.block_size < 16 or plan.block_size & (plan.block_size - 1):
        raise ExportError(f"block size must be a power of two >= 16, got {plan.block_size}")
    fold_constant_transposes(model)
    rw = _Rewriter(model, plan)
    g = model.graph
    logits = {o.name for o in g.output if o.name == "logits"}
    nodes, head, counts = [], None, {"4-bit": 0, "8-bit": 0}
    for node in g.node:
        w = rw.inits.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
        if w is None or len(w.dims) != 2 or w.dims[0] % plan.block_size:
            nodes.append(node)
            continue
        arr = rw.nh.to_array(w)
        is_head = bool(set(node.output) & logits)
        if plan.body == "int8" or (is_head and plan.head_bits == 8):
            b = blocks.symmetric(arr, bits=8, block=plan.block_size)
        elif is_head or plan.body == "sym":
            b = blocks.symmetric(arr, bits=4, block=plan.block_size)
        else:
            offset = plan.body == "offset" and (not plan.offset_only or any(k in node.name for k in plan.offset_only))
            b = blocks.asymmetric(arr, bits=4, block=plan.block_size, offset=offset)
        counts[f"{b.bits}-bit"] += 1
        if is_head:
            head = (arr, b, node.input[1])
        nodes.extend(rw.matmul(node, b))
    embedding = _quantize_embedding(rw, nodes, head)
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(rw.new_inits)
    _drop_unused(g)
    if not any(o.domain == MS for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS, 1))
    model.ir_version = max(model.ir_version, 8)
    return {"matmuls": counts, "embedding": embedding, "correction": "per-block offset MatMul"
            if plan.body == "offset" else None}


def _quantize_embedding(rw: _Rewriter, nodes: list, head) -> str:
    """Point the token-embedding Gather at the lm_head's quantized bytes when the embedding is tied
    (same values), else quantize it on its own to the head's bits; returns what was done."""
    import numpy as np
    from onnx import helper

    for i, node in enumerate(nodes):
        table = rw.inits.get(node.input[0]) if node.op_type == "Gather" else None
        if table is None or len(table.dims) != 2 or table.dims[1] % rw.plan.block_size:
            continue
        emb = rw.nh.to_array(table)
        pre = []
        if head is not None and emb.shape == head[0].T.shape and np.array_equal(emb, head[0].T):
            b, w, how = head[1], head[2], "shares the lm_head's quantized weights (tied)"
            data, scales = f"{w}_Q{b.bits}_rows", f"{w}_scales_rows"  # the SAME bytes, reshaped at load
            pre = [helper.make_node("Reshape", [f"{w}_Q{b.bits}", rw.add(np.array([b.N, -1], np.int64), f"{w}_rows")],
                                    [data], name=data),
                   helper.make_node("Reshape", [f"{w}_scales", f"{w}_rows"], [scales], name=scales)]
        else:
            b = blocks.symmetric(emb.T, bits=rw.plan.head_bits, block=rw.plan.block_size)
            how, w = f"own {rw.plan.head_bits}-bit blocks", node.input[0]
            data = rw.add(b.data.reshape(b.N, -1), f"{w}_Q{b.bits}_rows")
            scales = rw.add(b.scales.reshape(b.N, -1), f"{w}_scales_rows")
        nodes[i:i + 1] = pre + [helper.make_node(
            "GatherBlockQuantized", [data, node.input[1], scales], list(node.output), name=f"{node.name}_Q{b.bits}",
            domain=MS, bits=b.bits, block_size=b.block, gather_axis=0, quantize_axis=1)]
        return f"GatherBlockQuantized {b.bits}-bit, {how}"
    return "not quantized (no constant embedding Gather found)"
