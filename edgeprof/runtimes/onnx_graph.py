"""What an ONNX graph's weights are, read from the protobuf wire format without loading them.

Why: a model's identity is its content (STYLE rule 16). An ONNX file outside an edgeprof export
carries no manifest, so its parameter count and quantization are counted here from the graph's
initializers — their shapes and element types, never their bytes (``onnx.load`` would read every
weight; external data is not opened at all) — and from the quantized-weight operators:

- ``MatMulNBits`` (com.microsoft): K·N weights at ``bits`` bits; its packed bytes, scales, zero
  points and group index are not parameters. The packed bytes must be exactly N·⌈K/block⌉ blocks
  of block·bits/8 bytes, or the attributes are a claim the bytes contradict.
- ``GatherBlockQuantized``: its data at ``bits`` bits (8/bits per byte of uint8 data); scales and
  zero points are not parameters.
- ``DequantizeLinear``, ``MatMulInteger``, ``DynamicQuantizeMatMul``, ``QLinearMatMul``,
  ``QLinearConv``, and a ``Gather`` of an int8 table (a quantized embedding): the quantized
  weight counts at its own type; scales and zero points do not.
- A MatMul fed by a ``ReduceSum`` (block sums) multiplies by per-block offsets (edgeprof's int4
  with a float minimum, exporters/onnx/quant.py): those are quantization data, not parameters.
- Every other float initializer of more than one element counts at its type; scalars (constants)
  and integer and boolean ones (shapes, indices) do not. An initializer shared by several nodes counts once.

The file is untrusted: every read is bounded by its message, dims must be sane, and a stored size
(``raw_data``, or an external ``length``) that disagrees with the dims is a problem, not a count.
Problems void the count (``params`` None): a count we cannot stand behind is no count.
Field numbers: onnx/onnx.proto3. Used by the runtimes (the worker's ``n_params``) and by
models/identity.py (the parent's identity, before anything runs).
"""
from __future__ import annotations

import mmap
from dataclasses import dataclass, field
from pathlib import Path

#: TensorProto.DataType -> (storage name, bits per element) for the types that hold weights
FLOAT_TYPES = {1: ("fp32", 32), 10: ("fp16", 16), 11: ("fp64", 64), 16: ("bf16", 16)}
INT_TYPES = {2: ("int8", 8), 3: ("int8", 8), 21: ("int4", 4), 22: ("int4", 4)}
ELEMENT_BITS = {**{k: v[1] for k, v in {**FLOAT_TYPES, **INT_TYPES}.items()},
                4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 12: 32, 13: 64}
#: op -> (index of the quantized weight input, indices of inputs that are quantization data)
QUANT_OPS = {"DequantizeLinear": (0, (1, 2)), "MatMulInteger": (1, (2, 3)), "DynamicQuantizeMatMul": (1, (2, 3)),
             "QLinearMatMul": (3, (1, 2, 4, 5, 6, 7)), "QLinearConv": (3, (1, 2, 4, 5, 6, 7))}
MAX_DIM = 1 << 40


class GraphError(ValueError):
    """Malformed protobuf."""


@dataclass(frozen=True)
class GraphScan:
    """Counted from the graph: ``params`` (None when not countable), weight elements by storage
    (``fp32``, ``fp16``, ``int8``, ``int4``, ...), op counts, what made a count impossible, and
    ``body_types``: the same without the vocabulary matrices (the embedding table and the head
    that makes the logits), which quantization schemes keep at other bits (edgeprof's int4: an
    8-bit head shared with the embedding — most of a small model with a large vocabulary)."""

    params: int | None
    weight_types: dict[str, int] = field(default_factory=dict)
    ops: dict[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    body_types: dict[str, int] = field(default_factory=dict)


def read_varint(buf, i: int, end: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        if i >= end or shift > 63:
            raise GraphError("malformed protobuf (varint)")
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def fields(buf, start: int, end: int):
    """(field number, wire type, value): an int for varints, (start, end) for length-delimited
    fields, None for fixed-width ones; raises GraphError past the message's end."""
    i = start
    while i < end:
        key, i = read_varint(buf, i, end)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(buf, i, end)
        elif wire == 2:
            n, i = read_varint(buf, i, end)
            if n > end - i:
                raise GraphError("malformed protobuf (a field runs past its message)")
            value, i = (i, i + n), i + n
        elif wire in (1, 5):
            value, i = None, i + (8 if wire == 1 else 4)
        else:
            raise GraphError(f"malformed protobuf (wire type {wire})")
        if i > end:
            raise GraphError("malformed protobuf (a field runs past its message)")
        yield num, wire, value


def _text(buf, span) -> str:
    return bytes(buf[span[0]:span[1]]).decode("utf-8", "replace")


@dataclass
class _Tensor:
    name: str = ""
    dims: list = field(default_factory=list)
    dtype: int = 0
    stored_bytes: int | None = None   # raw_data length, or the external data's length entry

    @property
    def elements(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n


def _tensor(buf, span) -> _Tensor:
    t, external = _Tensor(), {}
    for num, wire, v in fields(buf, *span):
        if num == 1 and wire == 0:
            t.dims.append(v)
        elif num == 1 and wire == 2:
            i = v[0]
            while i < v[1]:
                d, i = read_varint(buf, i, v[1])
                t.dims.append(d)
        elif num == 2 and wire == 0:
            t.dtype = v
        elif num == 8 and wire == 2:
            t.name = _text(buf, v)
        elif num == 9 and wire == 2:
            t.stored_bytes = v[1] - v[0]
        elif num == 13 and wire == 2:
            kv = {n: _text(buf, s) for n, w, s in fields(buf, *v) if w == 2}
            external[kv.get(1, "")] = kv.get(2, "")
    if "length" in external and external["length"].isdigit():
        t.stored_bytes = int(external["length"])
    return t


def _node(buf, span) -> tuple[str, list[str], list[str], dict[str, int]]:
    op, outputs, inputs, attrs = "", [], [], {}
    for num, wire, v in fields(buf, *span):
        if wire != 2:
            continue
        if num == 4:
            op = _text(buf, v)
        elif num == 2:
            outputs.append(_text(buf, v))
        elif num == 1:
            inputs.append(_text(buf, v))
        elif num == 5:
            a = {n: (w, x) for n, w, x in fields(buf, *v)}
            if 1 in a and a.get(3, (None,))[0] == 0:
                attrs[_text(buf, a[1][1])] = a[3][1]
    return op, outputs, inputs, attrs


def _read(buf) -> tuple[list, dict[str, _Tensor], dict[str, str]]:
    """Nodes, initializers by name, and each node output's producing op of the main graph."""
    graph = next((v for n, w, v in fields(buf, 0, len(buf)) if n == 7 and w == 2), None)
    nodes, inits, producer = [], {}, {}
    for num, wire, v in fields(buf, *graph) if graph else ():
        if num == 1 and wire == 2:
            nodes.append(_node(buf, v))
            producer.update(dict.fromkeys(nodes[-1][1], nodes[-1][0]))
        elif num == 5 and wire == 2:
            t = _tensor(buf, v)
            inits.setdefault(t.name, t)
    return nodes, inits, producer


def _count(nodes, inits: dict[str, _Tensor], producer: dict[str, str]
           ) -> tuple[dict[str, int], dict[str, int], list[str]]:
    counted: dict[str, tuple[str, int]] = {}   # initializer -> (storage, logical weight elements)
    quant_data: set[str] = set()
    vocab: set[str] = set()                    # the embedding table and the head that makes the logits
    problems: list[str] = []
    for op, outputs, inputs, attrs in nodes:
        if "logits" in outputs and len(inputs) > 1:
            vocab.add(inputs[1])
        if op in ("Gather", "GatherBlockQuantized") and inputs:
            vocab.add(inputs[0])
        if op == "MatMulNBits" and len(inputs) > 1 and inputs[1] in inits:
            k, n, bits, block = attrs.get("K", 0), attrs.get("N", 0), attrs.get("bits", 4), attrs.get("block_size", 0)
            want = n * -(-k // block) * (block * bits // 8) if block and bits in range(1, 9) else -1
            if inits[inputs[1]].elements != want:
                problems.append(f"MatMulNBits {inputs[1]!r}: K={k} N={n} bits={bits} block_size={block} do not "
                                f"describe its {inits[inputs[1]].elements} bytes")
            counted[inputs[1]] = (f"int{bits}", k * n)
            quant_data.update(inputs[2:5])
        elif op == "GatherBlockQuantized" and inputs:
            bits = attrs.get("bits", 4)
            t = inits.get(inputs[0])
            if t is not None:
                packed = 8 // bits if t.dtype == 2 and bits in (2, 4) else 1
                counted[inputs[0]] = (f"int{bits}", t.elements * packed)
            quant_data.update(inputs[2:4])
        elif op in QUANT_OPS:
            w, meta = QUANT_OPS[op]
            t = inits.get(inputs[w]) if len(inputs) > w else None
            if t is not None and t.dtype in INT_TYPES:
                counted[t.name] = (INT_TYPES[t.dtype][0], t.elements)
            quant_data.update(inputs[i] for i in meta if i < len(inputs))
        elif op == "Gather" and inputs and inputs[0] in inits and inits[inputs[0]].dtype in INT_TYPES:
            t = inits[inputs[0]]  # a quantized embedding table, dequantized after the gather
            counted[t.name] = (INT_TYPES[t.dtype][0], t.elements)
        elif op == "MatMul" and len(inputs) == 2 and producer.get(inputs[0]) == "ReduceSum":
            quant_data.add(inputs[1])  # y += block_sums(x) @ offsets: a float minimum per block
    for name, t in inits.items():
        if name not in counted and name not in quant_data and t.dtype in FLOAT_TYPES and t.elements > 1:
            counted[name] = (FLOAT_TYPES[t.dtype][0], t.elements)
    types: dict[str, int] = {}
    body: dict[str, int] = {}
    for name, (storage, n) in counted.items():
        types[storage] = types.get(storage, 0) + n
        if name not in vocab:
            body[storage] = body.get(storage, 0) + n
    return types, body, problems


def _sizes(inits: dict[str, _Tensor]) -> list[str]:
    """Dims that are not sizes, and stored bytes that disagree with the dims."""
    out = []
    for t in inits.values():
        if any(d < 0 or d > MAX_DIM for d in t.dims):
            out.append(f"initializer {t.name!r} has dims {t.dims[:6]} that are not sizes")
        elif t.stored_bytes is not None and t.dtype in ELEMENT_BITS and \
                t.stored_bytes != -(-t.elements * ELEMENT_BITS[t.dtype] // 8):
            out.append(f"initializer {t.name!r}: dims {t.dims} need {-(-t.elements * ELEMENT_BITS[t.dtype] // 8)} "
                       f"bytes but {t.stored_bytes} are stored")
        if len(out) >= 3:
            break
    return out


def scan(path: str | Path) -> GraphScan:
    """The graph's weights and ops (module docstring); a file that cannot be read or parsed gives
    ``params`` None with the reason as its one problem."""
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            nodes, inits, producer = _read(buf)
    except (OSError, ValueError) as exc:
        return GraphScan(None, problems=(f"the graph could not be read ({exc})",))
    ops: dict[str, int] = {}
    for op, *_ in nodes:
        ops[op] = ops.get(op, 0) + 1
    problems = _sizes(inits)
    types, body, more = _count(nodes, inits, producer)
    problems += more
    total = sum(types.values())
    return GraphScan(None if problems or not total else total, types, ops, tuple(problems), body)
