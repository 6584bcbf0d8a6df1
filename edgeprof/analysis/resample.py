"""The bootstrap of a ratio of medians, vectorised with numpy but drawing EXACTLY the resamples
the plain-Python definition draws (``random.Random(seed)``, ``randrange`` per value).

Why exact rather than merely equivalent: every interval ``compare``, the server comparison and the
deploy advice ever printed came from the Python definition; a faster one that drew other
resamples would move their last digits and could flip a verdict sitting on a margin. Python's
Mersenne Twister state is handed to numpy's ``MT19937`` (the same generator), so both read the
same stream of 32-bit words; ``randrange(n)`` is ``getrandbits(k) = word >> (32 - k)`` with
``k = n.bit_length()``, redrawn while ``>= n`` (CPython's ``_randbelow_with_getrandbits``).
Which words are accepted is then a filter, and where each resample starts is a short chain of
lookups. tests/trust/test_resample.py checks it against the Python loop, value for value.

Why it matters: ``edgeprof report`` asks "which one to deploy" by testing the best row against
every other row; at 2,000 resamples per test the Python loop cost ~10-50 ms a test, minutes for a
1,000-row report (issue 21 item 10).
"""
from __future__ import annotations

import random
from typing import Sequence

from edgeprof.analysis.percentile import percentile


CHUNK_WORDS = 1 << 18   # words drawn per pass: bounds memory for sides with many samples


def _draws(words, sizes: list[int], n_boot: int):
    """(index arrays n_boot × n for each consuming side in order, words used), or None when
    ``words`` ran out before ``n_boot`` resamples were drawn."""
    import numpy as np

    total, per_boot = len(words), sum(sizes)
    if len(set(sizes)) == 1:  # every draw accepts the same words: the accepted stream, cut in rows
        n = sizes[0]
        cand = words >> np.uint64(32 - n.bit_length())
        pos = np.flatnonzero(cand < n)
        if len(pos) < n_boot * per_boot:
            return None
        rows = cand[pos[:n_boot * per_boot]].astype(np.int64).reshape(n_boot, per_boot)
        return [rows[:, k * n:(k + 1) * n] for k in range(len(sizes))], int(pos[n_boot * per_boot - 1]) + 1
    info, step = [], np.arange(total + 1)
    for n in sizes:
        cand = words >> np.uint64(32 - n.bit_length())
        ok = cand < n
        pos = np.flatnonzero(ok)                                  # accepted word positions, in order
        before = np.concatenate(([0], np.cumsum(ok)))            # accepted words before each position
        rank = before + n - 1                                    # a side starting at word p ends one past
        end = np.full(total + 2, total + 1, dtype=np.int64)      # its n-th accepted word (total + 1: ran out)
        fits = rank < len(pos)
        end[:-1][fits] = pos[rank[fits]] + 1
        info.append((pos, before, cand, step))
        step = end[step]                                         # where this side ends, from each resample start
    chain, p = [0] * (n_boot + 1), 0
    nxt = step.tolist()
    for j in range(n_boot):                                      # a short chain of plain lookups
        p = chain[j + 1] = nxt[p]
        if p > total:
            return None
    first = np.array(chain[:-1], dtype=np.int64)
    out = []
    for n, (pos, before, cand, start_of) in zip(sizes, info):
        out.append(cand[pos[before[start_of[first]][:, None] + np.arange(n)]].astype(np.int64))
    return out, p


def resample_indices(seed: int, sizes: list[int], n_boot: int, chunk_words: int = CHUNK_WORDS) -> list:
    """For each side (in drawing order, each of ``n`` > 1 values), the n_boot × n indices that
    ``[xs[rng.randrange(n)] for _ in xs]`` draws in turn, resample after resample, with
    ``rng = random.Random(seed)``."""
    import numpy as np

    if not sizes:
        return []
    if max(sizes) >= 2 ** 32:   # one 32-bit word per draw holds only below that
        raise ValueError(f"a side of {max(sizes)} values is too many to resample")
    state = random.Random(seed).getstate()[1]
    gen = np.random.MT19937()
    gen.state = {"bit_generator": "MT19937",
                 "state": {"key": np.array(state[:624], dtype=np.uint32), "pos": state[624]}}
    per_boot = sum(sizes)
    chunk = max(1, min(n_boot, chunk_words // (2 * per_boot)))
    buf = np.empty(0, dtype=np.uint64)
    parts: list[list] = [[] for _ in sizes]
    done = 0
    while done < n_boot:
        m = min(chunk, n_boot - done)
        want = 2 * m * per_boot + 64                             # a draw accepts each word with p > 1/2
        if len(buf) < want:
            buf = np.concatenate((buf, gen.random_raw(want - len(buf))))
        got = _draws(buf, sizes, m)
        if got is None:                                          # an unlucky stretch: draw more words
            buf = np.concatenate((buf, gen.random_raw(len(buf))))
            continue
        drawn, used = got
        for part, d in zip(parts, drawn):
            part.append(d)
        buf, done = buf[used:], done + m
    return [np.concatenate(p) for p in parts]


def ratio_of_medians_ci(a: Sequence[float], b: Sequence[float], n_boot: int = 2000, seed: int = 0,
                        level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of median(b)/median(a), each side resampled independently
    (b first, then a, in each resample); a side with one value is held fixed."""
    import numpy as np

    if len(a) < 2 and len(b) < 2:
        return None
    xb, xa = np.asarray(b, dtype=float), np.asarray(a, dtype=float)
    sides = [x for x in (xb, xa) if len(x) > 1]                 # the order the loop draws them
    drawn = iter(resample_indices(seed, [len(x) for x in sides], n_boot))
    mb, ma = (np.median(x[next(drawn)], axis=1) if len(x) > 1 else np.full(n_boot, x[0]) for x in (xb, xa))
    with np.errstate(divide="ignore", invalid="ignore"):
        boots = (mb / ma).tolist()
    lo = (1 - level) / 2
    return percentile(boots, 100 * lo), percentile(boots, 100 * (1 - lo))
