"""The power trade-off of a power sweep: decode tok/s against tok/J (and TTFT against J/token), the
Pareto front of the settings, and which setting to pick.

Why these picks: the one systematic public power-mode sweep (smolhub, Orin Nano Super, llama.cpp)
found the middle mode 8-35 % more tokens per joule than the top one while far faster than the
bottom one — the useful answer is not "the fastest" but the front and a named point on it:
- **for efficiency**: the most tok/J on the front;
- **the knee** (for speed within X % of the best): the most tok/J among the front's settings whose
  tok/s is within X % of the fastest (default 10 %).
A pick is a tie with every front point whose 95 % interval of the deciding figure overlaps its
own: the statistics cannot tell them apart, and the text says so.

Fronts are formed within one group: the same model, artifact, workload and placement, so only the
power settings differ. Pure functions of records (no drawing: views/charts draw the same points).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from edgeprof.results.schema import Metric, Record

SPEED_WITHIN = 0.10


def dominates(a: tuple[float, float], b: tuple[float, float], x_better: str, y_better: str) -> bool:
    """``a`` is at least as good as ``b`` on both axes and strictly better on one."""
    sx = 1 if x_better == "higher" else -1
    sy = 1 if y_better == "higher" else -1
    ge = sx * a[0] >= sx * b[0] and sy * a[1] >= sy * b[1]
    return ge and (sx * a[0] > sx * b[0] or sy * a[1] > sy * b[1])


def pareto_front(points: list[tuple[float, float]], x_better: str = "lower", y_better: str = "lower") -> list[int]:
    """Indexes of the non-dominated points, in input order (ties both stay on the front).

    One sort and a sweep (a report of 1,000 cases asked every point against every other, issue 21
    item 10): oriented so that higher is better on both axes, a point is dominated exactly when a
    point with a higher x has a y at least as high, or one with the same x a higher y. A NaN
    compares false both ways, so a set holding one keeps the pairwise definition."""
    sx = 1 if x_better == "higher" else -1
    sy = 1 if y_better == "higher" else -1
    if any(math.isnan(x) or math.isnan(y) for x, y in points):
        return [i for i, p in enumerate(points)
                if not any(dominates(q, p, x_better, y_better) for j, q in enumerate(points) if j != i)]
    order = sorted(range(len(points)), key=lambda i: -sx * points[i][0])
    keep: list[int] = []
    above = None   # the highest y among the points of a strictly higher x (None: no such point)
    k = 0
    while k < len(order):
        j = k
        while j < len(order) and sx * points[order[j]][0] == sx * points[order[k]][0]:
            j += 1
        ys = [sy * points[i][1] for i in order[k:j]]
        top = max(ys)
        keep += [i for i, y in zip(order[k:j], ys) if (above is None or y > above) and y >= top]
        above = top if above is None else max(above, top)
        k = j
    return sorted(keep)


@dataclass(frozen=True)
class Setting:
    """One row of a power sweep as a point: its settings' label and the figures with intervals."""

    label: str
    case_id: str
    tok_s: float
    tok_s_ci: tuple[float, float] | None
    tok_j: float
    tok_j_ci: tuple[float, float] | None
    ttft_ms: float | None
    j_per_token: float
    estimated: bool


@dataclass(frozen=True)
class Tradeoff:
    group: str                       # what the settings share: model, artifact, workload
    points: tuple[Setting, ...]
    front: tuple[int, ...]           # tok/s vs tok/J
    ttft_front: tuple[int, ...]      # TTFT vs J/token (points with a TTFT)
    efficient: tuple[str, ...]       # the pick for efficiency (ties named)
    knee: tuple[str, ...]            # the pick for speed within ``within`` of the best
    within: float
    notes: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        """What a person reads: the front, then the two picks with their figures."""
        by = {p.label: p for p in self.points}

        def fig(label: str) -> str:
            p = by[label]
            return f"{p.tok_s:.3g} tok/s, {p.tok_j:.3g} tok/J" + (" (estimated)" if p.estimated else "")

        def pick(labels: tuple[str, ...]) -> str:
            if len(labels) == 1:
                return f"{labels[0]} ({fig(labels[0])})"
            return "a tie between " + ", ".join(f"{x} ({fig(x)})" for x in labels) + " (95 % intervals overlap)"
        front = ", ".join(self.points[i].label for i in self.front)
        out = [f"power trade-off, {self.group}: Pareto front (tok/s vs tok/J) {front}",
               f"  pick for efficiency: {pick(self.efficient)}",
               f"  knee (most tok/J within {100 * self.within:.0f} % of the best tok/s): {pick(self.knee)}"]
        ttft = [self.points[i] for i in self.ttft_front]
        if ttft:
            out.append("  TTFT vs J/token front: " + ", ".join(f"{p.label} ({p.ttft_ms:.4g} ms, {p.j_per_token:.3g} J)"
                                                              for p in ttft))
        return out + [f"  {n}" for n in self.notes]


def _inverse_ci(m: Metric) -> tuple[float, float] | None:
    if not m.ci95 or m.n < 2 or min(m.ci95) <= 0:
        return None
    return 1.0 / m.ci95[1], 1.0 / m.ci95[0]


def _overlap(a: tuple[float, float] | None, b: tuple[float, float] | None) -> bool:
    return a is not None and b is not None and a[0] <= b[1] and b[0] <= a[1]


def setting_label(rec: Record) -> str:
    return " ".join(f"{k}={v}" for k, v in (rec.get("power") or {}).items())


def _group(rec: Record) -> tuple:
    pl = rec.runtime.placement
    return (rec.model.id, rec.artifact.sha256, rec.artifact.quant, rec.runtime.name, rec.workload_key(),
            pl.threads, pl.gpu_layers, rec.device.id)


def _point(rec: Record) -> Setting | None:
    speed, energy = rec.metric("decode_tokens_per_s"), rec.metric("energy_per_token_j")
    if speed is None or energy is None or not speed.center or not energy.center or energy.center <= 0:
        return None
    ttft = rec.metric("ttft_ms")
    return Setting(setting_label(rec), rec.case_id, speed.center, tuple(speed.ci95) if speed.ci95 and speed.n > 1
                   else None, 1.0 / energy.center, _inverse_ci(energy), ttft.center if ttft else None,
                   energy.center, speed.provenance.estimated or energy.provenance.estimated)


def _ties(points: Sequence[Setting], best: Setting, among: Sequence[int]) -> tuple[str, ...]:
    tied = [points[i].label for i in among if points[i] is best or _overlap(points[i].tok_j_ci, best.tok_j_ci)]
    return tuple(dict.fromkeys([best.label, *tied]))


def tradeoffs(records: Sequence[Record], within: float = SPEED_WITHIN) -> list[Tradeoff]:
    """One trade-off per group of ``ok`` rows that differ only in their power settings (two
    settings at least); nothing for a run without a power sweep."""
    groups: dict[tuple, list[Record]] = {}
    for r in records:
        if r.ok and r.get("power"):
            groups.setdefault(_group(r), []).append(r)
    out = []
    for recs in groups.values():
        points = [p for p in map(_point, recs) if p is not None]
        if len({p.label for p in points}) < 2:
            continue
        front = pareto_front([(p.tok_s, p.tok_j) for p in points], "higher", "higher")
        best_e = max((points[i] for i in front), key=lambda p: p.tok_j)
        fastest = max(p.tok_s for p in points)
        near = [i for i in front if points[i].tok_s >= (1 - within) * fastest]
        knee = max((points[i] for i in near), key=lambda p: p.tok_j)
        timed = [i for i, p in enumerate(points) if p.ttft_ms is not None]
        ttft_front = [timed[k] for k in pareto_front([(points[i].j_per_token, points[i].ttft_ms) for i in timed])]
        notes = []
        if any(p.estimated for p in points):
            notes.append("estimated figures (~) are among these: the trade-off is the estimate's, not a measurement")
        if any(p.tok_j_ci is None for p in points):
            notes.append("a setting without an interval (one repetition) cannot be told apart from another: "
                         "ties are only named where intervals exist")
        r0 = recs[0]
        group = f"{r0.model.id} {r0.artifact.quant} {r0.workload.label}"
        out.append(Tradeoff(group, tuple(points), tuple(front), tuple(ttft_front), _ties(points, best_e, front),
                            _ties(points, knee, near), within, tuple(notes)))
    return out


def legend_lines(records: Sequence[Record]) -> list[str]:
    return [line for t in tradeoffs(records) for line in t.lines()]
