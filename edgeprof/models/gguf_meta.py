"""A small GGUF header reader: metadata and tensor shapes, no weights, no dependency.

Why not the ``gguf`` package: it is an export-time extra, and the bench only needs the name, the
file type, the parameter count and a check that the file is whole before a worker spends seconds
loading it (a truncated download should be a one-line error, not a crash in llama.cpp).
Format: ggml docs/gguf.md (magic "GGUF", version, tensor count, KV count, KVs, tensor infos).
"""
from __future__ import annotations

import os
import stat
import struct
from typing import Any, BinaryIO

# gguf.md value types
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
#: llama.cpp LLAMA_FTYPE (include/llama.h) -> quant name
FILE_TYPES = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 7: "q8_0", 8: "q5_0", 9: "q5_1", 10: "q2_k",
              11: "q3_k_s", 12: "q3_k_m", 13: "q3_k_l", 14: "q4_k_s", 15: "q4_k_m", 16: "q5_k_s",
              17: "q5_k_m", 18: "q6_k", 19: "iq2_xxs", 20: "iq2_xs", 21: "q2_k_s", 22: "iq3_xs",
              23: "iq3_xxs", 24: "iq1_s", 25: "iq4_nl", 26: "iq3_s", 27: "iq3_m", 28: "iq2_s",
              29: "iq2_m", 30: "iq4_xs", 31: "iq1_m", 32: "bf16", 36: "tq1_0", 37: "tq2_0", 38: "mxfp4"}


#: ggml_type -> (elements per block, bytes per block), from ggml.c's type traits (the gguf package's
#: GGML_QUANT_SIZES agrees); a tensor of another type cannot be loaded by llama.cpp.
TYPE_SIZES = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
              9: (32, 40), 10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
              15: (256, 292), 16: (256, 66), 17: (256, 74), 18: (256, 98), 19: (256, 50), 20: (32, 18),
              21: (256, 110), 22: (256, 82), 23: (256, 136), 24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8),
              28: (1, 8), 29: (256, 56), 30: (1, 2), 34: (256, 54), 35: (256, 66), 39: (32, 17)}
MAX_DIMS = 4          # GGML_MAX_DIMS
MAX_NAME = 63         # GGML_MAX_NAME - 1
MAX_STRING = 1 << 26  # no metadata string of a real model comes near 64 MiB
INT64_MAX = (1 << 63) - 1


class GGUFError(ValueError):
    """Not a GGUF file, or a damaged one; the message names the file and the fix."""


class _Reader:
    """Reads the header with every length checked against what is left of the file, so a
    forged count or length is an error before anything is allocated or looped over."""

    def __init__(self, f: BinaryIO, path: str, size: int):
        self.f, self.path, self.size = f, path, size

    def left(self) -> int:
        return self.size - self.f.tell()

    def corrupt(self, what: str) -> GGUFError:
        return GGUFError(f"{self.path}: corrupt GGUF header ({what}); re-download or re-export it")

    def read(self, n: int) -> bytes:
        if n > self.left():
            raise GGUFError(f"{self.path}: truncated GGUF header (file ends early); re-download or re-export it")
        return self.f.read(n)

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.read(struct.calcsize(fmt)))

    def string(self) -> str:
        (n,) = self.unpack("<Q")
        if n > MAX_STRING:
            raise self.corrupt(f"string of {n} bytes")
        return self.read(n).decode("utf-8", "replace")

    def value(self, vtype: int, keep: bool) -> Any:
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])[0]
        if vtype == _STRING:
            return self.string()
        if vtype != _ARRAY:
            raise self.corrupt(f"unknown value type {vtype}")
        itype, n = self.unpack("<IQ")
        if itype == _ARRAY:
            raise self.corrupt("nested array, which llama.cpp does not read")
        if itype in _SCALARS:
            width = struct.calcsize(_SCALARS[itype])
            if n * width > self.left():
                raise self.corrupt(f"array of {n} values in {self.left()} bytes")
            if not keep:  # skip big arrays (token scores) without decoding
                self.f.seek(n * width, os.SEEK_CUR)
                return None
        elif itype != _STRING:
            raise self.corrupt(f"unknown array type {itype}")
        elif n * 8 > self.left():
            raise self.corrupt(f"array of {n} strings in {self.left()} bytes")
        items = [self.value(itype, keep) for _ in range(n)]
        return items if keep else None


def read_header(path: str | os.PathLike, keep_arrays: bool = False) -> dict[str, Any]:
    """{"version", "metadata": {...}, "n_params", "n_tensors", "quant"}; raises GGUFError (only).

    Checks what llama.cpp's gguf loader checks, so a file it would refuse (or crash on) is a
    one-line error here: magic and version, every count and length within the file, no duplicate
    keys or tensor names, known tensor types, at most 4 dimensions, a power-of-two alignment, and
    every tensor's data aligned and inside the file."""
    p = str(path)
    try:
        st = os.stat(p)
        if not stat.S_ISREG(st.st_mode):
            raise GGUFError(f"{p} is not a regular file; pass a .gguf model file")
        with open(p, "rb") as f:
            return _parse(_Reader(f, p, st.st_size), keep_arrays)
    except OSError as exc:
        raise GGUFError(f"cannot read {p} ({exc.strerror or exc}); check the path and its permissions") from None


def _parse(r: _Reader, keep_arrays: bool) -> dict[str, Any]:
    p = r.path
    if r.size < 4 or r.f.read(4) != b"GGUF":
        raise GGUFError(f"{p} is not a GGUF file (bad magic); pass a .gguf model or an export directory")
    version, n_tensors, n_kv = r.unpack("<IQQ")
    if version not in (2, 3):
        raise GGUFError(f"{p}: GGUF version {version} is not supported (llama.cpp reads 2 and 3); re-export it")
    if n_kv * 13 > r.left() or n_tensors * 29 > r.left():
        raise r.corrupt(f"{n_kv} keys and {n_tensors} tensors in a {r.size}-byte file")
    meta: dict[str, Any] = {}
    for _ in range(n_kv):
        key = r.string()
        (vtype,) = r.unpack("<I")
        if key in meta:
            raise r.corrupt(f"duplicate key {key[:60]!r}")
        meta[key] = r.value(vtype, keep_arrays or key == "general.alignment")
    align = meta.get("general.alignment", 32)
    if type(align) is not int or align <= 0 or align & (align - 1):
        raise r.corrupt(f"general.alignment {align!r} is not a power of two")
    n_params, names, extents = 0, set(), []
    weights: dict[int, int] = {}      # ggml type -> elements of the 2-D+ weight tensors (the file's real quant)
    blocks: set[str] = set()
    shapes: dict[str, tuple[int, ...]] = {}
    for _ in range(n_tensors):
        name = r.string()
        if len(name.encode()) > MAX_NAME or name in names:
            raise r.corrupt(f"tensor name {name[:60]!r} too long or repeated")
        names.add(name)
        (n_dims,) = r.unpack("<I")
        if not 1 <= n_dims <= MAX_DIMS:
            raise r.corrupt(f"tensor {name!r} has {n_dims} dimensions")
        dims = r.unpack(f"<{n_dims}Q")
        ggml_type, offset = r.unpack("<IQ")
        if ggml_type not in TYPE_SIZES:
            raise GGUFError(f"{p}: tensor {name!r} has ggml type {ggml_type}, unknown to this llama.cpp; "
                            f"update llama-cpp-python or re-export the model")
        block, nbytes = TYPE_SIZES[ggml_type]
        count = 1
        for d in dims:
            count *= d
        if count > INT64_MAX or dims[0] % block or offset % align:
            raise r.corrupt(f"tensor {name!r}: shape {list(dims)} or offset {offset} invalid for its type")
        n_params += count
        extents.append(offset + count // block * nbytes)
        if n_dims >= 2:
            weights[ggml_type] = weights.get(ggml_type, 0) + count
        if name.startswith("blk.") and name.count(".") >= 2:
            blocks.add(name.split(".")[1])
        if name in ("token_embd.weight", "output.weight"):
            shapes[name] = tuple(dims)
    data_start = (r.f.tell() + align - 1) // align * align
    need = data_start + max(extents, default=0)
    if need > r.size:
        raise GGUFError(f"{p}: truncated GGUF ({r.size} bytes, its tensors need {need}); re-download or re-export it")
    ftype = meta.get("general.file_type")
    emb = shapes.get("token_embd.weight") or shapes.get("output.weight")
    content = {"n_layers": len(blocks) or None, "n_embd": emb[0] if emb else None,
               "vocab_size": emb[1] if emb and len(emb) > 1 else None}
    return {"version": version, "metadata": meta, "n_params": n_params, "n_tensors": n_tensors,
            "quant": FILE_TYPES.get(ftype, f"ftype{ftype}" if ftype is not None else None),
            "weight_types": weights, "shape": {k: v for k, v in content.items() if v}}
