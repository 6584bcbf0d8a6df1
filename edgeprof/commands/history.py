"""``edgeprof history [list|rebuild] [DIR ...] [--history DB]``: the runs a history store holds, and
re-indexing run directories into it (the run directory is the truth, the store an index).

``rebuild`` with DIRs indexes each run directory found there (a run, a fleet's boards, or a folder
of runs); without DIRs it re-indexes every run the store knows whose directory still exists, and
every run that waited for the store while it was down."""
from __future__ import annotations

import argparse
import sys

from edgeprof.commands.common import add_format

HELP = "list the runs in the history store (SQLite or PostgreSQL) or rebuild it from run directories"
DESCRIPTION = (HELP + ". The store is --history (a SQLite file or a postgresql://user@host/db URL), else "
               "$EDGEPROF_HISTORY, else 'history' in $EDGEPROF_HOME/config.toml, else "
               "$EDGEPROF_HOME/history.sqlite.")
MAX_DEPTH = 3   # a fleet directory holds boards/<name>/records.jsonl


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=("list", "rebuild"), default="list",
                   help="list (default) the indexed runs, or rebuild the index from run directories")
    p.add_argument("dirs", nargs="*", metavar="DIR", help="rebuild: run directories or folders holding them")
    p.add_argument("--history", default=None, metavar="DB", help="the store (SQLite file or postgresql:// URL)")
    add_format(p, ("md", "csv", "json"))


def run(args) -> int:
    from edgeprof.errors import UsageError
    from edgeprof.results.pending import catch_up, waiting
    from edgeprof.results.store import resolve

    target = resolve(args.history)
    if args.action == "list" and args.dirs:
        raise UsageError(f"'edgeprof history list' takes no DIR; did you mean: edgeprof history rebuild "
                         f"{' '.join(args.dirs)}")
    note = _note
    catch_up(target, note)
    if args.action == "rebuild":
        return rebuild(target, args.dirs, note)
    from edgeprof.results.history import list_runs

    runs = list_runs(target) if target.exists else []
    print(_render(runs, args.format))
    left = waiting(target)
    if left:
        note(f"{len(left)} run(s) wait for this store (it was unreachable): 'edgeprof history rebuild' indexes them")
    if not runs:
        note(f"no runs in {target.label} yet: every 'edgeprof bench' run is indexed there when it ends")
    return 0


def _note(message: str) -> None:
    print(f"edgeprof: {message}", file=sys.stderr)


def run_dirs(top, depth: int = MAX_DEPTH) -> list:
    """Run directories (holding records.jsonl) at or under ``top``, at most ``depth`` levels down,
    never following links out of it."""
    from pathlib import Path

    top = Path(top)
    if (top / "records.jsonl").is_file():
        return [top]
    if depth == 0 or not top.is_dir():
        return []
    out = []
    for child in sorted(top.iterdir()):
        if child.is_dir() and not child.is_symlink():
            out += run_dirs(child, depth - 1)
    return out


def rebuild(target, dirs: list[str], note=_note) -> int:
    from pathlib import Path

    from edgeprof.errors import UsageError
    from edgeprof.results.history import RunError, index_run, list_runs

    if dirs:
        missing = [d for d in dirs if not Path(d).is_dir()]
        if missing:
            raise UsageError(f"no such directory: {missing[0]}; give run directories (with records.jsonl) or "
                             f"folders holding them")
        found = [r for d in dirs for r in run_dirs(d)]
        if not found:
            raise UsageError(f"no run directory (with records.jsonl) in {', '.join(dirs)}")
    else:
        found = [Path(r["dir"]) for r in list_runs(target)] if target.exists else []
    done, problems = 0, []
    for d in dict.fromkeys(Path(x).resolve() for x in found):
        if not d.is_dir():
            problems.append(f"{d}: gone (its rows stay in the index)")
            continue
        try:
            index_run(d, target)
            done += 1
        except RunError as exc:
            problems.append(str(exc))
    for p in problems:
        note(f"not indexed: {p}")
    print(f"indexed {done} run(s) into {target.label}" + (f"; {len(problems)} not" if problems else ""))
    return 0 if not problems or done else 1


def _render(runs: list[dict], fmt: str) -> str:
    import json

    from edgeprof.results.cells import csv_row, md_cell

    if fmt == "json":
        return json.dumps(runs, indent=2)
    cols = ("run_id", "started_at", "host", "board", "origin", "device", "n_records", "dir")
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        w.writerows([csv_row(r) for r in runs])
        return buf.getvalue().rstrip("\n")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in runs:
        lines.append("| " + " | ".join(md_cell(r.get(c)) for c in cols) + " |")
    return "\n".join(lines)
