"""A/B comparison of two runs (or a run and a reference set), paired by the CONTRACTS workload key.

Per metric: both medians, ratio **B/A** of medians, a seeded bootstrap 95 % interval of that ratio
(each side resampled independently over its repetition-level samples), a Mann–Whitney p-value
(exact permutation of the rank sum when small), the metric's own equivalence margin, and a verdict
(compare/verdicts.py: no better/worse without p < 0.05, "too few repetitions" when no outcome
could reach it, "equivalent within ±m %" apart from "no detectable difference", no ratio of a net
figure below its own uncertainty). What differs between the paired rows (quant, runtime,
placement, ...) is stated once for the comparison, or per row only when pairs differ in it.
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import math
import random
import statistics
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

from edgeprof.analysis.stats import percentile
from edgeprof.compare.paired_types import Margin, PairedResult, PairedRow
from edgeprof.compare.verdicts import (LEGEND, MIXED, NOT_MEASURABLE, busy, estimated_sides, held_back, margins,
                                       not_measurable, sign_p, verdict)
from edgeprof.errors import UsageError
from edgeprof.results import metric_catalogue
from edgeprof.results.cells import csv_cell, md_cell
from edgeprof.results.conditions import board_texts
from edgeprof.results.history import RunError, find_run, load_run, run_records
from edgeprof.results.schema import Record

AXES = ("format", "quant", "runtime", "placement", "device", "host", "board")


class CompareError(UsageError):
    """Bad input to compare (one-line message)."""


@dataclass
class Side:
    label: str
    kind: str  # run | history | reference
    records: list[Record]
    meta: dict = field(default_factory=dict)


def load_side(spec: str, db_path: str | Path | None = None, ref_sets: list | None = None) -> Side:
    """A run directory, a run_id (or dir name) in the history, or a reference set name."""
    p = Path(spec)
    if p.is_dir():
        return Side(str(p), "run", load_run(p)["records"])
    d = find_run(spec, db_path)
    if d is not None:
        if d.is_dir():
            return Side(f"{spec} ({d})", "history", load_run(d)["records"])
        return Side(f"{spec} (history copy)", "history", run_records(spec, db_path))
    from edgeprof.compare.refsets import load_sets
    for s in (ref_sets if ref_sets is not None else load_sets()):
        if s.name == spec:
            return Side(f"reference:{s.name}", "reference", s.records, {"verification": s.verification})
    raise CompareError(f"'{spec}' is not a run directory, a run in the history, or a reference set name")


def _axis(rec: Record, axis: str) -> Any:
    pl = rec.runtime.placement.to_dict()
    return {"format": rec.artifact.format, "quant": rec.artifact.quant, "runtime": rec.runtime.name,
            "placement": json.dumps(pl, sort_keys=True) if pl else None, "device": rec.device.id,
            "host": rec.host, "board": rec.conditions.board.key if rec.conditions.board else None}[axis]


#: what ``compared:`` says when two sides differ in nothing but the run (issue 20: "none (same
#: configuration)" was read as "nothing was compared")
SAME = ("nothing but the run: same model, workload, format, quant, runtime, placement, device, host and board — "
        "this measures run-to-run repeatability")


def differing_axes(a: Record, b: Record) -> dict[str, list]:
    """What differs between two rows: the model and workload (rows that are not paired, e.g. the
    two rows the TUI compares), then the configuration axes, placement key by key."""
    out = {}
    if a.model.id != b.model.id:
        out["model"] = [a.model.id, b.model.id]
    if a.workload_key()[1:] != b.workload_key()[1:]:
        out["workload"] = [a.workload.label, b.workload.label]
    pa, pb = a.get("power") or {}, b.get("power") or {}   # power settings a sweep gave each row
    for k in sorted(set(pa) | set(pb)):
        if pa.get(k) != pb.get(k):
            out[k] = [pa.get(k), pb.get(k)]
    for ax in AXES:
        va, vb = _axis(a, ax), _axis(b, ax)
        if va == vb:
            continue
        if ax == "placement" and va and vb:  # show only the placement fields that differ
            pa, pb = json.loads(va), json.loads(vb)
            # two runtimes have their own knobs: only the keys both have are compared (threads, ...)
            keys = set(pa) & set(pb) if a.runtime.name != b.runtime.name else set(pa) | set(pb)
            for k in sorted(keys):
                if pa.get(k) != pb.get(k):
                    out[k] = [pa.get(k), pb.get(k)]
            continue
        out[ax] = list(board_texts(a.conditions.board, b.conditions.board)) if ax == "board" else [va, vb]
    return out


def pair_rows(a: Sequence[Record], b: Sequence[Record]) -> list[tuple[Record, Record]]:
    """Pairs by workload key; within a key, each A row goes with the B rows differing on fewest axes."""
    by_key: dict[tuple, list[Record]] = {}
    for r in b:
        if r.ok:
            by_key.setdefault(r.workload_key(), []).append(r)
    pairs = []
    for ra in a:
        cands = by_key.get(ra.workload_key(), []) if ra.ok else []
        if cands:
            fewest = min(len(differing_axes(ra, rb)) for rb in cands)
            pairs += [(ra, rb) for rb in cands if len(differing_axes(ra, rb)) == fewest]
    return pairs


def _samples(rec: Record, name: str) -> list[float]:
    m = rec.metric(name)
    if m is None:
        return []
    xs = [float(x) for x in m.samples if x is not None and float(x) > 0]
    if xs:
        return xs
    v = m.center
    return [float(v)] if v is not None and float(v) > 0 else []


def bootstrap_ratio_ci(a: Sequence[float], b: Sequence[float], n_boot: int = 2000, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float] | None:
    """Percentile bootstrap interval of median(b)/median(a); a side with one value is held fixed.
    Seeded: ``random.Random(seed)`` draws each side's resample in turn (b, then a), vectorised in
    ``analysis/resample.py`` with the very same draws."""
    from edgeprof.analysis.resample import ratio_of_medians_ci

    return ratio_of_medians_ci(a, b, n_boot, seed, level)


def _midranks(xs: Sequence[float]) -> list[float]:
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    ranks = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def permutation_p(a: Sequence[float], b: Sequence[float], seed: int = 0, n_perm: int = 5000) -> float | None:
    """Two-sided Mann–Whitney p-value by permutation of the rank sum (midranks for ties): exact when
    the number of splits is ≤ 20000, else ``n_perm`` seeded random permutations."""
    if len(a) < 2 or len(b) < 2:
        return None
    ranks, na = _midranks(list(a) + list(b)), len(a)
    centre = na * (len(ranks) + 1) / 2
    obs = abs(sum(ranks[:na]) - centre) - 1e-9
    if math.comb(len(ranks), na) <= 20000:
        hits = total = 0
        for idx in itertools.combinations(ranks, na):
            hits += abs(sum(idx) - centre) >= obs
            total += 1
        return hits / total
    nb = len(ranks) - na
    if min(na, nb) >= NORMAL_FROM:  # thousands of repetitions (a 1 ms case under --min-seconds): the
        return _normal_p(ranks, na, obs)  # large-sample rank-sum law, not 5,000 shuffles of them all
    rng = random.Random(seed)
    pool, hits = list(ranks), 0
    for _ in range(n_perm):
        rng.shuffle(pool)
        hits += abs(sum(pool[:na]) - centre) >= obs
    return (hits + 1) / (n_perm + 1)


#: from this many values on each side the rank sum's p-value is its normal approximation with the
#: tie correction (the law scipy's ``mannwhitneyu`` uses by default above 8 values): exact enough,
#: and linear where 5,000 random permutations of thousands of ranks took seconds per metric
NORMAL_FROM = 30


def _normal_p(ranks: Sequence[float], na: int, obs: float) -> float:
    """Two-sided p of the rank sum of the first ``na`` ranks under the normal approximation (with
    continuity and tie corrections); ``obs`` is |rank sum − its mean|."""
    n = len(ranks)
    nb = n - na
    ties = sum(t ** 3 - t for t in Counter(ranks).values())
    var = na * nb / 12 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:
        return 1.0
    z = max(obs - 0.5, 0.0) / math.sqrt(var)
    return min(1.0, math.erfc(z / math.sqrt(2)))


def compare_metric(a: Sequence[float], b: Sequence[float], metric: str, margin: float, seed: int = 0) -> PairedRow:
    ma, mb = statistics.median(a), statistics.median(b)
    ci = bootstrap_ratio_ci(a, b, seed=seed)
    p = permutation_p(a, b, seed=seed)
    if p is None and min(len(a), len(b)) == 1 and max(len(a), len(b)) > 1:  # a run against one published figure
        p = sign_p(b, a[0]) if len(a) == 1 else sign_p(a, b[0])
    return PairedRow(metric, ma, mb, mb / ma if ma else None, tuple(ci) if ci else None, p, len(a), len(b), margin,
                     verdict(ci, metric, margin, p, len(a), len(b)))


def _unmeasurable_row(ra: Record, rb: Record, m: str, margin: float) -> PairedRow | None:
    why = [f"{side}: {w}" for side, w in (("A", not_measurable(ra, m)), ("B", not_measurable(rb, m))) if w]
    if not why:
        return None
    ma, mb = ra.metric(m), rb.metric(m)
    return PairedRow(m, ma.center, mb.center, None, None, None, ma.n, mb.n, margin, NOT_MEASURABLE, "; ".join(why))


def _shown(v: Any) -> Any:
    return "n/a" if v is None else v   # a setting the runtime does not have reads n/a, never Python's None


def _axes_text(axes: dict) -> str:
    return "; ".join(f"{k}: {_shown(v[0])} -> {_shown(v[1])}" for k, v in axes.items()) or SAME


def difference(a: Record, b: Record) -> str:
    """One line: what differs between two rows (``quant: q8_0 -> q4_k_m``), or ``SAME``."""
    return _axes_text(differing_axes(a, b))


def _configuration(rec: Record, peers: Sequence[Record]) -> str:
    """What tells ``rec`` apart from the other rows of its side with the same workload (a run
    that swept formats or threads has several): `` · format=gguf, quant=q8_0``; empty when none."""
    same = [o for o in peers if o is not rec and o.workload_key() == rec.workload_key()]
    named = [ax for ax in AXES if ax != "placement" and any(_axis(rec, ax) != _axis(o, ax) for o in same)]
    if named:    # another artifact, runtime, device or board says it; their placement keys differ wholesale
        return " · " + ", ".join(f"{k}={_named(rec, k)}" for k in named)
    keys: dict[str, None] = {}
    for o in same:
        keys.update(dict.fromkeys(differing_axes(rec, o)))
    pl = rec.runtime.placement.to_dict()
    return " · " + ", ".join(f"{k}={_shown(pl.get(k))}" for k in keys) if keys else ""


def _named(rec: Record, axis: str) -> Any:
    board = rec.conditions.board
    return (board.name or board.key if board else "local") if axis == "board" else _axis(rec, axis)


def compare(a: Side, b: Side, margin: float | None = None, metrics: Sequence[str] | None = None,
            seed: int = 0, db_path: str | Path | None = None, allow_context_mismatch: bool = False) -> PairedResult:
    """Rows (one per paired case × metric present on both sides), each metric's margin and its basis,
    and the compared axes — once when every pair differs in the same way. A pair measured under
    different power contexts gets no verdict unless ``allow_context_mismatch`` (compare/context.py)."""
    from edgeprof.compare.context import gated, pair_context, same_machine

    metrics = metrics or metric_catalogue.compared()  # read at call time: a registered metric is compared
    host = next((r.host for r in a.records if r.host), None)
    per_metric = margins(list(metrics), margin, db_path, host)
    rows = []
    pairs = pair_rows(a.records, b.records)
    axes_by_pair = [_axes_text(differing_axes(ra, rb)) for ra, rb in pairs]
    one_axes = len(set(axes_by_pair)) <= 1
    busy_by_pair = {(id(ra), id(rb)): busy(ra, rb) for ra, rb in pairs}
    context_by_pair = {(id(ra), id(rb)): pair_context(ra, rb) for ra, rb in pairs}
    held_context = sorted({c for (ra, rb) in pairs if (c := context_by_pair[id(ra), id(rb)]) and same_machine(ra, rb)})
    for (ra, rb), axes in zip(pairs, axes_by_pair):
        wk = ra.workload_key()
        label = f"{wk[0]} p{wk[1]} n{wk[2]} d{wk[3]}" + _configuration(ra, [x for x, _ in pairs])
        for m in metrics:
            if ra.metric(m) is None or rb.metric(m) is None:
                continue
            mg = per_metric[m][0]
            row = _unmeasurable_row(ra, rb, m, mg)
            if row is None:
                sa, sb = _samples(ra, m), _samples(rb, m)
                if not (sa and sb):
                    continue
                row = compare_metric(sa, sb, m, mg, seed)
                row = replace(row, verdict=held_back(row.verdict, m, busy_by_pair[id(ra), id(rb)]))
            est = estimated_sides(ra, rb, m)
            said = MIXED if est in ("A", "B") else row.verdict  # an estimate against a measurement: two methods
            said = gated(said, context_by_pair[id(ra), id(rb)], allow_context_mismatch, same_machine(ra, rb))
            rows.append(replace(row, verdict=said, workload=label, axes=None if one_axes else axes,
                                unit=ra.metric(m).unit, estimated=est or None))
    unpaired = [r.workload_key() for r in a.records if not any(r is pa for pa, _ in pairs)]
    used = sorted({r.metric for r in rows})
    return PairedResult(a.label, b.label, tuple(rows), {m: Margin(*per_metric[m]) for m in used},
                        axes_by_pair[0] if one_axes and pairs else None, tuple(sorted({b for b in busy_by_pair.values()
                                                                                        if b})),
                        tuple(held_context),
                        tuple(sorted({c for c in context_by_pair.values() if c} - set(held_context))),
                        allow_context_mismatch, tuple(tuple(k) for k in unpaired), legend=tuple(LEGEND))


def interleave_plan(a_plan: dict | list, b_plan: dict | list, pairs: int) -> list[dict]:
    """Case order for re-running A and B alternately (ABBA per pair of rounds, cancelling linear drift).

    ``a_plan``/``b_plan``: plan.json dicts (``cases`` list) or lists of case dicts. Cases are paired by
    workload key where cases carry one (else by position). Wiring into ``bench`` (``compare
    --interleave``) is left to the bench owner: run each entry as its own case, tag it with ``side``
    and ``round``, then ``compare`` the A-tagged and B-tagged records with a smaller ``--margin``.
    """
    if pairs < 1:
        raise CompareError("interleave needs at least 1 pair of rounds")
    ca = a_plan.get("cases", []) if isinstance(a_plan, dict) else list(a_plan)
    cb = b_plan.get("cases", []) if isinstance(b_plan, dict) else list(b_plan)
    def wk(c: dict) -> tuple:  # plan cases carry the model under artifact.model
        w = c.get("workload") or {}
        model = c.get("model") or (c.get("artifact") or {}).get("model") or {}
        return (model.get("id"), w.get("prompt_tokens"), w.get("gen_tokens"), w.get("depth"), w.get("n_seqs", 1))

    keyed_b = {wk(c): c for c in cb if isinstance(c, dict) and c.get("workload")}
    matched = [(x, keyed_b.get(wk(x))) for x in ca] if keyed_b else list(zip(ca, cb))
    matched = [(x, y) for x, y in matched if y is not None]
    order = []
    for r in range(pairs):
        for i, (x, y) in enumerate(matched):
            first, second = (("A", x), ("B", y)) if r % 2 == 0 else (("B", y), ("A", x))
            order += [{"round": r, "pair": i, "side": s, "case": c} for s, c in (first, second)]
    return order


def render_table(rows: list[dict], fmt: str, columns: Sequence[str] | None = None, extra: dict | None = None) -> str:
    """md / csv / json / jsonl rendering shared by the reference commands (json includes ``extra``)."""
    if fmt == "json":
        return json.dumps({**(extra or {}), "rows": rows}, indent=2, default=str)
    if fmt == "jsonl":
        return "\n".join(json.dumps(r, default=str) for r in rows)
    cols = list(columns or (rows[0].keys() if rows else []))

    def cell(v: Any, sep: str = "") -> str:
        if isinstance(v, float):  # no exponent for everyday magnitudes (18,590 t/s, not 1.859e+04)
            return f"{v:{sep}.0f}" if 1e4 <= abs(v) < 1e15 else f"{v:.4g}"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(cell(x, sep) for x in v) + "]"
        return "" if v is None else str(v)

    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        w.writerows([[csv_cell(cell(r.get(c))) for c in cols] for r in rows])
        return buf.getvalue().rstrip("\n")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(md_cell(cell(r.get(c), ",")) for c in cols) + " |" for r in rows]
    return "\n".join(lines)
