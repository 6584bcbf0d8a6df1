""""Which one should I deploy?" — one recommendation per objective under the export and bench
tables and in the report's overview, each naming the figures it rests on.

Why it is careful: a table of twelve rows invites picking the top number, and on a busy 2-core
machine the top decode speed is often the neighbour's doing. So a recommendation is made only as
far as ``compare``'s own rules allow (``verdicts.py``): the best row is named alone only when the
rank test finds it better than every other row beyond the metric's stated margin (speed and energy
20 %, memory 2 %); otherwise the rows it cannot be told apart from are named with it as a tie.
Speed and energy are held back (no pick at all) when a row was measured on contended cores, an
estimate is never set against a measurement, and a size or a perplexity on the fixed evaluation
text — exact figures — needs no test. The Pareto knee is taken on exact axes (artifact size
against quality retention) where quality is known.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

from edgeprof.analysis.tradeoff import pareto_front
from edgeprof.compare.paired import _samples, compare_metric
from edgeprof.compare.verdicts import ALPHA, busy, min_p, verdict
from edgeprof.results import metric_catalogue
from edgeprof.results.labels import row_label
from edgeprof.results.schema import Record

if TYPE_CHECKING:
    from edgeprof.exporters.manifest import ExportManifest

HEADING = "Which one to deploy (per objective; ties are named as ties):"


@dataclass(frozen=True)
class Advice:
    objective: str
    picks: tuple[str, ...] = ()   # one label, or several for a tie; empty when held back
    figures: str = ""             # what the pick rests on
    why_not: str = ""             # why there is no pick (held back, no figures)

    def text(self) -> str:
        if not self.picks:
            return f"{self.objective}: no recommendation — {self.why_not}"
        who = self.picks[0] if len(self.picks) == 1 else "tie between " + ", ".join(self.picks)
        return f"{self.objective}: {who} ({self.figures})"


def markdown(advice: Sequence[Advice]) -> list[str]:
    """The block printed under a table: a heading and one bullet per objective (empty: nothing)."""
    return [HEADING] + [f"- {a.text()}" for a in advice] if advice else []


def print_under_table(records: Sequence[Record], stream) -> None:
    """After ``bench``'s (or the live view's) Markdown table: the advice block, when there is a choice."""
    lines = markdown(for_records(records))
    if lines:
        stream.write("\n" + "\n".join(lines) + "\n")
        stream.flush()


# -- rows of a bench run ------------------------------------------------------------------------
def label(r: Record, peers: Sequence[Record]) -> str:
    """The row's name among ``peers`` (``results.labels.row_label``)."""
    return row_label(r, peers)


def _fmt(name: str, v: float, half: float | None = None) -> str:
    """``61.2 ± 4.9 t/s``: the figure (scaled as the table shows it) and half its 95 % interval."""
    d = metric_catalogue.get(name)
    scale = d.scale if d else 1.0
    unit = {"B": "MiB", "tokens/s": "t/s"}.get(d.unit if d else "", d.unit if d else "")

    def num(x: float) -> str:
        return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"
    return f"{num(v * scale)}{f' ± {num(half * scale)}' if half else ''} {unit}".strip()


def _verdict(a: list[float], b: list[float], name: str, margin: float) -> str:
    """``compare_metric``'s verdict of B against A, without its bootstrap when the numbers of
    repetitions alone decide it ("too few repetitions": no outcome could reach p < 0.05) — the
    same text, at no cost: a 1,000-row report tests its best row against every other one."""
    if min_p(len(a), len(b)) >= ALPHA:
        return verdict(None, name, margin, None, len(a), len(b))
    return compare_metric(a, b, name, margin).verdict


def _by_metric(objective: str, name: str, rows: list[Record], peers: list[Record]) -> Advice | None:
    """The best row by ``name`` and the rows the statistics cannot tell apart from it."""
    have = [r for r in rows if r.metric(name) is not None and _samples(r, name)]
    if len(have) < 2:
        return None
    d = metric_catalogue.get(name)
    if any(busy(r, r) for r in have) and (d is None or d.drift != "memory"):
        crowded = [label(r, peers) for r in have if busy(r, r)]
        named = ", ".join(crowded[:5]) + (f" and {len(crowded) - 5} more" if len(crowded) > 5 else "")
        return Advice(objective, why_not=f"held back: {named} measured on a busy machine (other "
                                         f"processes used the cores); re-run on a quiet machine")
    est = {r.metric(name).provenance.estimated for r in have}
    if len(est) > 1:
        return Advice(objective, why_not="not comparable: some figures are estimates (~), others measurements")
    lower = d is not None and d.better == "lower"
    have.sort(key=lambda r: r.metric(name).center, reverse=not lower)
    best, margin = have[0], (d.margin[0] if d else 0.2)
    up = d.words[0] if d is not None and d.better else "higher"
    tied, reasons, best_samples = [best], set(), _samples(best, name)
    for other in have[1:]:  # B = the best, A = another row: B's verdict must be "faster"/"better"
        v = _verdict(_samples(other, name), best_samples, name, margin)
        if v != up:
            tied.append(other)
            reasons.add(v.split(" (")[0])
    mark = "~" if est == {True} else ""
    figs = ", ".join(f"{label(r, peers)} {mark}{_fmt(name, r.metric(name).center, r.metric(name).half_ci)}"
                     for r in (tied if len(tied) > 1 else have[:2]))
    why = f"{d.label or name if d else name}: {figs}"
    if len(tied) > 1:
        why += f"; not told apart: {'; '.join(sorted(reasons))}"
        if any(x.startswith("inconclusive: too few") for x in reasons):
            why += " (--reps 4 or more lets a difference reach p < 0.05)"
    else:
        why += f"; better than every other row beyond ±{100 * margin:.0f} % (p < 0.05)"
    if mark:
        why += "; ~ estimated (see the legend), so this ranks the estimate's inputs"
    return Advice(objective, tuple(label(r, peers) for r in tied), why)


def _retention(r: Record) -> float | None:
    v = r.artifact.quality.quality_retention
    return float(v) if isinstance(v, (int, float)) else None


def _gated(r: Record) -> bool:
    return _retention(r) is not None and not r.artifact.quality.degraded


def for_records(records: Sequence[Record]) -> list[Advice]:
    """Advice over the ``ok`` rows of one workload (several workloads: per workload, named)."""
    ok = [r for r in records if r.ok]
    groups: dict[str, list[Record]] = {}
    for r in ok:
        groups.setdefault(r.workload.label, []).append(r)
    out: list[Advice] = []
    for work, rows in groups.items():
        if len({label(r, rows) for r in rows}) < 2:
            continue  # one configuration: nothing to choose between
        advice = _advise(rows)
        if len(groups) > 1:
            advice = [Advice(f"{a.objective} [{work}]", a.picks, a.figures, a.why_not) for a in advice]
        out += advice
    return out


def _advise(rows: list[Record]) -> list[Advice]:
    speed = _first_present(rows, "decode_tokens_per_s", "prefill_tokens_per_s", "inferences_per_s")
    out = [a for a in (_by_metric("fastest", speed, rows, rows),) if a]
    sized = [(r.artifact.size_bytes, label(r, rows)) for r in rows if r.artifact.size_bytes]
    if len(sized) > 1:
        low = min(s for s, _ in sized)
        picks = tuple(dict.fromkeys(n for s, n in sized if s == low))
        out.append(Advice("smallest", picks, f"file {low / 2**20:.1f} MiB"
                          + (f"; next {min(s for s, _ in sized if s > low) / 2**20:.1f} MiB"
                             if any(s > low for s, _ in sized) else "")))
    energy = _first_present(rows, "energy_per_token_j", "energy_per_inference_j")
    out += [a for a in (_by_metric("lowest J/token" if energy == "energy_per_token_j" else "lowest J/inference",
                                   energy, rows, rows),) if a]
    gated = [(_retention(r), label(r, rows), r) for r in rows if _gated(r)]
    out.append(_best_quality([(q, n) for q, n, _ in gated], {r.artifact.quality.basis for _, _, r in gated}) if gated else
               Advice("best quality within the gate", why_not="no quality figures (bench an export directory: its "
                                                               "manifest carries perplexity and the gate's verdict)"))
    points = [(r.artifact.size_bytes, q, n) for q, n, r in gated if r.artifact.size_bytes]
    out.append(knee(points))
    return out


def _first_present(rows: list[Record], *names: str) -> str:
    """The first metric any row carries (a decoder's tokens/s, else an encoder's inferences/s)."""
    return next((n for n in names if any(r.metric(n) for r in rows)), names[0])


def _best_quality(gated: list[tuple[float, str]], bases: set[str]) -> Advice:
    """``bases``: what each retention measures (``Quality.basis``); one shared basis is named, mixed
    ones are said to be mixed (a perplexity ratio and an embedding cosine are both 1.0 at no loss)."""
    top = max(q for q, _ in gated)
    picks = tuple(dict.fromkeys(n for q, n in gated if round(q, 3) == round(top, 3)))
    basis = next(iter(bases)) if len(bases) == 1 else "each artifact's own measure: " + "; ".join(sorted(bases))
    return Advice("best quality within the gate", picks, f"quality retention {top:.3f} ({basis}); only artifacts "
                  f"that passed the export's gate")


def knee(points: list[tuple[float, float, str]]) -> Advice:
    """The Pareto knee of (size in bytes, quality retention): on the front of sizes nothing beats
    on both axes, the point farthest from the straight line between the front's two ends (the
    largest gain in size for the quality given up). Fewer than three front points have no knee."""
    name = "Pareto knee (size vs quality)"
    uniq = sorted(set(points))
    front = [uniq[i] for i in pareto_front([(s, q) for s, q, _ in uniq], "lower", "higher")]
    if not front:
        return Advice(name, why_not="no artifact has both a size and a quality figure (bench an export directory: "
                                    "its manifest carries them); a knee needs three on the front")
    if len(front) < 3:
        ends = " and ".join(f"{n} ({s / 2**20:.1f} MiB, retention {q:.3f})" for s, q, n in front)
        return Advice(name, why_not=f"the front has {len(front)} point(s) ({ends}); a knee needs three")
    (x0, y0, _), (x1, y1, _) = front[0], front[-1]
    sx, sy = (x1 - x0) or 1.0, (y1 - y0) or 1.0

    def gap(p: tuple[float, float, str]) -> float:  # distance above the chord, on axes scaled to the front
        return ((p[1] - y0) / sy) - ((p[0] - x0) / sx)
    best = max(gap(p) for p in front[1:-1])
    picks = tuple(n for s, q, n in front[1:-1] if abs(gap((s, q, n)) - best) < 1e-9)
    s, q, _ = next(p for p in front if p[2] == picks[0])
    return Advice(name, picks, f"{s / 2**20:.1f} MiB at retention {q:.3f}; front from {front[0][2]} "
                  f"({x0 / 2**20:.1f} MiB, {y0:.3f}) to {front[-1][2]} ({x1 / 2**20:.1f} MiB, {y1:.3f})")


# -- an export manifest (no speed measured yet) ----------------------------------------------------
def for_manifest(m: ExportManifest, out_dir: str) -> list[Advice]:
    """Advice from an export manifest: smallest, best quality within the gate, the knee; speed and
    energy are not measured by an export, so those say how to measure them."""
    from edgeprof.errors import command
    from edgeprof.results.quality import read_quality

    arts = m.artifacts
    if len(arts) < 2:
        return []
    bench = f"not measured by an export: run {command('bench', out_dir)}"
    low = min(a.size_bytes for a in arts)
    out = [Advice("fastest", why_not=bench),
           Advice("smallest", tuple(a.name for a in arts if a.size_bytes == low), f"file {low / 2**20:.1f} MiB"),
           Advice("lowest J/token", why_not=bench)]
    kept = [(a, read_quality(a.quality)) for a in arts if a.quality_status == "ok"]
    gated = [(float(q.quality_retention), a.name, a.size_bytes, q.basis) for a, q in kept
             if isinstance(q.quality_retention, (int, float))]
    out.append(_best_quality([(q, n) for q, n, _, _ in gated], {b for *_, b in gated}) if gated else
               Advice("best quality within the gate", why_not="no artifact has quality figures that passed the gate "
                                                               "(exported with --no-quality?)"))
    out.append(knee([(s, q, n) for q, n, s, _ in gated]))
    return out
