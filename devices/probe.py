"""Measure this machine's memory bandwidth and matrix FLOP/s (what ``edgeprof devices --probe`` runs).

- Bandwidth: STREAM-style *copy* (``b = a``) and *triad* (``a = b + s·c``) over float64 arrays
  split across ``threads`` worker threads (numpy releases the GIL in these loops), best of
  ``repeats`` timed passes after one untimed pass. Bytes are counted as STREAM counts them (copy 2
  arrays, triad 3 arrays per element). numpy runs the triad in two passes (``a = s·c`` then
  ``a += b``), moving 5 arrays rather than 3, so the triad figure *understates* the hardware; the
  copy figure is the better estimate of sustainable bandwidth. Arrays must be much larger than the
  last-level cache for a DRAM figure (default 64 MiB each); small arrays measure cache.
- FLOP/s: ``numpy.matmul`` of two n×n float32 matrices, 2·n³ FLOP per product, best of ``repeats``,
  with whatever threads numpy's BLAS uses.

This measures the *host CPU's* view of memory and compute (numpy); it says nothing about a discrete
GPU. Results are plain dicts with provenance; storing them is the caller's job (edgeprof.specs).
Knows nothing of edgeprof (devices/ never imports it); numpy is imported inside the functions.
"""
from __future__ import annotations

import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Callable

PROBE_VERSION = 1


def _timed_parallel(pool: ThreadPoolExecutor, fn: Callable[[int], None], threads: int) -> float:
    t0 = time.perf_counter_ns()
    list(pool.map(fn, range(threads)))
    return (time.perf_counter_ns() - t0) / 1e9


def bandwidth(array_bytes: int = 64 << 20, repeats: int = 5, threads: int | None = None) -> dict[str, Any]:
    """STREAM-style copy and triad bandwidth in GB/s (1e9 B/s) with provenance."""
    import numpy as np

    if array_bytes < 8 * 1024 or repeats < 1:
        raise ValueError("array_bytes must be ≥ 8 KiB and repeats ≥ 1")
    threads = max(1, threads or os.cpu_count() or 1)
    n = array_bytes // 8
    a, b, c = np.ones(n), np.full(n, 2.0), np.full(n, 0.5)
    bounds = [(i * n // threads, (i + 1) * n // threads) for i in range(threads)]
    scalar = 3.0

    def copy(i: int) -> None:
        lo, hi = bounds[i]
        np.copyto(b[lo:hi], a[lo:hi])

    def triad(i: int) -> None:
        lo, hi = bounds[i]
        np.multiply(c[lo:hi], scalar, out=a[lo:hi])
        np.add(a[lo:hi], b[lo:hi], out=a[lo:hi])

    best = {}
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for name, fn, arrays in (("copy", copy, 2), ("triad", triad, 3)):
            _timed_parallel(pool, fn, threads)  # untimed: page faults, thread start
            t = min(_timed_parallel(pool, fn, threads) for _ in range(repeats))
            best[name] = arrays * n * 8 / t / 1e9
    method = (f"STREAM-style copy/triad, numpy float64, {threads} thread(s), best of {repeats}, "
              f"STREAM byte counting (copy 2, triad 3 arrays); numpy triad runs in two passes so it understates")
    return {
        "copy_gbs": best["copy"], "triad_gbs": best["triad"],
        "value": max(best.values()), "unit": "GB/s",
        "provenance": {"kind": "measured", "source": "devices.probe.bandwidth", "method": method,
                       "array_bytes": n * 8, "threads": threads, "repeats": repeats,
                       "scope": "host CPU memory (numpy)",
                       "note": "" if n * 8 >= 32 << 20 else "arrays this small may fit in cache: not a DRAM figure"},
    }


def matmul_flops(n: int = 1024, repeats: int = 3) -> dict[str, Any]:
    """Best fp32 matmul rate in TFLOP/s (2·n³ FLOP per product) with provenance."""
    import numpy as np

    if n < 16 or repeats < 1:
        raise ValueError("n must be ≥ 16 and repeats ≥ 1")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, n), dtype=np.float32)
    y = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), dtype=np.float32)
    np.matmul(x, y, out=out)  # untimed warm-up (BLAS thread pool start)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        np.matmul(x, y, out=out)
        best = min(best, (time.perf_counter_ns() - t0) / 1e9)
    return {
        "fp32_tflops": 2 * n**3 / best / 1e12, "value": 2 * n**3 / best / 1e12, "unit": "TFLOP/s",
        "provenance": {"kind": "measured", "source": "devices.probe.matmul_flops",
                       "method": f"numpy.matmul float32 {n}x{n}, 2n^3 FLOP, best of {repeats}",
                       "matrix_n": n, "repeats": repeats, "threads": "numpy BLAS default",
                       "cpu_count": os.cpu_count(), "scope": "host CPU (numpy BLAS)", "note": ""},
    }


def probe(array_bytes: int = 64 << 20, matrix_n: int = 2048, threads: int | None = None) -> dict[str, Any]:
    """Both figures plus when and where they were taken (a few seconds at the defaults)."""
    import numpy as np

    return {
        "probe_version": PROBE_VERSION,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(), "machine": platform.machine(), "numpy": np.__version__,
        "bandwidth": bandwidth(array_bytes, threads=threads),
        "flops": matmul_flops(matrix_n),
    }
