"""``edgeprof tui [MODEL ...]``: the front door. Without MODEL it opens the new-run screen; with a
MODEL (and any bench flag) it starts that run at once. A run started here writes exactly what
``edgeprof bench`` writes; after quitting, the results table is printed and the exit status is
bench's. Without a terminal it exits 2 at once, pointing at ``edgeprof bench``."""
from __future__ import annotations

import argparse

from edgeprof.commands import bench as bench_cmd

HELP = "the live terminal view: pick a model, watch it run next to server GPUs, browse history"
DESCRIPTION = (HELP + ". Takes bench's flags: with a MODEL the run starts at once, without one they fill the "
               "new-run form. Keys: ? lists them all.")


def _hz(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.5 <= v <= 30:
        raise argparse.ArgumentTypeError(f"must be between 0.5 and 30 refreshes per second, got {text}")
    return v


def add_arguments(p: argparse.ArgumentParser) -> None:
    bench_cmd.add_arguments(p)     # with --host: a run on another machine, streamed into the same live screen
    p.add_argument("--exit-when-done", action="store_true",
                   help="leave when the run ends, then print the table like bench (scripts, benchmarks)")
    p.add_argument("--refresh-hz", type=_hz, default=2.0,
                   help="screen refreshes per second (default 2, as nvitop and btop refresh at most; charts, "
                        "tokens and the clock follow it)")
    p.add_argument("--replay", metavar="EVENTS_JSONL", default=None,
                   help="show a recorded event stream (one Event.to_dict per line) instead of running")
    p.add_argument("--fleet", metavar="FLEET", default=None,
                   help="run a FLEET.toml on its boards over SSH (one line per board, Enter opens its live screen; "
                        "--out names the fleet directory), or resume a fleet directory")


def run(args) -> int:
    import sys

    from edgeprof.errors import UsageError

    # Textual reads keys from stdin and draws on stderr; stdout stays free for the table printed
    # after quitting, so `edgeprof tui -o json > run.json` works
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        raise UsageError("edgeprof tui needs a terminal (stdin and stderr are not one); run the same flags with "
                         "'edgeprof bench' for a headless run")
    opts = bench_cmd.options(args)
    from edgeprof.engine.session import exit_code
    from edgeprof.fleet import hostbench
    from edgeprof.results.printers import print_records
    from edgeprof.views.tui import homeform
    from edgeprof.views.tui.app import EdgeprofApp
    from edgeprof.views.tui.hostrun import HostRun
    from edgeprof.views.tui.runner import ReplayRun, RunController

    defaults = homeform.defaults_from(opts, host=args.host)
    if args.fleet:
        return _fleet(args, opts)
    ssh = hostbench.ssh_options(args)
    if args.replay:
        app = EdgeprofApp(run=ReplayRun.from_file(args.replay), refresh_hz=args.refresh_hz, home_defaults=defaults)
    elif (opts.models or opts.resume) and hostbench.wanted(args, opts):
        # on a host: its run directory and host are checked here (one line, exit 2) before the screen opens
        run = HostRun.of(opts, args.host, ssh)
        run.from_command_line = True
        app = EdgeprofApp(run=run.start(), exit_when_done=args.exit_when_done, refresh_hz=args.refresh_hz,
                          home_defaults=defaults, ssh=ssh)
    else:
        start = opts if (opts.models or opts.resume) else None
        app = EdgeprofApp(opts=start, exit_when_done=args.exit_when_done, refresh_hz=args.refresh_hz,
                          home_defaults=defaults, ssh=ssh)
    try:
        _run_on_terminal(app)
    finally:
        for r in app.runs:
            if r.own and r.alive:     # the app ended some other way than by its keys: stop what still runs
                r.control("interrupt")
    for r in app.runs:
        if r.own:
            r.join()   # a run cancelled by quitting still writes its cancelled row and its history entry
    hosts = [r for r in app.runs if isinstance(r, HostRun)]
    runs = [r for r in app.runs if isinstance(r, RunController)]
    failed = next((r for r in runs if r.exc is not None and r.from_command_line and not r.state.run_dir), None)
    if failed is not None:
        raise failed.exc    # e.g. an unknown MODEL on the command line: one line, exit 2, nothing written
    records, ran = [], False
    interrupted = [r for r in runs if r.interrupted]
    for r in runs:
        if r.session is not None and r.state.run_dir:
            ran = True
            recs = r.session.records()
            print_records(recs, opts.format, sys.stdout)
            if opts.format == "md":
                from edgeprof.compare.recommend import print_under_table

                print_under_table(recs, sys.stdout)
            print(f"results: {r.session.run_dir}/records.jsonl", file=sys.stderr)
            records += recs
    for r in hosts:
        records += _host_rows(r, opts)
        ran = True
    if interrupted:   # Ctrl-C: bench's line (what finished, the resume command) and exit 130
        r = interrupted[-1]
        if r.session is not None and r.state.run_dir:
            r.session.check_interrupted()
        from edgeprof.errors import Interrupted

        raise Interrupted("interrupted before the first case started; nothing was measured")
    for r in hosts:   # as bench --host ends: Ctrl-C or a board cut off names the resume command
        _host_ending(r)
    return exit_code(records) if ran else 0


def _host_rows(r, opts) -> list:
    """A host run's rows, printed as ``bench --host`` prints them (indexed in the history first)."""
    import sys

    from edgeprof.results.pending import index_or_defer
    from edgeprof.results.printers import print_records

    run_dir, recs = r.remote.run_dir, r.remote.records()
    if (run_dir / "records.jsonl").is_file():
        index_or_defer(run_dir, opts.history, lambda m: print(f"edgeprof: {m}", file=sys.stderr))
    if recs or (r.ended is not None and r.ended.state in ("done", "interrupted", "cut-off")):
        print_records(recs, opts.format, sys.stdout)
        print(f"results: {run_dir}/records.jsonl", file=sys.stderr)
    return recs


def _host_ending(r) -> None:
    """Raises as ``bench --host`` does for a run that did not end cleanly; a run cancelled by ``q``
    (not interrupted) ends like a local one cancelled so, by its rows."""
    from edgeprof.engine.session import exit_code
    from edgeprof.errors import FaultError
    from edgeprof.fleet.hostbench import finish

    if r.ended is None:
        raise FaultError(f"{r.host}: {r.error or 'the run ended without an answer from the board'}")
    if r.ended.state == "done" or (r.ended.state == "interrupted" and not r.interrupted):
        return
    finish(r.ended, r.remote.records(), r.remote.run_dir, exit_code)


def _fleet(args, opts) -> int:
    """``--fleet``: the fleet screen over every board; after quitting (which cancels what still
    runs, cleanly), the merged table like ``fleet run`` and its exit status."""
    import sys
    from pathlib import Path

    from edgeprof.fleet import fleetfile, fleetrun
    from edgeprof.views.tui.app import EdgeprofApp
    from edgeprof.views.tui.fleetview import FleetController

    where = Path(args.fleet)
    if where.is_dir():
        fleet, out, resume = fleetrun.open_fleet(where), where, True
    else:
        fleet, resume = fleetfile.load(where), False
        out = fleetrun.prepare(fleet, opts.out, opts.overwrite)
    ctl = FleetController(fleet, out, resume=resume).start()
    app = EdgeprofApp(fleet=ctl, exit_when_done=args.exit_when_done, refresh_hz=args.refresh_hz)
    try:
        _run_on_terminal(app)
    finally:
        ctl.cancel()     # quitting stops every board cleanly: their running cases are recorded as cancelled
        ctl.join()
    from edgeprof.commands.fleet import conclude

    ended = {b.name: b.ended for b in fleetrun.states(fleet, out) if b.ended is not None}
    return conclude(fleet, out, ended, opts.history, opts.format, lambda m: print(f"edgeprof: {m}", file=sys.stderr))


def _run_on_terminal(app) -> None:
    """Run the app; when stdout is a file, point fd 1 at the terminal meanwhile (Textual sizes the
    screen from stdout) and give it back for the table."""
    import os
    import sys

    if sys.stdout.isatty():
        app.run()
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        app.run()
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
