"""``edgeprof tui [MODEL ...]``: the bench with a live Textual view (same flags as ``bench``)."""
from __future__ import annotations

import argparse

from edgeprof.commands import bench as bench_cmd

HELP = "run a bench with a live terminal view (power, memory, progress, results)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    bench_cmd.add_arguments(p)


def run(args) -> int:
    import sys

    from edgeprof.engine.sweep import Bench
    from edgeprof.compare.enrich import Enricher

    notes: list[str] = []
    p = bench_cmd.prepare(args, notes.append)
    if isinstance(p, int):
        return p
    bench = Bench(p.run_dir, p.run_id, p.device, p.settings)
    bench.enrich = Enricher(p.device.info().to_dict(), log=notes.append)
    from edgeprof.views.tui.app import EdgeprofApp

    app = EdgeprofApp(bench, p.cases, p.done)
    try:
        app.run()
    finally:
        for d in p.found:
            d.close()
    bench_cmd._index(p.run_dir)
    print(f"results: {p.run_dir}/records.jsonl", file=sys.stderr)
    return 0
