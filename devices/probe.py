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

A probe you can trust (issue 13): a probe taken while other processes use the cores is 2–10× low,
and every roofline after it is inflated as much. ``probe()`` therefore measures the load
(devices/load.py) in a short window before, during and after the measurement; when other processes
used more than a fifth of a core (or the hypervisor stole > 5 %), it waits and retries, and after
the last try it keeps the least-disturbed attempt labelled ``contended`` with the load it saw.
Keys the caller stores and shows (``probe_label`` formats them): ``measured_at`` (UTC ISO 8601),
``quality`` (``quiet`` | ``contended``), ``quality_note``, ``load`` {``before``, ``during``,
``after`` (devices/load.py ``LoadMeter.between`` windows), ``attempts``, ``max_other_cores``}.
``below_spec`` flags a measured peak more than 2× under a published one.
"""
from __future__ import annotations

import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any, Callable

from .load import CONTENDED, QUIET, LoadMeter, default_max_other_cores, judge

PROBE_VERSION = 2


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
        "provenance": {"kind": "measured", "source": "edgeprof.devices.probe.bandwidth", "method": method,
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
        "provenance": {"kind": "measured", "source": "edgeprof.devices.probe.matmul_flops",
                       "method": f"numpy.matmul float32 {n}x{n}, 2n^3 FLOP, best of {repeats}",
                       "matrix_n": n, "repeats": repeats, "threads": "numpy BLAS default",
                       "cpu_count": os.cpu_count(), "scope": "host CPU (numpy BLAS)", "note": ""},
    }


def probe(array_bytes: int = 64 << 20, matrix_n: int = 2048, threads: int | None = None, *,
          retries: int = 2, wait_s: float = 10.0, load_window_s: float = 0.5,
          max_other_cores: float | None = None, meter: LoadMeter | None = None,
          sleep: Callable[[float], None] = time.sleep, before: dict | None = None) -> dict[str, Any]:
    """Both figures, when and where they were taken, and how quiet the machine was.

    Up to ``1 + retries`` attempts, ``wait_s`` apart, until one is quiet (see the module
    docstring); the returned figures are from the quiet attempt, else from the attempt whose
    other-process CPU during the measurement was lowest. ``before``: a load window just taken
    (``edgeprof devices`` shows one above its table) that stands as the first attempt's "before"
    window, so the probe is never called quiet beside a table that showed a busy machine.
    """
    import numpy as np

    meter = meter or LoadMeter()
    limit = max_other_cores if max_other_cores is not None else default_max_other_cores(meter.cores)
    attempts: list[dict[str, Any]] = []
    given = before
    for attempt in range(1, retries + 2):
        before = given if attempt == 1 and given else meter.measure(load_window_s, sleep)
        start = meter.snapshot()
        bw, fl = bandwidth(array_bytes, threads=threads), matmul_flops(matrix_n)
        during = meter.between(start, meter.snapshot())
        after = meter.measure(load_window_s, sleep)
        quality, why = judge([before, during, after], limit)
        attempts.append({"attempt": attempt, "bandwidth": bw, "flops": fl, "quality": quality, "why": why,
                         "load": {"before": before, "during": during, "after": after}})
        if quality == QUIET:
            break
        if attempt <= retries:
            sleep(wait_s)
    best = next((a for a in attempts if a["quality"] == QUIET), None) or \
        min(attempts, key=lambda a: a["load"]["during"]["other_cpu_cores"])
    note = best["why"] if best["quality"] == QUIET else (
        f"{best['why']} (attempt {best['attempt']} of {len(attempts)}, {wait_s:g} s apart: the figures may "
        f"be several times low; re-run 'edgeprof devices --probe' on a quiet machine)")
    return {
        "probe_version": PROBE_VERSION,
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(), "machine": platform.machine(), "numpy": np.__version__,
        "quality": best["quality"], "quality_note": note,
        "load": {**best["load"], "attempts": len(attempts), "max_other_cores": limit},
        "bandwidth": best["bandwidth"],
        "flops": best["flops"],
    }


def probe_label(result: dict[str, Any]) -> str:
    """How a figure from this probe is named in a table: date and quality, e.g.
    ``probe 2026-11-29 (quiet)`` or ``probe 2026-11-29 (CONTENDED: others 1.21 cores)``;
    a probe stored before the load was recorded says its quality is unknown."""
    date = str(result.get("measured_at") or "?")[:10]
    quality = result.get("quality")
    if quality == QUIET:
        return f"probe {date} (quiet)"
    if quality == CONTENDED:
        others = ((result.get("load") or {}).get("during") or {}).get("other_cpu_cores")
        return f"probe {date} (CONTENDED" + (f": others {others:.2f} cores)" if others is not None else ")")
    return f"probe {date} (load not recorded: quality unknown)"


def below_spec(measured: float | None, published: float | None, what: str, unit: str,
               factor: float = 2.0) -> str | None:
    """A warning when a measured peak is more than ``factor`` × below the published figure."""
    if not measured or not published or measured <= 0 or measured * factor >= published:
        return None
    return (f"measured {what} {measured:.3g} {unit} is {published / measured:.1f}x below the published "
            f"{published:.3g} {unit}: the probe was disturbed (other load, power saving, a VM's share) "
            f"or the published figure is for another configuration; check before trusting a roofline on it")
