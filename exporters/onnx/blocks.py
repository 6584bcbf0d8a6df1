"""Blockwise weight quantization in numpy, in the layouts ONNX Runtime's ``MatMulNBits`` and
``GatherBlockQuantized`` read. No ONNX here: ``onnx_quant.py`` builds the nodes.

Why our own instead of ``MatMulNBitsQuantizer``: ONNX Runtime's quantizers only make integer zero
points, and its kernel falls back to a ~10x slower path for float ones (measured: 4.4 vs 43 tok/s
on SmolLM2-135M). llama.cpp's ``q4_1``/``q4_k`` keep a float minimum per block, which an integer
zero point cannot express: the grid ``s*(q - z)`` always contains 0, ``m + s*q`` need not. So a
block is stored as MatMulNBits' integer-zero-point blocks PLUS a per-block offset
``c = m + z*s`` (|c| <= s/2), applied by a small extra MatMul over the input's block sums
(``onnx_quant.py``). Together they reproduce ``m + s*q`` exactly.

Layouts (K = input features, N = output features, kb = K / block):
- data ``uint8 [N, kb, block*bits/8]``: 4-bit values two per byte, the lower index in the low nibble;
- scales ``[N * kb]``; zero points ``uint8 [N, ceil(kb/2)]`` (4-bit, packed) or absent (symmetric:
  the kernel's default zero point 2^(bits-1));
- offsets ``[kb, N]``: the correction MatMul's weight.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass
class Blocks:
    """One quantized weight [K, N] (see the module docstring for the layouts)."""
    data: "np.ndarray"
    scales: "np.ndarray"
    zero_points: "np.ndarray | None"
    offsets: "np.ndarray | None"
    bits: int
    block: int
    K: int
    N: int


def _blocks(w_kn, block: int):
    """[K, N] -> float32 [kb, block, N] (the K axis cut into blocks; a free reshape, K padded with zeros)."""
    import numpy as np

    K, N = w_kn.shape
    kb = -(-K // block)
    w = np.asarray(w_kn, dtype=np.float32)
    if kb * block != K:
        w = np.concatenate([w, np.zeros((kb * block - K, N), np.float32)])
    return w.reshape(kb, block, N), kb


def _pack(q, bits: int):
    """uint8 codes [kb, block, N] -> MatMulNBits data [N, kb, block*bits/8] (transposed as bytes)."""
    import numpy as np

    q = q.astype(np.uint8)
    if bits == 4:
        q = q[:, 0::2] | (q[:, 1::2] << 4)
    return np.ascontiguousarray(q.transpose(2, 0, 1))


def _per_row(v):
    """[kb, 1, N] block values -> [N * kb] in MatMulNBits' order."""
    import numpy as np

    return np.ascontiguousarray(v[:, 0, :].T).reshape(-1)


def symmetric(w_kn, *, bits: int, block: int) -> Blocks:
    """llama.cpp's q8_0/q4_0 rule: the block's largest-magnitude value maps to the end of the grid."""
    import numpy as np

    x, kb = _blocks(w_kn, block)
    K, N = w_kn.shape
    half = 1 << (bits - 1)
    if bits == 8:  # q8_0: d = absmax / 127, values in [-127, 127]
        d = np.abs(x).max(1, keepdims=True) / 127
        lo, hi = -127, 127
    else:          # q4_0: d = signed extreme / -8, so the extreme lands exactly on -8
        idx = np.abs(x).argmax(1)[:, None, :]
        d = np.take_along_axis(x, idx, axis=1) / -half
        lo, hi = -half, half - 1
    inv = np.divide(1.0, d, out=np.zeros_like(d), where=d != 0)
    q = np.clip(np.rint(x * inv), lo, hi) + half
    return Blocks(_pack(q, bits), _per_row(d).astype(np.float32), None, None, bits, block, K, N)


def asymmetric(w_kn, *, bits: int = 4, block: int, offset: bool) -> Blocks:
    """min/max blocks. ``offset=False``: ONNX Runtime's RTN (integer zero point, minimum rounded
    onto the grid); ``offset=True``: the exact float minimum, as integer zero point + offset."""
    import numpy as np

    x, kb = _blocks(w_kn, block)
    K, N = w_kn.shape
    maxq = (1 << bits) - 1
    lo, hi = x.min(1, keepdims=True), x.max(1, keepdims=True)
    if not offset:  # ONNX Runtime's RTN keeps 0 inside the range
        lo, hi = np.minimum(lo, 0), np.maximum(hi, 0)
    s = (hi - lo) / maxq
    s[s == 0] = 1.0
    z = np.clip(np.rint(-lo / s), 0, maxq)
    if offset:
        q = np.clip(np.rint((x - lo) / s), 0, maxq)      # value = lo + s*q = s*(q - z) + (lo + z*s)
        c = np.ascontiguousarray((lo + z * s)[:, 0, :]).astype(np.float32)  # [kb, N]
    else:
        q = np.clip(np.rint(x / s) + z, 0, maxq)         # value = s*(q - z)
        c = None
    zz = z[:, 0, :].T.astype(np.uint8)                   # [N, kb]
    if bits == 4:
        if kb % 2:
            zz = np.pad(zz, ((0, 0), (0, 1)))
        zz = (zz[:, 0::2] | (zz[:, 1::2] << 4)).astype(np.uint8)
    return Blocks(_pack(q, bits), _per_row(s).astype(np.float32), np.ascontiguousarray(zz), c, bits, block, K, N)


def dequantize(b: Blocks):
    """[K, N] float32 values the kernels compute with (tests compare it with the source weight)."""
    import numpy as np

    N, kb = b.N, -(-b.K // b.block)
    raw = b.data.reshape(N * kb, -1)
    if b.bits == 4:
        q = np.empty((N * kb, b.block), np.float64)
        q[:, 0::2], q[:, 1::2] = raw & 0x0F, raw >> 4
    else:
        q = raw.astype(np.float64)
    if b.zero_points is None:
        z = np.full((N * kb, 1), 1 << (b.bits - 1), np.float64)
    elif b.bits == 4:
        zz = np.empty((N, b.zero_points.shape[1] * 2), np.float64)
        zz[:, 0::2], zz[:, 1::2] = b.zero_points & 0x0F, b.zero_points >> 4
        z = zz[:, :kb].reshape(-1, 1)
    else:
        z = b.zero_points.reshape(-1, 1).astype(np.float64)
    v = (q - z) * b.scales.reshape(-1, 1)
    if b.offsets is not None:
        v = v + b.offsets.T.reshape(-1, 1)
    return v.reshape(N, kb * b.block)[:, :b.K].T.astype(np.float32)
