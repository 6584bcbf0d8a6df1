"""The two-term cost model behind ``edgeprof predict --device``: seconds per token = a + k·x.

Decode: ``x`` = bytes read per token, ``k`` = 1 / achieved bandwidth, ``a`` = the per-token host
floor (kernel launches, sampling, the Python/C++ loop: what keeps a 100 MB model from running at
bandwidth ÷ 100 MB). Prefill: ``x`` = FLOP per prompt token (2 × parameters), ``k`` = 1 / achieved
FLOP/s, ``a`` = a per-token overhead. One fit per device class.

Why this fitting method: a device class usually has rows at one to three model sizes, so two free
parameters are often not identified by the class alone. The fit is a ridge regression on
*relative* errors (a row 20 % off counts the same at 10 t/s and at 300 t/s) with Gaussian priors
on ``a`` and ``k`` (from the device's family, ``whatif.py``): closed-form, so the posterior
covariance gives the parameter part of the interval, and the prior decides only what the rows
cannot. Rows far off the line (a model spilled out of VRAM, a mis-labelled submission) are
down-weighted by Huber weights, never silently dropped; the residual spread ``sigma`` is shrunk
towards the family's (``nu0`` pseudo-rows) so a class with two rows does not get a 1 % interval.
Pure Python: predicting must not import numpy.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence


HUBER_C = 1.5
PRIOR_ROWS = 2.0  # pseudo-rows of the family's residual spread in each class's sigma


@dataclass(frozen=True)
class Prior:
    """Gaussian priors on the host floor ``a_s`` and the slope ``k`` (per unit of x), and the
    family's relative residual spread ``sigma`` (what a class with few rows borrows)."""
    a_s: float
    a_sd: float
    k: float
    k_sd: float
    sigma: float


@dataclass(frozen=True)
class TwoTermFit:
    a_s: float
    k: float
    cov: tuple[tuple[float, float], tuple[float, float]]
    sigma: float          # relative residual SD (shrunk towards the prior's)
    dof: int
    n: int
    x_range: tuple[float, float]
    weights: tuple[float, ...]  # Huber weight of each row (1 = fully counted)

    def value(self, x: float) -> float:
        return self.a_s + self.k * x

    def rel_sd(self, x: float) -> float:
        """Predictive SD of one new row at ``x``, relative to the prediction."""
        y = self.value(x)
        (caa, cak), (_, ckk) = self.cov
        var = caa + 2 * x * cak + x * x * ckk
        return math.sqrt(self.sigma ** 2 + max(var, 0.0) / (y * y))

    def interval(self, x: float, level: float) -> tuple[float, float, float]:
        """(lo, value, hi) of one new row's seconds per token at ``x``, a lognormal-shaped band.
        Normal, not Student, quantiles: the residual spread already borrows the family's
        (``PRIOR_ROWS``), and the hold-out (a class's rows at one model size predicted from its
        other sizes) covered 90 % inside a Student-t 80 % band but 85 % inside the normal one."""
        y = self.value(x)
        half = z_of(level) * self.rel_sd(x)
        return y * math.exp(-half), y, y * math.exp(half)


def _solve(xs, ys, w, prior: Prior, sigma: float, fix_a: float | None, fix_k: float | None):
    """Weighted ridge with weights ``w`` on relative errors; returns (a, k, cov)."""
    s2 = sigma * sigma
    pa, pk = 1.0 / prior.a_sd ** 2, 1.0 / prior.k_sd ** 2
    saa = sak = skk = ba = bk = 0.0
    for x, y, wi in zip(xs, ys, w):
        c = wi / (y * y) / s2
        saa += c
        sak += c * x
        skk += c * x * x
        ba += c * y
        bk += c * x * y
    if fix_a is not None:  # one-parameter refit of k with a held
        A = skk + pk
        k = (bk - fix_a * sak + prior.k * pk) / A
        return fix_a, k, ((0.0, 0.0), (0.0, 1.0 / A))
    if fix_k is not None:
        A = saa + pa
        a = (ba - fix_k * sak + prior.a_s * pa) / A
        return a, fix_k, ((1.0 / A, 0.0), (0.0, 0.0))
    m00, m01, m11 = saa + pa, sak, skk + pk
    det = m00 * m11 - m01 * m01
    r0, r1 = ba + prior.a_s * pa, bk + prior.k * pk
    a = (m11 * r0 - m01 * r1) / det
    k = (m00 * r1 - m01 * r0) / det
    return a, k, ((m11 / det, -m01 / det), (-m01 / det, m00 / det))


def _scale(res: Sequence[float]) -> float:
    """Spread of log residuals: the MAD (× 1.4826) from three rows on, so that a row 10× off (a
    run that fell back to the CPU) is down-weighted instead of widening every interval; the RMS below."""
    if len(res) >= 3:
        m = sorted(res)[len(res) // 2]
        return 1.4826 * sorted(abs(r - m) for r in res)[len(res) // 2]
    return math.sqrt(sum(r * r for r in res) / len(res))


def fit(xs: Sequence[float], ys: Sequence[float], prior: Prior, iterations: int = 12) -> TwoTermFit:
    """Fit seconds per token ``ys`` against ``xs`` (one device class) under ``prior``.

    Huber IRLS on relative residuals; a negative host floor is refitted with the floor at 0 and a
    negative slope with the slope at the prior's (a bigger model cannot be faster per byte)."""
    if not xs or len(xs) != len(ys) or any(y <= 0 for y in ys):
        raise ValueError("fit needs positive seconds per token, one per x")
    n = len(xs)
    w = [1.0] * n
    sigma = prior.sigma
    a = k = 0.0
    cov = ((0.0, 0.0), (0.0, 0.0))
    for _ in range(iterations):
        a, k, cov = _solve(xs, ys, w, prior, sigma, None, None)
        if a < 0:
            a, k, cov = _solve(xs, ys, w, prior, sigma, 0.0, None)
        if k <= 0:
            a, k, cov = _solve(xs, ys, w, prior, sigma, None, prior.k)
        if a + k * min(xs) <= 0:
            a, k = max(a, 0.0), max(k, prior.k)
        rel = [math.log(y / (a + k * x)) for x, y in zip(xs, ys)]
        sigma = math.sqrt((n * _scale(rel) ** 2 + PRIOR_ROWS * prior.sigma ** 2) / (n + PRIOR_ROWS))
        new_w = [1.0 if abs(r) <= HUBER_C * sigma else HUBER_C * sigma / abs(r) for r in rel]
        if max(abs(p - q) for p, q in zip(new_w, w)) < 1e-6:
            w = new_w
            break
        w = new_w
    dof = max(1, int(round(sum(w) + PRIOR_ROWS)) - 2)
    return TwoTermFit(a, k, cov, sigma, dof, n, (min(xs), max(xs)), tuple(w))


def z_of(level: float) -> float:
    """Two-sided normal quantile for ``level`` (0.8 -> 1.2816), by bisection on erf."""
    lo, hi = 0.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if math.erf(mid / math.sqrt(2)) < level:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
