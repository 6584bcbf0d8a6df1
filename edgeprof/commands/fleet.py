"""``edgeprof fleet run FLEET.toml`` / ``fleet run --resume DIR`` / ``fleet status FLEET.toml``: a
shelf of boards benched at once over SSH, one merged table (a row per board × case), every board's
run kept in the fleet directory and indexed in the history. The file's format is in
``fleet/fleetfile.py`` and the README."""
from __future__ import annotations

import argparse
import sys

from edgeprof.commands.common import add_format

HELP = "bench a shelf of boards at once over SSH (FLEET.toml), or check them (fleet status)"
DESCRIPTION = (HELP + ". Boards run concurrently, one case at a time each; an unreachable or cut-off board "
               "becomes rows that say so and 'fleet run --resume DIR' finishes exactly its missing cases.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="fleet_action", metavar="ACTION")
    r = sub.add_parser("run", help="run the FLEET.toml matrix on every board; print one merged table")
    r.add_argument("fleet", nargs="?", metavar="FLEET.toml", help="the fleet file (not with --resume)")
    r.add_argument("--resume", metavar="DIR", default=None, help="finish the missing cases of an earlier fleet run")
    r.add_argument("--out", metavar="DIR", default=None, help="fleet directory (default ./edgeprof-fleets/<timestamp>)")
    r.add_argument("--overwrite", action="store_true", help="replace an existing fleet directory")
    r.add_argument("--accept-new-host-key", action="store_true",
                   help="record a board's host key in known_hosts when it has none (a CHANGED key is refused)")
    r.add_argument("--history", metavar="DB", default=None, help="history store (SQLite file or postgresql:// URL)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    add_format(r, ("md", "csv", "json", "jsonl"))
    s = sub.add_parser("status", help="check every board: reachable, edgeprof version, devices, free disk")
    s.add_argument("fleet", metavar="FLEET.toml")
    s.add_argument("--accept-new-host-key", action="store_true",
                   help="record a board's host key in known_hosts when it has none (a CHANGED key is refused)")
    s.add_argument("--timeout", type=float, default=20.0, help="seconds per board (default 20)")
    add_format(s, ("md", "json"))


def run(args) -> int:
    from edgeprof.errors import UsageError

    if args.fleet_action == "status":
        return _status(args)
    if args.fleet_action != "run":
        raise UsageError("edgeprof fleet needs an action: run FLEET.toml, run --resume DIR, or status FLEET.toml")
    if bool(args.fleet) == bool(args.resume):
        raise UsageError("edgeprof fleet run takes FLEET.toml for a new run, or --resume DIR (not both)")
    return _run(args)


def _status(args) -> int:
    import json

    from edgeprof.fleet import fleetfile, status

    fleet = fleetfile.load(args.fleet)
    rows = status.status(fleet.accepting_new_host_keys() if args.accept_new_host_key else fleet, args.timeout)
    print(json.dumps(rows, indent=2) if args.format == "json" else status.markdown(rows), end="")
    return 0 if all(r["state"] == "ok" for r in rows) else 1


def _run(args) -> int:
    from pathlib import Path

    from edgeprof.engine.fanout import Fanout
    from edgeprof.fleet import fleetfile, fleetrun
    from edgeprof.fleet.hostbench import drive
    from edgeprof.views.progress import Progress

    note = (lambda m: None) if args.quiet else _note
    if args.resume:
        out = Path(args.resume)
        fleet = fleetrun.open_fleet(out)
    else:
        fleet = fleetfile.load(args.fleet)
        out = fleetrun.prepare(fleet, Path(args.out) if args.out else None, args.overwrite)
    if args.accept_new_host_key:
        fleet = fleet.accepting_new_host_keys()

    def fanout_for(name: str) -> Fanout:
        return Fanout([Progress(enabled=not args.quiet, board=name).on_event])

    runs = fleetrun.runs(fleet, out, bool(args.resume), fanout_for, note)
    note(f"{len(runs)} board(s) -> {out}")
    ended = dict(zip((r.spec.name for r in runs), drive(runs))) if runs else {}
    for name, e in ended.items():
        if e.state != "done":
            note(f"{name}: {e.state}: {e.message}")
    return conclude(fleet, out, ended, args.history, args.format, note)


def conclude(fleet, out, ended: dict, history: str | None, fmt: str, note) -> int:
    """The end of a fleet run (``fleet run``, ``tui --fleet``): every board's run indexed, the
    merged table printed, and the exit status — with the command that finishes what is missing."""
    from edgeprof.errors import FaultError, Interrupted, command
    from edgeprof.fleet import fleetrun, table
    from edgeprof.results.pending import index_or_defer

    for b in fleet.boards:
        d = fleetrun.board_dir(out, b.name)
        if (d / "records.jsonl").is_file():
            index_or_defer(d, history, note)
    rows = table.rows(fleetrun.states(fleet, out))
    print(table.render(rows, fmt), end="")
    again = command("fleet", "run", "--resume", out)
    if any(e.state == "interrupted" for e in ended.values()):
        raise Interrupted(f"interrupted; every finished case is kept in {out}/boards/*/records.jsonl — finish with: "
                          f"{again}")
    if not table.complete(rows):
        pending = sum(1 for _, x in rows if isinstance(x, table.Pending))
        if pending:
            raise FaultError(f"{pending} case(s) pending on {sum(1 for e in ended.values() if e.state != 'done')} "
                             f"board(s); when they are back, finish with: {again}")
        return 1
    note(f"results: {out}/boards/*/records.jsonl")
    return 0


def _note(message: str) -> None:
    print(f"edgeprof: {message}", file=sys.stderr, flush=True)
