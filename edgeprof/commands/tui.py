"""``edgeprof tui [MODEL ...]``: the bench with a live Textual view (same flags as ``bench``)."""
from __future__ import annotations

import argparse

from edgeprof.commands import bench as bench_cmd

HELP = "run a bench with a live terminal view (power, memory, progress, results)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    bench_cmd.add_arguments(p)


def run(args) -> int:
    import sys

    from edgeprof.engine.session import RunSession, exit_code
    from edgeprof.errors import UsageError
    from edgeprof.results.printers import print_records

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("edgeprof tui needs a terminal (stdin and stdout are not one); run the same flags with "
                         "'edgeprof bench' for a headless run")
    opts = bench_cmd.options(args)
    notes: list[str] = []
    session = RunSession.for_bench(opts, note=notes.append)
    from edgeprof.views.tui.app import EdgeprofApp

    app = EdgeprofApp(session)
    app.run()
    records = session.records()
    print_records(records, opts.format, sys.stdout)
    print(f"results: {session.run_dir}/records.jsonl", file=sys.stderr)
    return exit_code(records)
