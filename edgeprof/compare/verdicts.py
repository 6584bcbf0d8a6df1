"""Verdicts the statistics can support (issue 13, item 6).

A verdict reads the 95 % bootstrap interval of B/A (oriented so > 1 means B better), the
Mann–Whitney p-value, and the metric's OWN equivalence margin m:

- ``not measurable here``: a metric that is a difference of two figures (``energy_net_j``) is at or
  below its own uncertainty on either side, or its idle baseline was not idle: no ratio is shown
  (the ratio of two near-zero numbers is noise: 2.7e-13 "better" was the bug);
- ``inconclusive: too few repetitions``: with n_A and n_B repetitions the smallest p-value the
  rank test can reach is 2 / C(n_A + n_B, n_A) (0.33 for 2 vs 2; against one published figure the
  sign test's 2 · 0.5^n); when that is ≥ 0.05 no outcome could be significant, nothing is claimed;
- p ≥ 0.05 (nothing detected): ``no detectable difference`` when the whole interval lies inside
  ±m, else ``inconclusive`` (the interval still allows a difference larger than m);
- p < 0.05 (a difference is detected): B ``faster``/``better (lower)``/``higher`` when the whole
  interval lies beyond 1 + m, ``slower``/``worse (higher)``/``lower`` beyond 1 − m,
  ``equivalent within ±m %`` when the whole interval lies inside ±m (real, but smaller than the
  margin: e.g. RSS 1.091× at p = 0.008 with a ±47 % margin), else ``inconclusive``.

The margin is per metric: measured run-to-run drift of THAT metric in the history
(``history.drift_margins``), else the catalogue's stated default for its kind (memory 2 %, speed
and energy 20 %), or ``--margin`` for every metric when the user gives one.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

from edgeprof.results import metric_catalogue
from edgeprof.results.schema import Record

ALPHA = 0.05
NOT_MEASURABLE = "not measurable here"
TOO_FEW = "inconclusive: too few repetitions"
BUSY = "held back: measured on a busy machine"
MIXED = "not comparable: an estimate against a measurement"

LEGEND = (
    "faster/slower, better/worse, higher/lower: a difference is detected (p < 0.05) and the whole 95 % interval "
    "of B/A lies beyond the metric's margin",
    "equivalent within ±m %: a difference is detected (p < 0.05) but the whole interval lies inside the margin",
    "no detectable difference: p >= 0.05 and the whole interval lies inside the margin",
    "inconclusive: the interval crosses the margin; 'too few repetitions': with so few repetitions no outcome "
    "could reach p < 0.05",
    "not measurable here: a net figure at or below its own uncertainty (or an idle baseline that was not idle)",
    "held back: measured on a busy machine: a side was measured while other processes used the cores, so a "
    "difference in speed or energy may be theirs — no verdict either way, not even 'no detectable difference' "
    "(memory verdicts stand)",
    "not comparable: one side's figure is an estimate (~, e.g. CPU power from TDP x busy) and the other's a "
    "measurement; ~ marks an estimated median, and a verdict between two estimates judges the model's inputs",
)


def min_p(n_a: int, n_b: int) -> float:
    """The smallest two-sided p-value the test can give for n_a vs n_b values: the exact rank test,
    or, when one side is a single figure (a published reference), the sign test of the other
    side's values against it (``sign_p``)."""
    if n_a < 1 or n_b < 1 or (n_a == 1 and n_b == 1):
        return 1.0
    if min(n_a, n_b) == 1:
        return min(1.0, 2 * 0.5 ** max(n_a, n_b))
    return min(1.0, 2 / math.comb(n_a + n_b, n_a))


def sign_p(values: Sequence[float], point: float) -> float | None:
    """Two-sided exact sign test of ``values`` against one figure (ties dropped); None without values."""
    above = sum(1 for v in values if v > point)
    below = sum(1 for v in values if v < point)
    n = above + below
    if n == 0:
        return None if not values else 1.0
    k = min(above, below)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n)


def verdict(ratio_ci: tuple[float, float] | None, metric: str, margin: float, p_value: float | None = None,
            n_a: int | None = None, n_b: int | None = None) -> str:
    """See the module docstring. Without a p-value nothing is detected (p is taken as ≥ 0.05)."""
    if n_a is not None and n_b is not None and min_p(n_a, n_b) >= ALPHA:
        return f"{TOO_FEW} ({n_a} vs {n_b}: the smallest possible p is {min_p(n_a, n_b):.2g})"
    if ratio_ci is None:
        return TOO_FEW
    lo, hi = ratio_ci
    d = metric_catalogue.get(metric)
    if d is not None and d.better == "lower":
        lo, hi = 1 / hi, 1 / lo  # orient: > 1 means B better
    up, down = d.words if d is not None and d.better else ("higher", "lower")
    inside = lo >= 1 - margin and hi <= 1 + margin
    if p_value is None or p_value >= ALPHA:
        return "no detectable difference" if inside else "inconclusive"
    if lo > 1 + margin:
        return up
    if hi < 1 - margin:
        return down
    if inside:
        return f"equivalent within ±{100 * margin:.0f} %"
    return f"inconclusive: a difference is detected but its interval crosses ±{100 * margin:.0f} %"


def busy(rec_a: Record, rec_b: Record) -> str | None:
    """Why a speed/energy difference between these two rows may be the machine, not the
    configuration: either was measured on contended cores (engine/contention.py ``load``)."""
    who = []
    for side, r in (("A", rec_a), ("B", rec_b)):
        load = r.conditions.load
        if load is not None and load.during_status == "contended":
            others = load.during.other_cpu_cores if load.during else None
            who.append(f"{side} while others used {float('nan') if others is None else others:.2f} cores")
    return ", ".join(who) if who else None


def held_back(verdict_text: str, metric: str, why_busy: str | None) -> str:
    """A verdict withheld when the machine was busy: CPU contention moves speed, energy and busy
    fractions (not memory), so a difference there — or the absence of one — may be the other
    tenants'. Held back means no verdict at all (issue 20: "held back" above "no detectable
    difference" rows contradicted itself)."""
    d = metric_catalogue.get(metric)
    if not why_busy or (d is not None and d.drift == "memory"):
        return verdict_text
    if verdict_text == NOT_MEASURABLE or verdict_text.startswith(TOO_FEW):  # no claim was made to hold back
        return verdict_text
    return BUSY  # "no detectable difference" is a claim too: held back means none


def estimated_sides(rec_a: Record, rec_b: Record, metric: str) -> str:
    """Which sides' figure of ``metric`` is an estimate: "", "A", "B" or "A, B"."""
    return ", ".join(side for side, r in (("A", rec_a), ("B", rec_b))
                     if r.metric(metric) is not None and r.metric(metric).provenance.estimated)


def uncertainty(rec: Record, name: str) -> float | None:
    """A figure's own uncertainty: the larger of half its 95 % interval and the sensor-based
    ``uncertainty`` its metric carries (issue 13, item 9), when either is known."""
    m = rec.metric(name)
    if m is None:
        return None
    known = [u for u in (m.half_ci, m.extra.get("uncertainty")) if isinstance(u, (int, float))]
    return max(known) if known else None


def not_measurable(rec: Record, name: str) -> str | None:
    """Why a near-zero figure of this record cannot be compared as a ratio (None: it can)."""
    d = metric_catalogue.get(name)
    m = rec.metric(name)
    if d is None or not d.near_zero or m is None:
        return None
    load = rec.conditions.load
    if load is not None and load.before_status == "contended":
        return "its idle baseline was taken on a busy machine"
    xs = list(m.samples) or [m.center]
    if any(x is None or x <= 0 for x in xs):
        return f"a repetition's value is <= 0 ({min(x for x in xs if x is not None):.3g})"
    u = uncertainty(rec, name)
    if u is not None and abs(m.center) <= u:
        return f"{m.center:.3g} is within its own uncertainty (+-{u:.3g})"
    return None


def margins(metrics: Sequence[str], given: float | None = None, db_path: str | Path | None = None,
            host: str | None = None) -> dict[str, tuple[float, str]]:
    """(margin, basis) per metric: ``given`` for all, else measured drift, else the stated default."""
    if given is not None:
        return {m: (given, "given (--margin), for every metric") for m in metrics}
    defs = {m: metric_catalogue.get(m) for m in metrics}
    stated = {m: (d.margin if d else metric_catalogue.MARGINS["speed"]) for m, d in defs.items()}
    try:
        import sqlite3

        from edgeprof.results.history import RunError, drift_margins

        measured = drift_margins(db_path, host, tuple(metrics), floors={m: min(0.05, v[0]) for m, v in stated.items()})
    except (OSError, ValueError, RunError, sqlite3.Error):
        measured = {}
    out = {}
    for m in metrics:
        if m in measured:
            out[m] = measured[m]
        else:
            margin, basis = stated[m]
            out[m] = (margin, basis + "; too few repeated runs in the history to measure this metric's drift")
    return out
