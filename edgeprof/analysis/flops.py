"""FLOPs of one forward pass, counted from the ONNX graph at the case's concrete input shapes.

Why from the graph: compute utilization (EfficientLLM's PCU analogue) is achieved FLOP/s ÷ the
device's peak, and for a model that is not a decoder there is no "2 × params per token" rule —
a convolution reuses each weight thousands of times, an embedding table is read and not multiplied.
The graph says what is multiplied: ONNX shape inference (with data propagation) gives every
tensor's shape at the case's shapes, and each multiply-accumulate op counts 2 FLOPs per MAC:
MatMul / Gemm / Conv and their quantized forms (MatMulInteger, QLinearMatMul, ConvInteger,
QLinearConv, MatMulNBits, DynamicQuantizeMatMul, FusedMatMul). Element-wise ops, softmax and
normalisation are not counted (a few % of a transformer's work): the figure is a lower bound and
says so, and names the matmuls whose shapes could not be inferred.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from pathlib import Path

_MATMUL = ("MatMul", "MatMulInteger", "QLinearMatMul", "FusedMatMul", "DynamicQuantizeMatMul")
_CONV = ("Conv", "ConvInteger", "QLinearConv", "ConvTranspose")


@dataclass(frozen=True)
class FlopCount:
    flops: float
    counted: int                   # ops counted
    unknown: int                   # multiply ops whose shapes were not inferred (not counted)
    source: str

    @property
    def note(self) -> str:
        miss = f"; {self.unknown} op(s) without inferred shapes not counted" if self.unknown else ""
        return (f"{self.counted} MatMul/Gemm/Conv op(s), 2 FLOP per multiply-accumulate; element-wise ops not "
                f"counted (a lower bound){miss}")

    def to_dict(self) -> dict:
        return {"value": self.flops, "source": self.source, "note": self.note}


@dataclass(frozen=True)
class PassFlops:
    """FLOPs of one pass as a row records them (``runtime_extra["flops_per_inference"]``: counted
    from the graph here, or by torch's counter): the figure, its source and how it was counted."""
    value: float
    source: str | None = None
    note: str | None = None

    @classmethod
    def from_dict(cls, runtime_extra: dict) -> "PassFlops | None":
        """The row's count, or None when it has none (or not a positive number)."""
        d = runtime_extra.get("flops_per_inference") or {}
        v = d.get("value")
        if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
            return None
        return cls(float(v), d.get("source"), d.get("note"))


def _shapes(model) -> dict[str, list[int | None]]:
    out: dict[str, list[int | None]] = {}
    g = model.graph
    for vi in list(g.input) + list(g.value_info) + list(g.output):
        dims = vi.type.tensor_type.shape.dim
        out[vi.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    for t in g.initializer:
        out[t.name] = list(t.dims)
    return out


def _known(dims) -> bool:
    return dims is not None and all(isinstance(d, int) and d > 0 for d in dims)


def onnx_flops(path: str | Path, inputs: dict[str, list[int]]) -> FlopCount | None:
    """FLOPs of one pass of the ONNX model at ``inputs`` (name → concrete shape), or None when the
    graph cannot be read."""
    try:
        import onnx
        from onnx import shape_inference

        model = onnx.load(str(path), load_external_data=False)
        for vi in model.graph.input:
            if vi.name in inputs:
                dims = vi.type.tensor_type.shape.dim
                for d, v in zip(dims, inputs[vi.name]):
                    d.Clear()
                    d.dim_value = int(v)
    except Exception:  # noqa: BLE001 - onnx raises several types; no graph, no count
        return None
    how = "ONNX Runtime's symbolic shape inference"
    try:  # ORT's symbolic inference keeps a batch of 1 (onnx's own turns broadcast 1s into unknowns)
        from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

        model = SymbolicShapeInference.infer_shapes(model, auto_merge=True)
    except Exception:  # noqa: BLE001 - fall back to onnx's own inference
        how = "onnx shape inference"
        try:
            model = shape_inference.infer_shapes(model, data_prop=True)
        except Exception:  # noqa: BLE001
            return None
    shapes = _shapes(model)
    flops, counted, unknown = 0.0, 0, 0
    for node in model.graph.node:
        op = node.op_type
        out = shapes.get(node.output[0]) if node.output else None
        if op in _MATMUL or op == "MatMulNBits":
            a = shapes.get(node.input[0])
            k = None
            if op == "MatMulNBits":
                k = next((at.i for at in node.attribute if at.name == "K"), None)
            elif _known(a) and a:
                k = a[-1]
            if _known(out) and k:
                flops += 2.0 * prod(out) * k
                counted += 1
            else:
                unknown += 1
        elif op == "Gemm":
            a = shapes.get(node.input[0])
            trans_a = next((at.i for at in node.attribute if at.name == "transA"), 0)
            if _known(out) and _known(a) and len(a) == 2:
                flops += 2.0 * prod(out) * (a[0] if trans_a else a[1])
                counted += 1
            else:
                unknown += 1
        elif op in _CONV:
            w = shapes.get(node.input[3] if op == "QLinearConv" else node.input[1])
            if _known(out) and _known(w) and len(w) >= 3:
                cin_per_group = w[1] if op != "ConvTranspose" else w[0] // max(1, _group(node))
                flops += 2.0 * prod(out) * cin_per_group * prod(w[2:])
                counted += 1
            else:
                unknown += 1
    if not counted:
        return None
    return FlopCount(flops, counted, unknown, f"counted from the ONNX graph ({how} at the case's shapes)")


def _group(node) -> int:
    return next((at.i for at in node.attribute if at.name == "group"), 1)
