"""Pareto charts of the trade-offs: energy per token against quality, decode speed against peak
memory, time to first token against artifact size. Each chart is data (points, the front, axis
labels from the metric catalogue, notes on what was left out); a back-end only draws it.

Why: no format/quant wins every axis, so the useful answer is the set of configurations nothing
beats on both axes at once (the Pareto front). Fronts are computed within one workload (TTFT of a
128-token prompt and of a 1024-token prompt are not comparable); an estimated figure stays marked.
"""
from __future__ import annotations

from dataclasses import dataclass

from edgeprof.analysis.tradeoff import dominates, pareto_front  # noqa: F401 - re-exported
from edgeprof.results import metric_catalogue
from edgeprof.results.schema import Record
from edgeprof.views.charts.series import case_label


@dataclass(frozen=True, slots=True)
class Point:
    label: str             # format/quant (+ workload, threads or device when they differ)
    x: float
    y: float
    group: str = ""        # the workload the front is computed within
    estimated: bool = False
    degraded: bool = False
    case_id: str = ""


@dataclass(frozen=True, slots=True)
class ParetoChart:
    key: str               # file stem: pareto-energy-quality, ...
    title: str
    x_label: str
    y_label: str
    x_better: str          # "lower" | "higher"
    y_better: str
    points: tuple[Point, ...]
    front: frozenset[int]  # indexes into points
    notes: tuple[str, ...] = ()


def quality_ratio(r: Record) -> float | None:
    """Perplexity ratio artifact ÷ source (1.0 = no loss) from the artifact's quality figures."""
    return r.artifact.quality.ratio


def degraded(r: Record) -> bool:
    return r.artifact.quality.degraded


def _metric_axis(name: str) -> tuple[str, float]:
    d = metric_catalogue.get(name)
    if d is None:
        return name, 1.0
    label = d.label or f"{name} ({d.unit})"
    return label, d.scale


def _chart(key: str, title: str, records: list[Record], x_of, y_of, x_label: str, y_label: str,
           x_better: str, y_better: str, missing: str) -> ParetoChart:
    pts, skipped = [], 0
    for r in records:
        x, (y, est) = x_of(r), y_of(r)
        if x is None or y is None:
            skipped += 1
            continue
        pts.append(Point(case_label(r, records), float(x), float(y), r.workload.label, est, degraded(r), r.case_id))
    front: set[int] = set()
    for g in {p.group for p in pts}:
        idx = [i for i, p in enumerate(pts) if p.group == g]
        front |= {idx[k] for k in pareto_front([(pts[i].x, pts[i].y) for i in idx], x_better, y_better)}
    notes = [f"{skipped} case(s) left out: {missing}"] if skipped else []
    if any(p.estimated for p in pts):
        notes.append("hollow markers / ~ labels: estimated figures (see the provenance appendix)")
    if any(p.degraded for p in pts):
        notes.append("DEGRADED: the export's quality gate flagged this artifact")
    if len({p.group for p in pts}) > 1:
        notes.append("fronts are computed within each workload")
    return ParetoChart(key, title, x_label, y_label, x_better, y_better, tuple(pts), frozenset(front), tuple(notes))


def _metric_of(name: str):
    label, scale = _metric_axis(name)

    def get(r: Record):
        m = r.metric(name)
        return (None, False) if m is None or m.center is None else (m.center * scale, m.provenance.estimated)
    return get, label


def pareto_charts(records: list[Record]) -> list[ParetoChart]:
    """The three trade-off charts over the ``ok`` cases."""
    ok = [r for r in records if r.ok]
    energy, e_label = _metric_of("energy_per_token_j")
    decode, d_label = _metric_of("decode_tokens_per_s")
    ttft, t_label = _metric_of("ttft_ms")
    rss_label, rss_scale = _metric_axis("peak_rss_bytes")
    rss = lambda r: r.value("peak_rss_bytes") * rss_scale if r.value("peak_rss_bytes") else None  # noqa: E731
    size = lambda r: r.artifact.size_bytes / 2**20 if r.artifact.size_bytes else None  # noqa: E731
    return [
        _chart("pareto-energy-quality", "Energy per token vs quality", ok, quality_ratio, energy,
               "perplexity ratio vs source (1 = no loss)", e_label, "lower", "lower",
               "no quality figure (bench an export directory with a manifest) or no energy figure"),
        _chart("pareto-decode-memory", "Decode speed vs peak memory", ok, rss, decode, rss_label, d_label,
               "lower", "higher", "no peak RSS or decode figure (prefill-only cases have no decode)"),
        _chart("pareto-ttft-size", "Time to first token vs artifact size", ok, size, ttft, "artifact size MiB",
               t_label, "lower", "lower", "no TTFT (decode-only cases) or unknown artifact size"),
    ]
