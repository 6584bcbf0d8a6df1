"""The statistics of ``edgeprof compare``, applied to every edge ÷ server ratio.

Why: a run made into a reference set and the same configuration benched again read "decode 1.4×
[1.08–1.69]" — an interval that excluded 1 and read as "40 % faster" — while ``compare`` of the
same two runs said "inconclusive: too few repetitions". The server ratios had no margin, no
verdict and no run-to-run drift. Here each ratio goes through compare's own code
(``paired.compare_metric``: bootstrap interval of the ratio of medians, Mann–Whitney or sign-test
p-value, ``verdicts.verdict``), oriented edge = B, server = A, so "faster" means the edge is faster.

Two additions, both conservative:

- **drift in the interval.** The shown ``ci95`` is the bootstrap interval widened (in log space,
  in quadrature) by the run-to-run drift of that metric: measured in the history where it can be
  (``history.drift_margins``), else the metric's stated margin (a drift of that size is what the
  stated margin describes). A faster/slower verdict needs that widened interval wholly beyond the
  margin; equivalence ("no detectable difference", "equivalent within ±m %") is judged as compare
  judges it, on the repetitions' interval.
- **no verdict where the two figures are unlike**: another model (normalized), an estimated figure
  on either side, an energy scope mismatch. The ratio is shown; ``verdict_why`` says why no verdict.

The margin is compare's: the metric's stated equivalence margin, or its measured drift when that is
larger (a difference inside the machine's own drift is not a difference).
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from edgeprof.compare.paired import compare_metric
from edgeprof.compare.paired_types import PairedRow
from edgeprof.compare.verdicts import TOO_FEW, busy, held_back
from edgeprof.results import metric_catalogue
from edgeprof.results.comparison import Ratio
from edgeprof.results.schema import Record

DIFFERENCE_WORDS = ("faster", "slower", "better", "worse", "higher", "lower")
DETECTED = "inconclusive: a difference is detected"
#: the repetitions differ but the interval widened by the run-to-run drift (the one shown) holds 1
WITHIN_DRIFT = "no difference beyond the run-to-run drift"


def is_difference(verdict: str | None) -> bool:
    return bool(verdict) and verdict.split(" ")[0] in DIFFERENCE_WORDS


class Judge:
    """Margins and drift per metric, read once (one scan of the history) for every ratio of a bench."""

    def __init__(self, host: str | None = None, db_path: str | Path | None = None, use_history: bool = True):
        self.host, self.db_path, self.use_history = host, db_path, use_history
        self._drift: dict[str, tuple[float, str]] | None = None

    def _measured(self) -> dict[str, tuple[float, str]]:
        if self._drift is None:
            self._drift = {}
            if self.use_history:
                import sqlite3

                from edgeprof.results.history import RunError, drift_margins

                names = tuple(d.name for d in metric_catalogue.reference_metrics())
                try:
                    self._drift = drift_margins(self.db_path, self.host, names)
                except (OSError, ValueError, RunError, sqlite3.Error):
                    self._drift = {}
        return self._drift

    def margin(self, metric: str) -> tuple[float, str, float, str]:
        """(margin, its basis, drift, its basis) for a metric."""
        d = metric_catalogue.get(metric)
        stated, basis = d.margin if d else metric_catalogue.MARGINS["speed"]
        measured = self._measured().get(metric)
        if measured is None:
            return stated, basis, stated, ("run-to-run drift not measured in the history yet (needs 3 configurations "
                                           "run at least twice): the stated margin is taken as the drift")
        drift, dbasis = measured
        if drift > stated:
            return drift, f"the measured drift ({100 * drift:.0f} %) exceeds the stated {100 * stated:.0f} %", drift, dbasis
        return stated, basis, drift, dbasis

    def judge(self, ratio: Ratio, edge_samples: Sequence[float], ref_samples: Sequence[float],
              edge: Record, ref: Record | None, no_verdict: str = "") -> Ratio:
        """``ratio`` with its interval (repetitions + drift), p-value, margin and verdict."""
        metric = ratio.base_metric
        margin, mbasis, drift, dbasis = self.margin(metric)
        es, rs = [x for x in edge_samples if x and x > 0], [x for x in ref_samples if x and x > 0]
        if not es or not rs or ratio.ratio is None:
            return replace(ratio, margin=margin, margin_basis=mbasis, verdict=None,
                           verdict_why=no_verdict or "no repetition-level values on one side")
        row = compare_metric(rs, es, metric, margin)
        narrow = tuple(row.ci95) if row.ci95 else None
        scale = ratio.ratio / row.ratio_b_over_a if row.ratio_b_over_a else 1.0
        narrow = (narrow[0] * scale, narrow[1] * scale) if narrow else None
        wide = widen(narrow, ratio.ratio, drift)
        verdict = self._verdict(row, narrow, wide, metric, margin, len(es), len(rs))
        why_busy = busy(ref, edge) if ref is not None else None
        verdict = held_back(verdict, metric, why_busy)
        out = replace(ratio, ci95=wide, margin=margin, margin_basis=mbasis, p_value=row.p_value,
                      n_edge=len(es), n_ref=len(rs), drift=drift,
                      extra={**ratio.extra, "ci95_repetitions": list(narrow) if narrow else None,
                             "drift_basis": dbasis})
        if no_verdict:
            return replace(out, verdict=None, verdict_why=no_verdict)
        return replace(out, verdict=verdict, verdict_why=f"a side was measured on a busy machine ({why_busy})"
                       if why_busy and verdict != row.verdict else "")

    @staticmethod
    def _verdict(row: PairedRow, narrow, wide, metric: str, margin: float, n_e: int, n_r: int) -> str:
        """compare's verdict on the repetitions' interval; a difference stands only when the
        interval widened by the drift also lies beyond the margin."""
        from edgeprof.compare.verdicts import verdict

        first = verdict(narrow, metric, margin, row.p_value, n_r, n_e)
        if first.startswith(TOO_FEW):
            return first
        if not is_difference(first):
            if first.startswith(DETECTED) and wide and wide[0] <= 1 <= wide[1]:
                # the repetitions differ, the shown (drift-widened) interval holds 1: say so, not "detected"
                return f"{WITHIN_DRIFT} (±{100 * margin:.0f} % margin)"
            return first
        on_wide = verdict(wide, metric, margin, row.p_value, n_r, n_e)
        return on_wide if is_difference(on_wide) else (
            f"inconclusive: with the run-to-run drift the interval crosses ±{100 * margin:.0f} %")


def widen(ci: tuple[float, float] | None, ratio: float, drift: float | None) -> tuple[float, float] | None:
    """``ci`` (around ``ratio``) widened in log space, in quadrature, by a relative ``drift``."""
    if ratio is None or ratio <= 0:
        return ci
    lo, hi = ci if ci else (ratio, ratio)
    d = math.log1p(drift or 0.0)
    down = math.sqrt(math.log(ratio / lo) ** 2 + d ** 2) if lo > 0 else float("inf")
    up = math.sqrt(math.log(hi / ratio) ** 2 + d ** 2)
    return ratio * math.exp(-down), ratio * math.exp(up)
