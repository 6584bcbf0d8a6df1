"""The server comparison in words: the one-line summary, the table cell and its legend, a ratio
with its interval and verdict. One wording for the bench table, ``suite_text``, the TUI and the
report, read from the typed comparison (``results/comparison.py``).

Why the cell carries the verdict and, for ``none``, the short reason: a bare "no reference" sent
users to the JSON to learn why, and a bare "1.4×" read as "40 % faster" where the statistics said
nothing of the kind.
"""
from __future__ import annotations

import re

from edgeprof.results import metric_catalogue
from edgeprof.results.comparison import ClassStats, Comparison, Ratio

KIND_WORDS = {"exact": "vs", "same-model": "same model, other quant: vs",
              "normalized": "normalized (another model), NOT a match: vs", "predicted": "predicted (a model, NOT a "
              "measurement): vs"}
LEGEND = (
    "vs server: the kind of match (exact = same model by content, same file type and workload; same model = "
    "another quant; normalized = another model, per parameter, NOT a match; predicted = edgeprof's prediction "
    "for a server class when no measured row matches (predict --device), NOT a match and never a verdict; "
    "none = why not), the accelerator "
    "class, edge ÷ its median with the 95 % interval (repetitions, class spread and run-to-run drift) and "
    "compare's verdict (no verdict on estimates, other models or unlike energy scopes)",
    "host-bound: a server row far below its bandwidth roofline at batch 1, or as fast as devices with much more "
    "bandwidth: it measures its host and engine build more than its accelerator",
    "contended: the reference was measured while other processes used the cores",
    "verdicts in cells: no diff. = no detectable difference; equiv. ±m % = a difference smaller than the margin; "
    "too few reps = no outcome could reach p < 0.05 with so few repetitions or rows; held back: busy = measured on "
    "a busy machine; no verdict = an estimate, another model or an unlike energy scope",
)


def short_metric(metric: str) -> str:
    base = metric.split("/params_b")[0].split("×params_b")[0]
    d = metric_catalogue.get(base)
    return (d.short if d and d.short else base) + (
        "·params" if "×params_b" in metric else "/params" if "/params_b" in metric else "")


def interval(ci: tuple[float, float] | None) -> str:
    return f" [{ci[0]:.3g}–{ci[1]:.3g}]" if ci else ""


def short_verdict(r: Ratio) -> str:
    """The verdict in a table cell's few words (the legend and the detail views say it whole)."""
    v = r.verdict or ""
    if not v:
        return "no verdict" if r.verdict_why else ""
    if v.startswith("inconclusive: too few repetitions"):
        return "too few reps"
    if "busy machine" in v:
        return "held back: busy"
    if v.startswith("inconclusive"):
        return "inconclusive"
    if v == "no detectable difference":
        return "no diff."
    return v.replace("equivalent within", "equiv.")


def verdict(r: Ratio) -> str:
    """compare's verdict with its margin, or "no verdict: why"."""
    if r.verdict:
        judged = r.verdict in ("no detectable difference", "inconclusive") or r.verdict.split(" ")[0] in (
            "faster", "slower", "better", "worse", "higher", "lower")
        margin = f" (±{100 * r.margin:.0f} %)" if r.margin and judged and "±" not in r.verdict else ""
        return r.verdict + margin
    return f"no verdict: {r.verdict_why}" if r.verdict_why else ""


def ratio(r: Ratio, with_verdict: bool = True, short: bool = False, named: bool = True) -> str:
    """``decode 0.1× [0.08–0.12] slower`` (``~`` marks an estimate on either side); ``short``: the
    verdict in a cell's few words."""
    name = f"{short_metric(r.metric)} " if named else ""
    if r.ratio is None:
        return f"{name}—"
    est = " (edge est.)" if r.edge_estimated else ""
    est += " (server est.)" if r.ref_estimated else ""
    words = short_verdict(r) if short else verdict(r)
    v = f" {words}" if with_verdict and words else ""
    return f"{name}{r.ratio:.3g}×{interval(r.ci95)}{est}{v}"


def class_text(c: ClassStats) -> str:
    """``H100 SXM5 80GB: n 2, median 96.2 t/s, IQR 95.9–96.4, 95.8–96.6, 2 host-bound``."""
    unit = c.unit.replace("tokens/s", "t/s")
    if c.n == 1:
        spread = f"one row: {c.values[0]:.4g} {unit}"
    else:
        q1, q3 = c.iqr
        spread = (f"n {c.n}, median {c.median:.4g} {unit}, IQR {q1:.4g}–{q3:.4g}, range "
                  f"{c.span[0]:.4g}–{c.span[1]:.4g}")
    bound = f", {c.n_host_bound} host-bound" if c.n_host_bound else ""
    return f"{c.name}: {spread}{bound}"


def summary(c: Comparison) -> str:
    """One line: the kind, the closest row with its verification, runtime and host, the ratios with
    intervals and verdicts, the class, and what makes the sides unlike."""
    if c.kind == "none":
        return "no reference" + (f" ({c.notes[0]})" if c.notes else "")
    first = c.first
    parts = [ratio(r) for r in c.ratios if r.ratio is not None]
    more = f"; +{len(c.rows) - 1} more rows" if len(c.rows) > 1 else ""
    tail = "".join(f"; {t}" for t in (c.format_note, first.runtime_note if first else "", c.energy_note,
                                      c.contended) if t)
    cl = c.headline_class
    klass = f"; class {class_text(cl)}" + (f", edge÷median {ratio(cl.ratio)}" if cl and cl.ratio else "") if cl else ""
    return (f"{KIND_WORDS.get(c.kind, c.kind)} {c.set_name}:{c.row} [{c.verification}; {first.runtime if first else '?'}; "
            f"host {(first.host if first else None) or '?'}] edge÷server {', '.join(parts) or 'no comparable metric'}"
            f"{klass}{tail}{more}")


def _status(verification: str | None) -> str:
    # "MEASURED (power/energy ESTIMATED: tdp_model)" -> "measured (power/energy estimated)"
    return re.sub(r":[^()]*", "", str(verification or "")).strip().lower()


def legend(comps: list[Comparison]) -> list[str]:
    """The ``vs server`` legend lines the cells printed need: host-bound and contended only where a
    cell says them, the verdict words only where a cell can carry one (not for ``none``/``predicted``)."""
    judged = [c for c in comps if c.kind not in ("none", "predicted")]
    bound = any(c.headline_class is not None and c.headline_class.n_host_bound for c in judged)
    wanted = (True, bound, any(c.contended for c in judged), bool(judged))
    return [line for line, keep in zip(LEGEND, wanted) if keep]


def cell(c: Comparison | None) -> str:
    """The bench table's ``vs server`` cell: kind, class (or row), the headline ratio with its
    verdict; for ``none`` the short reason. Empty when the record was never compared."""
    if c is None:
        return ""
    if c.kind == "none":
        return "none: " + (c.short_reason or (c.notes[0] if c.notes else "no matching row"))
    if c.kind == "predicted":  # one figure per server class picked, each with its interval; never a verdict
        parts = [f"{r.device} {short_metric(x.metric)} {x.ratio:.2g}×"
                 + (f" [{x.ci95[0]:.2g}–{x.ci95[1]:.2g}]" if x.ci95 else "") for r in c.rows
                 if (x := next((y for y in r.ratios if y.ratio is not None), None))]
        return "predicted, NOT a match: " + ("; ".join(parts) or "no comparable figure") + " (server est.; no verdict)"
    head = {"exact": "exact", "same-model": "same model", "normalized": "normalized, NOT a match",
            "predicted": "predicted, NOT a match"}.get(c.kind, c.kind)
    cl = c.headline_class
    if cl is not None and cl.ratio is not None and cl.ratio.ratio is not None:
        where = f"{cl.name} (n {cl.n}{', ' + str(cl.n_host_bound) + ' host-bound' if cl.n_host_bound else ''})"
        main = ratio(cl.ratio, short=True)
    else:
        where = f"{c.set_name}:{c.row}"
        r = next((x for x in c.ratios if x.ratio is not None), None)
        main = ratio(r, short=True) if r else "no comparable figure"
    flags = [f for f in ("contended reference" if c.contended else "", "energy scope differs" if c.energy_note else "")
             if f]
    return f"{head} vs {where} [{_status(c.verification)}] {main}" + (f" ({'; '.join(flags)})" if flags else "")
