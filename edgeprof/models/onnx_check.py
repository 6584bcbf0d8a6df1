"""ONNX external data, checked before ONNX Runtime sees the model.

Why: an ONNX tensor may keep its bytes in another file (``external_data`` → ``location``), and
ONNX Runtime opens whatever that names. A hostile model can name ``/etc/shadow``,
``../../secret`` or a symlink out of its directory. This module walks the protobuf wire format
(no ``onnx`` import, no weights decoded: length-delimited fields we do not need are skipped) to
every tensor that can carry external data — graph initializers, sparse initializers, node
attribute tensors, subgraphs, functions, training graphs — and refuses any location that is not
a plain relative path to a regular file inside the model's directory, or whose offset/length
fall outside that file. Malformed protobuf is refused too; everything raises ``OnnxCheckError``.

Field numbers: onnx/onnx.proto3 (ModelProto, GraphProto, NodeProto, AttributeProto,
TensorProto, SparseTensorProto, FunctionProto, TrainingInfoProto).
"""
from __future__ import annotations

import mmap
import os
import stat
from pathlib import Path

from edgeprof.runtimes.onnx_graph import GraphError, fields


class OnnxCheckError(ValueError):
    """The model is malformed or points outside its directory; the message names both."""


# message kind -> {field number: child message kind}; everything else is skipped by length
_CHILDREN = {
    "model": {7: "graph", 20: "training", 25: "function"},
    "training": {1: "graph", 2: "graph"},
    "function": {7: "node"},
    "graph": {1: "node", 5: "tensor", 15: "sparse"},
    "node": {5: "attribute"},
    "attribute": {5: "tensor", 6: "graph", 10: "tensor", 11: "graph", 22: "sparse", 23: "sparse"},
    "sparse": {1: "tensor", 2: "tensor"},
    "tensor": {13: "entry"},
    "entry": {},
}
MAX_DEPTH = 100  # as protobuf's own decoder (upb MaxDepth); real If/Loop nesting stays far below


def _walk(buf, start: int, end: int, kind: str, depth: int, found: list) -> dict:
    """Visit one message; returns the entry's key/value when ``kind`` is ``entry``."""
    if depth > MAX_DEPTH:
        raise OnnxCheckError("malformed protobuf (messages nested too deep)")
    children = _CHILDREN[kind]
    entry: dict = {}
    tensor_entries: list[dict] = []
    for field, wire, span in fields(buf, start, end):  # bounded: a field past its message is refused
        if wire != 2:
            continue
        if field in children:
            sub = _walk(buf, span[0], span[1], children[field], depth + 1, found)
            if kind == "tensor":
                tensor_entries.append(sub)
        elif kind == "entry" and field in (1, 2):
            entry[field] = bytes(buf[span[0]:span[1]]).decode("utf-8", "replace")
    if tensor_entries:
        found.append({e.get(1, ""): e.get(2, "") for e in tensor_entries})
    return entry


def external_data(path: Path) -> list[dict[str, str]]:
    """The ``external_data`` key/value maps of every tensor of the model (empty when all data is
    inside the file)."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise OnnxCheckError(f"{path} is not a regular file; pass a .onnx model file")
        if st.st_size == 0:
            raise OnnxCheckError(f"{path} is empty; not an ONNX model — pass a .onnx file or re-export it")
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            found: list = []
            try:
                _walk(buf, 0, len(buf), "model", 0, found)
            except GraphError as exc:
                raise OnnxCheckError(str(exc)) from None
            return found
    except OSError as exc:
        raise OnnxCheckError(f"cannot read {path} ({exc.strerror or exc})") from None


def check_external_data(path: Path) -> list[Path]:
    """The external data files of ``path``, each checked to be inside its directory; raises
    OnnxCheckError naming the tensor entry and the fix otherwise."""
    path = Path(path)
    try:
        entries = external_data(path)
    except OnnxCheckError as exc:
        if str(path) in str(exc):
            raise
        raise OnnxCheckError(f"{path} is not a valid ONNX model ({exc}); re-export it") from None
    top = path.parent.resolve()
    out: list[Path] = []
    for e in entries:
        loc = e.get("location", "")
        bad = f"{path}: external data location {loc[:120]!r}"
        p = Path(loc)
        if not loc or "\0" in loc or p.is_absolute() or ".." in p.parts or "\\" in loc:
            raise OnnxCheckError(f"{bad} is not a plain file name inside the model's directory; refusing the model "
                                 f"(re-export it with its data next to the .onnx file)")
        try:
            real = (top / p).resolve()
            st = os.stat(real)
        except (OSError, RuntimeError):
            raise OnnxCheckError(f"{bad} does not exist; copy the model with all its data files") from None
        if top not in real.parents:
            raise OnnxCheckError(f"{bad} leads outside the model's directory (to {real}); refusing the model — copy the "
                                 f"data file into the model's directory")
        if not stat.S_ISREG(st.st_mode):
            raise OnnxCheckError(f"{bad} is not a regular file; refusing the model — replace it with the data file")
        try:
            offset, length = int(e.get("offset") or 0), int(e.get("length") or 0)
        except ValueError:
            raise OnnxCheckError(f"{bad} has a non-numeric offset/length; the model is damaged — re-export it") from None
        if offset < 0 or length < 0 or offset + length > st.st_size:
            raise OnnxCheckError(f"{bad}: bytes {offset}+{length} lie outside that {st.st_size}-byte file; the "
                                 f"model or its data file is truncated — copy it whole or re-export it")
        if real not in out:
            out.append(real)
    return out
