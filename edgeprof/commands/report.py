"""``edgeprof report RUN_DIR [RUN_DIR ...] --out DIR``: one self-contained ``report.html`` (images
embedded, nothing fetched) and ``report.md`` with ``figures/*.png`` (CONTRACTS "Front-ends");
``--terminal`` draws the key charts in the terminal instead and writes nothing.

Needs the optional ``edgeprof[report]`` extra (matplotlib, plotext); a missing extra, a missing run
or an existing report without ``--overwrite`` is one line and exit 2 before anything is written."""
from __future__ import annotations

import argparse
import os
import sys

HELP = "render runs as an offline HTML report + Markdown with figures, or as charts in the terminal"
DESCRIPTION = (HELP + ". RUN_DIR is a run directory (with records.jsonl) or a run_id in the history. The report "
               "holds the results table with the server comparison, Pareto plots of the trade-offs, each case's "
               "power and memory trace with its phases, latency distributions, the roofline and the environment.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directory or run_id in the history (several: "
                                                              "one report over all their cases)")
    p.add_argument("--out", default=None, help="report directory (default: RUN_DIR/report of the first run)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing report in --out")
    p.add_argument("--all-figures", action="store_true",
                   help="draw every case's trace and token timeline and a distribution row per case (default: at "
                        "most 24 and 40, one per configuration first; each figure costs about 0.2 s)")
    p.add_argument("--terminal", action="store_true", help="draw the key charts in the terminal; write nothing")
    p.add_argument("--width", type=int, default=None, help="terminal chart width in columns (default: the terminal's)")
    p.add_argument("--history", default=None, help="history database for run_ids (default $EDGEPROF_HISTORY or "
                                                   "$EDGEPROF_HOME/history.sqlite)")


def _resolve(name: str, db: str | None):
    from pathlib import Path

    from edgeprof.errors import UsageError
    from edgeprof.results.history import find_run

    p = Path(name)
    if p.is_file() and p.name == "records.jsonl":
        p = p.parent
    if p.is_dir():
        if not (p / "records.jsonl").is_file():
            raise UsageError(f"{p} is not a run directory (no records.jsonl); give the --out of an 'edgeprof bench'")
        return p
    hit = find_run(name, db)
    if hit is None:
        raise UsageError(f"no run directory or history run_id '{name}'; give the --out of an 'edgeprof bench' run")
    if not (hit / "records.jsonl").is_file():
        raise UsageError(f"run '{name}' is indexed at {hit}, which no longer holds records.jsonl")
    return hit


def run(args) -> int:
    from pathlib import Path

    from edgeprof.errors import UsageError
    from edgeprof.results.extras import need

    db = args.history or os.environ.get("EDGEPROF_HISTORY") or None
    dirs = [_resolve(r, db) for r in args.runs]
    if args.terminal:
        need("plotext", "edgeprof report --terminal")
        from edgeprof.views.report.terminal import render

        if args.width is not None and args.width < 40:
            raise UsageError(f"--width must be at least 40 columns, got {args.width}")
        sys.stdout.write(render(dirs, width=args.width))
        return 0
    need("matplotlib", "edgeprof report")
    from edgeprof.views.report.build import build_report

    out = Path(args.out) if args.out else dirs[0] / "report"
    files = build_report(dirs, out, overwrite=args.overwrite, all_figures=args.all_figures)
    for note in files.notes:
        print(f"edgeprof: {note}", file=sys.stderr)
    print(f"report: {files.html}\nmarkdown: {files.markdown} ({len(files.figures)} figures in "
          f"{files.markdown.parent / 'figures'})")
    return 0
