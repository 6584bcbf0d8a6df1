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
    parser.add_argument("b", metavar="B", nargs="?", default=None,
                        help="the same; ratios are B/A (default: A again — pick two sets of its rows with "
                             "--a-where/--b-where)")
    parser.add_argument("--a-where", action="append", default=[], metavar="KEY=VALUE",
                        help="only A's rows with this field, e.g. quant=q4_k_m (keys: model, format, quant, runtime, "
                             "device, host or a placement key such as threads; repeatable)")
    parser.add_argument("--b-where", action="append", default=[], metavar="KEY=VALUE",
                        help="only B's rows with this field, e.g. quant=int4: two artifacts of one run are "
                             "'edgeprof compare RUN --a-where quant=q4_k_m --b-where quant=int4'")
    parser.add_argument("--margin", type=_margin, default=None,
                        help="practical-equivalence margin for every metric, e.g. 0.1 or 10%% (default: each metric's "
                             "own drift measured in the history, else its stated default: memory 2%%, speed 20%%)")
    parser.add_argument("--metric", action="append", default=None, help="metric to compare (repeatable)")
    parser.add_argument("--allow-context-mismatch", action="store_true",
                        help="judge pairs measured under different power contexts (power mode, power limit, "
                             "governor, clocks...) anyway; without it they get no better/worse verdict")
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


def _sides(args, db):
    """A and B: whole runs, or the rows of one run (or two) that ``--a-where``/``--b-where`` pick."""
    from edgeprof.compare.paired import CompareError, load_side
    from edgeprof.compare.selection import parse_where, select

    wa, wb = parse_where(args.a_where, "--a-where"), parse_where(args.b_where, "--b-where")
    if args.b is None and (not (wa or wb) or wa == wb):
        raise CompareError("one run against itself compares nothing: give B, or pick two sets of its rows, e.g. "
                           "--a-where quant=q4_k_m --b-where quant=int4")
    a = load_side(args.a, db)
    b = a if args.b is None else load_side(args.b, db)
    return select(a, wa, "--a-where"), select(b, wb, "--b-where")


def run(args) -> int:
    from edgeprof.compare.paired import compare, render_table

    from edgeprof.results.pending import catch_up

    db = args.history or os.environ.get("EDGEPROF_HISTORY") or None
    catch_up(db, note=lambda s: print(f"edgeprof: {s}", file=sys.stderr))  # runs that waited for a store that was down
    if args.interleave:
        if args.b is None or args.a_where or args.b_where:
            from edgeprof.errors import UsageError

            raise UsageError("--interleave re-runs two whole runs: give A and B, without --a-where/--b-where")
        a, b = _interleave(args)
    else:
        a, b = _sides(args, db)
    res = compare(a, b, margin=args.margin, metrics=args.metric, seed=args.seed, db_path=db,
                  allow_context_mismatch=args.allow_context_mismatch)
    if not res.rows:  # nothing to tabulate: the error alone, saying what each side holds
        print(f"edgeprof: error: {unpaired_text(a, b)}", file=sys.stderr)
        return 1
    out = res.to_dict()   # what --format json/jsonl/csv print: the rows and, for json, the rest beside them
    rows = out.pop("rows")
    cols = [c for c in COLUMNS if c != "axes" or res.axes is None]
    if args.format == "csv":  # full precision for machines (the table's 4 digits made 1.743e+08 of a byte count)
        exact = [{k: (f"{v:.12g}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows]
        print(render_table(exact, "csv", cols, out))
    elif args.format != "md":
        print(render_table(rows, args.format, cols, out))
    else:
        _markdown(res, cols)
    return 0


def unpaired_text(a, b) -> str:
    """Why no row was paired: the workloads (model, prompt, gen, depth) each side was measured with."""
    def workloads(side) -> str:
        ok = [r for r in side.records if r.ok]
        if not ok:
            return "no finished row"
        return ", ".join(dict.fromkeys(f"{r.model.id} {r.workload.label}" for r in ok))

    return (f"A and B share no workload (rows are paired by model, prompt, gen, depth and sequences): "
            f"A has {workloads(a)}; B has {workloads(b)} — bench B with A's -p/-n/--depth, or pick other runs")


def _markdown(res, cols: list[str]) -> None:
    """Header (the two sides and what differs, once), the table, then each margin's basis and what
    the verdicts mean (``res``: a ``paired_types.PairedResult``)."""
    from edgeprof.compare.paired import render_table

    from edgeprof.compare.context import header

    for line in header(list(res.context), res.allow_context_mismatch):
        print(line)  # named first: a difference in the power context decides what the rest may claim
    for line in res.context_other_devices:
        print(f"power context of the two devices: {line} (part of what is compared: no verdict withheld)")
    print(f"A = {res.a}\nB = {res.b}")
    if res.axes is not None:
        print(f"compared (what differs): {res.axes}")
    for b in res.busy:
        print(f"busy machine: {b}; speed and energy verdicts are held back (memory verdicts stand)")
    print(f"ratio = {res.ratio}; each metric judged on the 95 % interval of B/A against its own margin\n")
    rows = [readable(r) for r in res.rows]
    print(render_table(rows, "md", cols))
    if any(r.estimated for r in res.rows):
        print("\n~ estimated median (not measured: e.g. CPU power from TDP x busy); see the verdicts below")
    bases: dict[str, list[str]] = {}
    for m, v in res.margins.items():
        bases.setdefault(f"±{100 * v.margin:.0f}% — {v.basis}", []).append(m)
    print("\nmargins:")
    for text, ms in bases.items():
        print(f"- {', '.join(ms)}: {text}")
    print("verdicts:")
    for line in res.legend:
        print(f"- {line}")
    if res.unpaired_a:
        print(f"\n{len(res.unpaired_a)} row(s) of A have no B row with the same workload key")


def number(v, unit: str = "") -> tuple[str, str]:
    """(text, unit) as people read them: bytes in MiB/GiB, no exponent for everyday magnitudes, and a
    figure that is rounding noise of a difference (|v| < 1e-9, e.g. -1.776e-15 J) as 0."""
    if v is None:
        return "n/a", unit
    if unit == "B":
        for size, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
            if abs(v) >= size:
                return f"{v / size:.1f}", name
        return f"{v:.0f}", "B"
    if abs(v) < 1e-9:
        return "0", unit
    if abs(v) >= 1e4:
        return f"{v:,.0f}", unit
    return (f"{v:.4g}" if abs(v) >= 1e-3 else f"{v:.3g}"), unit


def readable(r) -> dict:
    """A compare row (``paired_types.PairedRow``) for the Markdown table: medians in the unit people
    read (``~`` on an estimate), the interval and p-value rounded, the margin in percent, the verdict
    with its reason."""
    est = r.estimated or ""
    a, unit = number(r.a_median, r.unit or "")
    b, _ = number(r.b_median, r.unit or "")
    ci = r.ci95
    return {**r.to_dict(), "unit": unit, "a_median": ("~" if "A" in est else "") + a,
            "b_median": ("~" if "B" in est else "") + b,
            "ratio_b_over_a": "n/a" if r.ratio_b_over_a is None else f"{r.ratio_b_over_a:.3f}",
            "ci95": f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "n/a",
            "p_value": "n/a" if r.p_value is None else f"{r.p_value:.2g}",
            "margin": f"±{100 * r.margin:.0f}%", "verdict": r.verdict + (f" ({r.why})" if r.why else "")}
