"""The vectorised bootstrap (``analysis/resample.py``) draws exactly the resamples of the Python
definition it replaced, so every interval and verdict is the same, value for value (issue 21
item 10: the report's "which one to deploy" tests took minutes on 1,000 rows)."""
from __future__ import annotations

import random
import statistics

import pytest

from edgeprof.analysis.resample import ratio_of_medians_ci, resample_indices
from edgeprof.analysis.stats import percentile
from edgeprof.compare.paired import bootstrap_ratio_ci


def python_definition(a, b, n_boot=2000, seed=0, level=0.95):
    """The loop ``compare.paired.bootstrap_ratio_ci`` ran before (kept here as the definition)."""
    if len(a) < 2 and len(b) < 2:
        return None
    rng = random.Random(seed)

    def draw(xs):
        return statistics.median([xs[rng.randrange(len(xs))] for _ in xs]) if len(xs) > 1 else xs[0]

    boots = [draw(b) / draw(a) for _ in range(n_boot)]
    lo = (1 - level) / 2
    return percentile(boots, 100 * lo), percentile(boots, 100 * (1 - lo))


@pytest.mark.parametrize("na, nb", [(3, 3), (5, 5), (2, 7), (8, 3), (1, 4), (6, 1), (4, 4), (16, 9), (17, 2), (6, 5)])
@pytest.mark.parametrize("seed", [0, 7])
def test_same_interval_as_the_python_loop(na, nb, seed):
    rng = random.Random(na * 100 + nb + seed)
    a = [rng.uniform(10, 20) for _ in range(na)]
    b = [rng.uniform(9, 25) for _ in range(nb)]
    assert ratio_of_medians_ci(a, b, seed=seed) == python_definition(a, b, seed=seed)
    assert bootstrap_ratio_ci(a, b, seed=seed) == python_definition(a, b, seed=seed)


def test_indices_follow_randrange_across_chunks():
    """Many values per side: the words are drawn in several passes and the chain carries over."""
    sizes = [13, 5]
    got = resample_indices(3, sizes, 50, chunk_words=200)
    rng = random.Random(3)
    for j in range(50):
        for s, n in enumerate(sizes):
            assert got[s][j].tolist() == [rng.randrange(n) for _ in range(n)]


def test_one_value_each_has_no_interval():
    assert ratio_of_medians_ci([1.0], [2.0]) is None


@pytest.mark.parametrize("na, nb", [(2, 2), (3, 3), (4, 4), (5, 3), (1, 6)])
def test_the_deploy_advice_reads_compare_s_verdict(na, nb):
    """``recommend`` skips the bootstrap only where the repetitions alone decide the verdict."""
    from edgeprof.compare import recommend
    from edgeprof.compare.paired import compare_metric

    rng = random.Random(na + 10 * nb)
    a = [rng.uniform(10, 11) for _ in range(na)]
    b = [rng.uniform(14, 15) for _ in range(nb)]
    for name in ("decode_tokens_per_s", "ttft_ms"):
        assert recommend._verdict(a, b, name, 0.2) == compare_metric(a, b, name, 0.2).verdict


def test_the_median_bootstrap_of_many_values_draws_the_loops_resamples():
    """summarize() of thousands of repetitions bootstraps in numpy: the interval is the Python loop's,
    value for value (the loop is the definition)."""
    import random
    import statistics

    from edgeprof.analysis import stats

    draw = random.Random(3)
    xs = [draw.lognormvariate(0, 0.3) for _ in range(stats.VECTOR_FROM + 37)]
    assert len(set(xs)) == len(xs)
    rng, n = random.Random(0), len(xs)
    loop = sorted(statistics.median([xs[rng.randrange(n)] for _ in range(n)]) for _ in range(500))
    want = (stats.percentile(loop, 2.5), stats.percentile(loop, 97.5))
    assert stats.bootstrap_ci(xs, n_boot=500) == pytest.approx(want, rel=0, abs=1e-12)
