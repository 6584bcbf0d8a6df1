"""Latency model fitted on a sweep: predict TTFT, TPOT and end-to-end time for a workload not run.

- TTFT = a + b·prompt (+ c·prompt² only when a nested-model F-test gives p < 0.05 and the sweep has
  ≥ 4 distinct prompt lengths: attention's quadratic term), fitted by least squares over the
  repetition-level ``ttft_ms`` samples of every ``ok`` record with prompt_tokens > 0.
- TPOT = d + e·context, where context = the mean KV depth during decode = depth + prompt_tokens +
  gen_tokens/2 (the "depth" a decode step sees), over ``tpot_ms`` samples (per-repetition medians).
  With one distinct context the model is a constant (stated in ``note``).
- e2e ≈ TTFT + (gen − 1)·TPOT (the first token comes from prefill); with prompt 0 (decode-only),
  e2e ≈ gen·TPOT. Intervals are OLS prediction intervals (Student t) for one new repetition;
  the e2e interval adds the two variances, TPOT's error counted once per token (fully correlated
  within a repetition: conservative), lower bounds clamped at 0 ms.
- A request outside the fitted range is ``extrapolated`` and its interval is WIDENED: the OLS
  interval assumes the straight line holds everywhere, which nobody measured (prefill cost grows
  with attention's quadratic term, decode with KV reads); the standard error is multiplied by the
  extrapolation ratio k = x / x_max (or x_min / x), so predicting 1024 tokens from a sweep up to 256
  gives an interval 4× as wide; where the sweep has ≥ 3 distinct prompt lengths, the disagreement
  between the linear and the quadratic fit at x is added on both sides (a sweep cannot tell which
  one holds out there). Heuristics, stated in the output, not a model of the curvature.
- A fit needs two distinct values of the axis it predicts along: from one prompt length (or one
  decode context) there is no slope, and a "prediction" elsewhere would be that one measurement
  (``predict --prompt 1024`` from 32-token runs printed 355 ms where prefill speed implies 6–11 s).
  Such a request is refused with the sweep that would answer it; at the measured value itself the
  constant model is the measurement.
Each figure carries provenance kind ``estimated`` (a model, not a measurement).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from edgeprof.results.schema import Record, Workload


class FitError(Exception):
    """Not enough data to fit (one-line message)."""


def _betacf(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > 1e-300 else 1e-300)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > 1e-300 else 1e-300)
            c = 1.0 + aa / c
            c = c if abs(c) > 1e-300 else 1e-300
            h *= d * c
        if abs(d * c - 1.0) < 1e-12:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    lbt = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(lbt) * _betacf(a, b, x) / a
    return 1.0 - math.exp(lbt) * _betacf(b, a, 1 - x) / b


def f_sf(f: float, d1: int, d2: int) -> float:
    """P(F > f) for an F(d1, d2) variable."""
    return betainc(d2 / 2, d1 / 2, d2 / (d2 + d1 * f)) if f > 0 else 1.0


def t_ppf(q: float, dof: int) -> float:
    """Quantile of Student's t (q > 0.5), by bisection on the two-tailed tail probability."""
    target = 2 * (1 - q)
    lo, hi = 0.0, 1e3
    for _ in range(200):
        mid = (lo + hi) / 2
        if betainc(dof / 2, 0.5, dof / (dof + mid * mid)) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def widening(x: float, x_range: tuple[float, float]) -> float:
    """How far outside the fitted range ``x`` is, as a ratio (1.0 inside): the factor applied to
    the prediction interval's standard error."""
    lo, hi = x_range
    if x > hi > 0:
        return x / hi
    if 0 < x < lo:
        return lo / x
    if x <= 0 < lo:
        return float("inf")
    return 1.0


@dataclass
class Fit:
    target: str
    terms: list[str]
    coef: list[float]
    r2: float | None
    rmse: float
    n: int
    dof: int
    x_range: tuple[float, float]
    xtx_inv: list[list[float]] = field(repr=False)
    note: str = ""
    alt_coef: list[float] | None = field(default=None, repr=False)  # the rival model (linear <-> quadratic)

    def _row(self, x: float) -> list[float]:
        return [x ** i for i in range(len(self.coef))]

    def predict(self, x: float, level: float = 0.95, axis: str = "x", hint: str = "") -> dict[str, Any]:
        lo_x, hi_x = self.x_range
        if lo_x == hi_x and x != lo_x:
            raise FitError(f"{self.target}: the runs measured one {axis} ({lo_x:g}), so there is no slope to predict "
                           f"{x:g} from; sweep at least two distinct values{' (' + hint + ')' if hint else ''}")
        row = self._row(x)
        y = sum(c * r for c, r in zip(self.coef, row))
        lev = sum(row[i] * self.xtx_inv[i][j] * row[j] for i in range(len(row)) for j in range(len(row)))
        se = self.rmse * math.sqrt(1 + lev)
        k = widening(x, self.x_range)
        se *= k
        t = t_ppf(0.5 + level / 2, max(1, self.dof))
        spread = 0.0  # outside the range, the rival model's disagreement is part of what is unknown
        if k > 1.0 and self.alt_coef:
            spread = abs(sum(c * x ** i for i, c in enumerate(self.alt_coef)) - y)
        half = t * se + spread
        return {"value": y, "lo": max(0.0, y - half), "hi": y + half, "se": se, "t": t,  # latencies ≥ 0
                "extrapolated": k > 1.0, "widened_x": round(k, 3), "model_spread": spread}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("xtx_inv")
        d.pop("alt_coef")
        d["equation"] = f"{self.target} = " + " + ".join(
            f"{c:.6g}" + ("" if i == 0 else ("·x" if i == 1 else f"·x^{i}")) for i, c in enumerate(self.coef))
        return d


def fit_poly(xs: Sequence[float], ys: Sequence[float], degree: int, target: str) -> Fit:
    import numpy as np

    x, y = np.asarray(xs, float), np.asarray(ys, float)
    X = np.vander(x, degree + 1, increasing=True)
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    dof = len(y) - (degree + 1)
    if dof < 1:
        raise FitError(f"{target}: {len(y)} samples cannot fit {degree + 1} coefficients")
    sst = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - float((resid ** 2).sum()) / sst if sst > 0 else None
    return Fit(target, ["1", "x", "x^2"][: degree + 1], [float(c) for c in coef], r2,
               math.sqrt(float((resid ** 2).sum()) / dof), len(y), dof, (float(x.min()), float(x.max())),
               np.linalg.pinv(X.T @ X).tolist())


def fit_series(xs: Sequence[float], ys: Sequence[float], target: str, allow_quadratic: bool) -> Fit:
    distinct = len(set(xs))
    if distinct < 2:
        f = fit_poly(xs, ys, 0, target)
        f.note = "one distinct x in the sweep: constant model, no slope"
        return f
    lin = fit_poly(xs, ys, 1, target)
    if not allow_quadratic or distinct < 3 or len(ys) < 4:
        return lin
    quad = fit_poly(xs, ys, 2, target)
    lin.alt_coef, quad.alt_coef = quad.coef, lin.coef  # their disagreement widens extrapolations
    if distinct >= 4:
        rss1, rss2 = lin.rmse ** 2 * lin.dof, quad.rmse ** 2 * quad.dof
        fstat = (rss1 - rss2) / (rss2 / quad.dof) if rss2 > 0 else float("inf")
        p = f_sf(fstat, 1, quad.dof) if math.isfinite(fstat) else 0.0
        if p < 0.05:
            quad.note = f"quadratic term kept: F-test vs linear F={fstat:.3g}, p={p:.3g}"
            return quad
        lin.note = f"quadratic term rejected: F-test p={p:.3g} ≥ 0.05"
    return lin


def _points(records: Sequence[Record], metric: str, x_of) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for r in records:
        m = r.metric(metric)
        x = x_of(r.workload)
        if not r.ok or x is None or m is None:
            continue
        samples = m.samples or ((m.median,) if m.median is not None else ())
        for s in samples:
            if s is not None:
                xs.append(float(x))
                ys.append(float(s))
    return xs, ys


def _ctx(w: Workload) -> float | None:
    if not w.gen_tokens:
        return None
    return float(w.depth or 0) + float(w.prompt_tokens or 0) + float(w.gen_tokens) / 2


@dataclass
class LatencyModel:
    ttft: Fit | None
    tpot: Fit | None
    n_records: int

    def predict(self, prompt: int, gen: int, depth: int = 0, level: float = 0.95) -> dict[str, Any]:
        if prompt < 0 or gen < 0 or depth < 0:
            raise FitError("prompt, gen and depth must be ≥ 0")
        out: dict[str, Any] = {"workload": {"prompt_tokens": prompt, "gen_tokens": gen, "depth": depth},
                               "level": level, "notes": []}
        prov = {"kind": "estimated", "source": "edgeprof latency_model (least squares over a sweep)"}
        tt = tp = None
        if prompt > 0:
            if self.ttft is None:
                raise FitError("the runs hold no ttft_ms samples with prompt_tokens > 0")
            tt = self.ttft.predict(prompt, level, "prompt length", f"e.g. -p {self.ttft.x_range[0]:g},{prompt}")
            out["ttft_ms"] = {**tt, "unit": "ms", "provenance": {**prov, "note": self.ttft.to_dict()["equation"]}}
        if gen > 0:
            if self.tpot is None:
                raise FitError("the runs hold no tpot_ms samples")
            tp = self.tpot.predict(depth + prompt + gen / 2, level, "decode context (depth + prompt + gen/2)",
                                   "vary -p, -n or --depth")
            out["tpot_ms"] = {**tp, "unit": "ms",
                              "provenance": {**prov, "note": self.tpot.to_dict()["equation"]
                                             + " (x = mean decode context)"}}
        steps = (gen - 1) if tt else gen
        val = (tt["value"] if tt else 0.0) + (steps * tp["value"] if tp else 0.0)
        var = (tt["se"] ** 2 if tt else 0.0) + ((steps * tp["se"]) ** 2 if tp else 0.0)
        dofs = [f.dof for f, used in ((self.ttft, tt), (self.tpot, tp)) if f and used]
        t = t_ppf(0.5 + level / 2, max(1, min(dofs))) if dofs else 0.0
        half = t * math.sqrt(var)
        out["e2e_ms"] = {"value": val, "lo": max(0.0, val - half), "hi": val + half, "unit": "ms",
                         "extrapolated": bool((tt and tt["extrapolated"]) or (tp and tp["extrapolated"])),
                         "provenance": {**prov, "note": "TTFT + (gen-1)·TPOT" if tt else "gen·TPOT"}}
        for name, f in (("TTFT", tt), ("TPOT", tp)):
            if f and f["extrapolated"]:
                spread = f" plus {f['model_spread']:.3g} ms of linear-vs-quadratic disagreement" if f["model_spread"] else ""
                out["notes"].append(f"{name}: outside the fitted range ({f['widened_x']:.3g}x beyond it): interval "
                                    f"widened {f['widened_x']:.3g}-fold{spread}; still an extrapolation")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"n_records": self.n_records, "ttft": self.ttft.to_dict() if self.ttft else None,
                "tpot": self.tpot.to_dict() if self.tpot else None}


def fit(records: Sequence[Record]) -> LatencyModel:
    """Fit both parts from the records of one or more runs (one configuration: mixing artifacts is the
    caller's choice; ``edgeprof predict`` refuses runs with more than one artifact/placement)."""
    tx, ty = _points(records, "ttft_ms", lambda w: w.prompt_tokens or None)
    dx, dy = _points(records, "tpot_ms", _ctx)
    if len(ty) < 2 and len(dy) < 2:
        raise FitError("need ttft_ms or tpot_ms samples from at least 2 repetitions to fit")
    ttft = fit_series(tx, ty, "ttft_ms", allow_quadratic=True) if len(ty) >= 2 else None
    tpot = fit_series(dx, dy, "tpot_ms", allow_quadratic=False) if len(dy) >= 2 else None
    if ttft:
        ttft.note = "x = prompt tokens" + (f"; {ttft.note}" if ttft.note else "")
    if tpot:
        tpot.note = "x = mean decode context (depth + prompt + gen/2)" + (f"; {tpot.note}" if tpot.note else "")
    return LatencyModel(ttft, tpot, len(records))
