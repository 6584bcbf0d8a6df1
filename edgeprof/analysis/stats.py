"""Statistics over repetition-level samples (optimum-benchmark's rule: keep the raw values,
derive everything; percentiles are never averaged).

Pure Python + the standard library so metrics stay importable without numpy.
"""
from __future__ import annotations

import math
import random
import statistics
from typing import Iterable, Sequence

from edgeprof.analysis.percentile import percentile  # noqa: F401  (one percentile path: re-exported)
from edgeprof.results.schema import Metric, Provenance


def cv(values: Sequence[float]) -> float | None:
    """Coefficient of variation (sample stdev / mean); None for fewer than 2 values or mean 0."""
    if len(values) < 2:
        return None
    m = statistics.fmean(values)
    return statistics.stdev(values) / abs(m) if m else None


#: from this many values the median's bootstrap draws its resamples in numpy (analysis/resample.py:
#: exactly the resamples the Python loop draws); below it the loop is as fast
VECTOR_FROM = 64


def bootstrap_ci(values: Sequence[float], stat=statistics.median, level: float = 0.95,
                 n_boot: int = 2000, seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap interval of ``stat``; None for fewer than 2 values. Seeded: the same
    samples always give the same interval."""
    xs = list(values)
    if len(xs) < 2:
        return None
    n = len(xs)
    if stat is statistics.median and n >= VECTOR_FROM:  # thousands of repetitions: the same draws, in numpy
        import numpy as np

        from edgeprof.analysis.resample import resample_indices

        (idx,) = resample_indices(seed, [n], n_boot)
        boots = sorted(np.median(np.asarray(xs, dtype=float)[idx], axis=1).tolist())
    else:
        rng = random.Random(seed)
        boots = sorted(stat([xs[rng.randrange(n)] for _ in range(n)]) for _ in range(n_boot))
    a = (1 - level) / 2
    return (percentile(boots, 100 * a), percentile(boots, 100 * (1 - a)))


#: p99 is reported only from this many values on (below it, the 99th percentile is the maximum).
P99_MIN_N = 20


def summarize(samples: Iterable[float]) -> dict:
    """The statistics fields of a CONTRACTS.md metric: value (= median), n, median, p90, p99 (from
    ``P99_MIN_N`` values), cv, ci95, samples. Non-finite values are dropped, never averaged in."""
    xs = [float(x) for x in samples if x is not None and math.isfinite(float(x))]
    if not xs:
        raise ValueError("no samples to summarize")
    med = statistics.median(xs)
    ci = bootstrap_ci(xs)
    return {"value": med, "n": len(xs), "median": med, "p90": percentile(xs, 90),
            "p99": percentile(xs, 99) if len(xs) >= P99_MIN_N else None, "cv": cv(xs),
            "ci95": list(ci) if ci else None, "samples": xs}


def metric(samples: Iterable[float], unit: str, provenance: Provenance, value: float | None = None) -> Metric:
    """A Metric from repetition-level samples (median, p90, p99, CV, bootstrap CI95)."""
    s = summarize(samples)
    return Metric(value=s["value"] if value is None else value, unit=unit, provenance=provenance, n=s["n"],
                  median=s["median"], p90=s["p90"], cv=s["cv"], ci95=tuple(s["ci95"]) if s["ci95"] else None,
                  samples=tuple(s["samples"]), p99=s.get("p99"))
