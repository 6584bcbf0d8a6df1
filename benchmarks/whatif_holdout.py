#!/usr/bin/env python
"""Proof by hold-out of ``edgeprof predict --device``: leave each device class out in turn and
predict its rows from the rest.

    python benchmarks/whatif_holdout.py                 # 80 % intervals, per family and overall
    python benchmarks/whatif_holdout.py --per-class     # and every class
    python benchmarks/whatif_holdout.py --level 0.95

On the packaged LocalScore set and the packaged device table only (your rows and your history are
left out, so the figures are the same on every machine). Three checks:

1. **Unknown class** (decode, then prefill): each class with a published bandwidth is removed and
   its rows predicted by extrapolation from the others — what a Jetson or any class without rows
   gets. Coverage = share of held-out rows inside the stated interval (hold it against the
   nominal level), median |error| of the point prediction, median interval width (hi − lo) ÷ point.
2. **Known class, new model size**: each class with two or more model sizes, each size in turn
   predicted from the class's other sizes — what a class with rows gets for your model.

A fold never sees the held-out class's rows (its family's priors are recomputed without it).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def packaged_rows():
    """(classes, rows, excluded) from the packaged LocalScore set and the packaged device table."""
    from edgeprof.analysis import specs
    from edgeprof.compare import whatif_rows
    from edgeprof.compare.refsets import load_sets

    with tempfile.TemporaryDirectory() as empty:
        sets = [s for s in load_sets(empty) if s.origin == "packaged" and s.meta.importer == "localscore"]
    out = whatif_rows.Rows()
    table = specs.packaged_table()
    for s in sets:
        whatif_rows.localscore_rows(s.records, table, out)
    return out


def _line(name: str, n: int, inside: int, err: float, width: float, level: float) -> str:
    cov = inside / n if n else float("nan")
    return f"| {name} | {n} | {cov:.0%} | {level:.0%} | {err:.1f} % | {width:.0f} % |"


def table(res, per_class: bool) -> list[str]:
    import statistics

    out = [f"| {res.phase}: held out | rows | inside | nominal | median abs error | median width |",
           "|---|---|---|---|---|---|"]
    fam = defaultdict(list)
    for c in res.classes:
        fam[c.family].append(c)
    for f in sorted(fam, key=lambda f: -sum(c.n for c in fam[f])):
        cs = fam[f]
        errs = [e for c in cs for e in c.abs_pct_errors]
        widths = [w for c in cs for w in c.widths_pct]
        out.append(_line(f"family {f} ({len(cs)} classes)", sum(c.n for c in cs), sum(c.inside for c in cs),
                         statistics.median(errs), statistics.median(widths), res.level))
        if per_class:
            for c in sorted(cs, key=lambda c: -c.n):
                out.append(_line(f"&nbsp;&nbsp;{c.name}", c.n, c.inside, statistics.median(c.abs_pct_errors),
                                 statistics.median(c.widths_pct), res.level))
    out.append(_line(f"**all ({len(res.classes)} classes)**", res.n, round(res.coverage * res.n),
                     res.median_abs_pct_error, res.median_width_pct, res.level))
    out.append(f"\nmean of per-class coverage {res.class_coverage:.0%}"
               + (f"; not held out: {', '.join(f'{n} rows ({k})' for k, n in res.skipped.items())}"
                  if res.skipped else ""))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--level", type=float, default=0.8, help="interval level (default 0.8, predict's default)")
    ap.add_argument("--per-class", action="store_true", help="a line per device class")
    args = ap.parse_args(argv)

    from edgeprof.analysis import holdout

    t0 = time.monotonic()
    rows = packaged_rows()
    n_bw = sum(1 for r in rows.rows if rows.classes[r.class_id].bandwidth_gbs)
    print(f"LocalScore (packaged): {len(rows.rows)} usable rows in {len(rows.classes)} classes, {n_bw} of them in "
          f"classes with a published bandwidth; left out: "
          + ", ".join(f"{n} ({why})" for why, n in rows.excluded.items()) + "\n")
    for phase in ("decode", "prefill"):
        print("\n".join(table(holdout.run(rows.classes, rows.rows, args.level, phase), args.per_class)) + "\n")
    print("\n".join(table(holdout.run_sizes(rows.classes, rows.rows, args.level), args.per_class)))
    print(f"\n({time.monotonic() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
