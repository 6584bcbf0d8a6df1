"""``edgeprof compare A B``: two runs (directories or run_ids in the history) or a run and a
reference set, paired by workload key; per metric both medians, ratio B/A, bootstrap 95 % interval,
permutation p-value and a verdict against that metric's own practical-equivalence margin."""
from __future__ import annotations

import argparse
import os
import sys

HELP = "compare two runs (or a run and a reference set) by workload key, with intervals and verdicts"
COLUMNS = ("workload", "axes", "metric", "unit", "a_median", "b_median", "ratio_b_over_a", "ci95", "p_value",
           "margin", "verdict")


def _margin(text: str) -> float:
    try:
        v = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a margin: {text!r} (use 0.1 or 10%)") from None
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"margin must be in [0, 1): {text!r}")
    return v


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("a", metavar="A", help="run directory, run_id in the history, or reference set name")
    parser.add_argument("b", metavar="B", help="the same; ratios are B/A")
    parser.add_argument("--margin", type=_margin, default=None,
                        help="practical-equivalence margin for every metric, e.g. 0.1 or 10%% (default: each metric's "
                             "own drift measured in the history, else its stated default: memory 2%%, speed 20%%)")
    parser.add_argument("--metric", action="append", default=None, help="metric to compare (repeatable)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap/permutation seed (default 0)")
    parser.add_argument("--history", default=None,
                        help="history store: a SQLite file or a postgresql:// URL (default $EDGEPROF_HISTORY, the "
                             "config entry or $EDGEPROF_HOME/history.sqlite)")
    parser.add_argument("--interleave", action="store_true",
                        help="re-run the cases of runs A and B alternately (ABBA rounds) in a new run, then compare")
    parser.add_argument("--pairs", type=int, default=3, help="rounds per side with --interleave (default 3)")
    parser.add_argument("--out", default=None, help="run directory for --interleave (default ./edgeprof-runs/...)")
    parser.add_argument("-o", "--format", choices=("md", "csv", "json", "jsonl"), default="md")


def _interleave(args):
    """Run A's and B's cases alternately in one new run directory; pooled sides per workload."""
    import datetime as dt
    from pathlib import Path

    from edgeprof.compare.interleave import interleaved_cases, sides
    from edgeprof.engine.config import Settings
    from edgeprof.engine.plan import Case
    from edgeprof.engine.session import RunSession

    if args.pairs < 1:
        from edgeprof.errors import UsageError

        raise UsageError(f"--pairs must be at least 1, got {args.pairs}")
    case_dicts, settings = interleaved_cases(args.a, args.b, args.pairs)
    out = Path(args.out or Path("edgeprof-runs") / ("interleave-" + dt.datetime.now().strftime("%Y%m%d-%H%M%S")))
    note = lambda m: print(f"edgeprof: {m}", file=sys.stderr)  # noqa: E731
    session = RunSession.for_cases(out, [Case.from_dict(c) for c in case_dicts], Settings.from_dict(settings),
                                   {"interleave": [args.a, args.b]}, note=note)
    note(f"interleaving {len(case_dicts)} cases (A/B alternately) -> {out}")
    session.run()
    session.check_interrupted()  # an interrupted interleave is resumed, not compared half-done
    return sides(out, args.a, args.b)


def run(args) -> int:
    from edgeprof.compare.paired import compare, load_side, render_table

    from edgeprof.results.pending import catch_up

    db = args.history or os.environ.get("EDGEPROF_HISTORY") or None
    catch_up(db, note=lambda s: print(f"edgeprof: {s}", file=sys.stderr))  # runs that waited for a store that was down
    if args.interleave:
        a, b = _interleave(args)
    else:
        a, b = load_side(args.a, db), load_side(args.b, db)
    res = compare(a, b, margin=args.margin, metrics=args.metric, seed=args.seed, db_path=db)
    extra = {k: v for k, v in res.items() if k != "rows"}
    cols = [c for c in COLUMNS if c != "axes" or res["axes"] is None]
    if args.format != "md":
        print(render_table(res["rows"], args.format, cols, extra))
    else:
        _markdown(res, cols)
    if not res["rows"]:
        print("edgeprof compare: no rows paired by workload key (model id, prompt, gen, depth, n_seqs)",
              file=sys.stderr)
        return 1
    return 0


def _markdown(res: dict, cols: list[str]) -> None:
    """Header (the two sides and what differs, once), the table, then each margin's basis and what
    the verdicts mean."""
    from edgeprof.compare.paired import render_table

    print(f"A = {res['a']}\nB = {res['b']}")
    if res["axes"] is not None:
        print(f"compared: {res['axes']}")
    for b in res["busy"]:
        print(f"busy machine: {b}; speed and energy verdicts are held back (memory verdicts stand)")
    print(f"ratio = {res['ratio']}; each metric judged on the 95 % interval of B/A against its own margin\n")
    rows = [{**r, "margin": f"±{100 * r['margin']:.0f}%",
             "verdict": r["verdict"] + (f" ({r['why']})" if r.get("why") else "")} for r in res["rows"]]
    print(render_table(rows, "md", cols))
    bases: dict[str, list[str]] = {}
    for m, v in res["margins"].items():
        bases.setdefault(f"±{100 * v['margin']:.0f}% — {v['basis']}", []).append(m)
    print("\nmargins:")
    for text, ms in bases.items():
        print(f"- {', '.join(ms)}: {text}")
    print("verdicts:")
    for line in res["legend"]:
        print(f"- {line}")
    if res["unpaired_a"]:
        print(f"\n{len(res['unpaired_a'])} row(s) of A have no B row with the same workload key")
