"""A small GGUF header reader: metadata and tensor shapes, no weights, no dependency.

Why not the ``gguf`` package: it is an export-time extra, and the bench only needs the name, the
file type, the parameter count and a check that the file is whole before a worker spends seconds
loading it (a truncated download should be a one-line error, not a crash in llama.cpp).
Format: ggml docs/gguf.md (magic "GGUF", version, tensor count, KV count, KVs, tensor infos).
"""
from __future__ import annotations

import os
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


class GGUFError(ValueError):
    """Not a GGUF file, or a damaged one; the message names the file and the fix."""


def _read(f: BinaryIO, n: int, path: str) -> bytes:
    b = f.read(n)
    if len(b) != n:
        raise GGUFError(f"{path}: truncated GGUF header (file ends early); re-download or re-export it")
    return b


def _string(f: BinaryIO, path: str) -> str:
    (n,) = struct.unpack("<Q", _read(f, 8, path))
    if n > 1 << 26:
        raise GGUFError(f"{path}: corrupt GGUF header (string of {n} bytes)")
    return _read(f, n, path).decode("utf-8", "replace")


def _value(f: BinaryIO, vtype: int, path: str, keep: bool) -> Any:
    if vtype in _SCALARS:
        fmt = _SCALARS[vtype]
        return struct.unpack(fmt, _read(f, struct.calcsize(fmt), path))[0]
    if vtype == _STRING:
        return _string(f, path)
    if vtype == _ARRAY:
        itype, n = struct.unpack("<IQ", _read(f, 12, path))
        if itype in _SCALARS and not keep:  # skip big arrays (token scores) without decoding
            f.seek(struct.calcsize(_SCALARS[itype]) * n, os.SEEK_CUR)
            return None
        items = [_value(f, itype, path, keep) for _ in range(n)]
        return items if keep else None
    raise GGUFError(f"{path}: corrupt GGUF header (unknown value type {vtype})")


def read_header(path: str | os.PathLike, keep_arrays: bool = False) -> dict[str, Any]:
    """{"version", "metadata": {...}, "n_params", "n_tensors", "quant"}; raises GGUFError."""
    p = str(path)
    size = os.path.getsize(p)
    with open(p, "rb") as f:
        if f.read(4) != b"GGUF":
            raise GGUFError(f"{p} is not a GGUF file (bad magic); pass a .gguf model or an export directory")
        version, n_tensors, n_kv = struct.unpack("<IQQ", _read(f, 20, p))
        meta: dict[str, Any] = {}
        for _ in range(n_kv):
            key = _string(f, p)
            (vtype,) = struct.unpack("<I", _read(f, 4, p))
            meta[key] = _value(f, vtype, p, keep_arrays)
        n_params, max_offset = 0, 0
        for _ in range(n_tensors):
            _string(f, p)
            (n_dims,) = struct.unpack("<I", _read(f, 4, p))
            dims = struct.unpack(f"<{n_dims}Q", _read(f, 8 * n_dims, p))
            _, offset = struct.unpack("<IQ", _read(f, 12, p))  # ggml type, offset in data
            max_offset = max(max_offset, offset)
            count = 1
            for d in dims:
                count *= d
            n_params += count
        header_end = f.tell()
    align = int(meta.get("general.alignment") or 32)
    data_start = (header_end + align - 1) // align * align
    if data_start + max_offset >= size:
        raise GGUFError(f"{p}: truncated GGUF ({size} bytes, tensor data needs more than "
                        f"{data_start + max_offset}); re-download or re-export it")
    ftype = meta.get("general.file_type")
    return {"version": version, "metadata": meta, "n_params": n_params, "n_tensors": n_tensors,
            "quant": FILE_TYPES.get(ftype, f"ftype{ftype}" if ftype is not None else None)}
