"""Inter-token latency over every decoded token, and the per-token timeline (CONTRACTS ``itl_ms``).

Why a distribution and not one median per repetition: a user who streams tokens feels the slow
ones (a page-cache miss, another process taking the core, a KV-cache reallocation), and a median
hides them. ``itl_ms`` therefore pools every decoded token of every measured repetition: its
value/median is p50, with p90 and p99 (from ``stats.P99_MIN_N`` tokens on) over all tokens.

Its 95 % interval is a *cluster* bootstrap over repetitions (resample whole repetitions, pool,
take the median): tokens of one repetition are not independent (they share the machine's state),
so treating 640 tokens of 5 repetitions as 640 independent values would give an interval far too
narrow. ``samples`` stays empty — the tokens are in the timeline file, not in records.jsonl.

The timeline (``token_rows``) places each token on the worker's monotonic clock, which is the
sampler's clock (``time.monotonic_ns`` is system-wide), so it lines up with samples/<case_id>.csv.
"""
from __future__ import annotations

import random
import statistics
from typing import Iterator, Sequence

from edgeprof.analysis.stats import P99_MIN_N, cv, percentile
from edgeprof.results.schema import Metric, Provenance, Repetition, Workload

#: Columns of ``samples/<case_id>.tokens.csv``.
TOKEN_COLUMNS = ("t_ns", "rep", "index", "itl_ms", "context_tokens")


def _per_rep_ms(reps: Sequence[Repetition]) -> list[list[float]]:
    return [[t / 1e6 for t in r.token_ns] for r in reps if r.token_ns]


def cluster_ci(groups: Sequence[Sequence[float]], n_boot: int = 1000, seed: int = 0,
               level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the pooled median, resampling whole groups (repetitions);
    None for fewer than 2 groups. Seeded: the same tokens always give the same interval."""
    if len(groups) < 2:
        return None
    rng = random.Random(seed)
    k = len(groups)
    meds = []
    for _ in range(n_boot):
        pooled: list[float] = []
        for _ in range(k):
            pooled.extend(groups[rng.randrange(k)])
        meds.append(statistics.median(pooled))
    a = (1 - level) / 2
    return percentile(meds, 100 * a), percentile(meds, 100 * (1 - a))


#: the quantiles ``itl_ms`` records and every view draws
ITL_QUANTILES = (50, 90, 99)


def itl_quantiles(values: Sequence[float]) -> dict[int, float | None]:
    """p50/p90/p99 of pooled inter-token latencies: ONE computation for the record and the report
    (``stats.percentile``, linear interpolation; the report drew nearest-rank values before, so its
    figure said p90 35.11 / p99 41.89 ms where the record said 34.901 / 42.363). p99 only from
    ``P99_MIN_N`` values on (below that it is the maximum), None otherwise."""
    if not values:
        return {q: None for q in ITL_QUANTILES}
    return {q: (percentile(values, q) if q != 99 or len(values) >= P99_MIN_N else None) for q in ITL_QUANTILES}


def itl_metric(reps: Sequence[Repetition], provenance: Provenance) -> Metric | None:
    """``itl_ms`` over every decoded token of ``reps`` (None when no token was decoded)."""
    groups = _per_rep_ms(reps)
    pooled = [x for g in groups for x in g]
    if not pooled:
        return None
    qs = itl_quantiles(pooled)
    med = qs[50]
    ci = cluster_ci(groups)
    note = (f"every decoded token of {len(groups)} repetition(s) ({len(pooled)} tokens); interval: "
            f"bootstrap over repetitions; per-token timeline in samples/<case_id>.tokens.csv")
    return Metric(value=med, unit="ms", provenance=provenance.noted(note), n=len(pooled), median=med,
                  p90=qs[90], p99=qs[99],
                  cv=cv(pooled), ci95=ci, samples=(), extra={"n_reps": len(groups)})


def token_rows(reps: Sequence[Repetition], workload: Workload) -> Iterator[tuple]:
    """One row per decoded token: (t_ns, rep, index, itl_ms, context_tokens) — ``t_ns`` first, as in
    every samples file.

    ``index`` counts decoded tokens from 0 within a repetition; ``t_ns`` is when the token was
    ready (decode start + the latencies so far: exact, the worker measured the deltas);
    ``context_tokens`` is the KV depth the decode step saw (depth + prompt + tokens before it),
    for plots of decode speed against context depth."""
    base = (workload.depth or 0) + (workload.prompt_tokens or 0)
    for r in reps:
        if not r.decode or not r.token_ns:
            continue
        t = r.decode[0]
        first_ctx = base + (1 if r.prefill else 0)  # the prefill's token is in the cache already
        for i, dt in enumerate(r.token_ns):
            t += dt
            yield (t, r.rep, i, round(dt / 1e6, 6), first_ctx + i)
