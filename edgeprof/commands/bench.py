"""``edgeprof bench [MODEL ...]``: run a sweep in isolated workers and print one row per case.

Every flag is a field of ``engine.config.BenchOptions`` (help, default and validation together);
``engine.session.RunSession`` does the rest the same way for every front-end."""
from __future__ import annotations

import argparse
import sys

HELP = "bench models on this device (llama.cpp, ONNX Runtime, PyTorch) with energy and memory"
DESCRIPTION = (HELP + ". Comma lists sweep; cases are the cross product of models x -p x -n x --depth x -t "
               "(x placement lists). MODEL is a GGUF/ONNX file, an export directory, an HF directory or a "
               "catalogue id (default: the packaged SmolLM2-135M-Instruct).")


def add_arguments(p: argparse.ArgumentParser, remote: bool = True) -> None:
    from edgeprof.engine.config import BenchOptions
    from edgeprof.engine.options import add_arguments as add

    add(p, BenchOptions)
    if remote:
        add_remote_arguments(p)


def add_remote_arguments(p: argparse.ArgumentParser) -> None:
    """``--host`` and its SSH options (``fleet/hostbench.py`` runs it)."""
    g = p.add_argument_group("on another machine, over SSH (needs edgeprof[fleet] here and edgeprof there)")
    g.add_argument("--host", metavar="USER@BOARD[:PORT]", default=None,
                   help="run the bench on this machine over SSH (key or agent login; host key checked against "
                        "~/.ssh/known_hosts); the results come back here")
    g.add_argument("--accept-new-host-key", action="store_true",
                   help="record the board's host key in known_hosts when it has none (a CHANGED key is refused)")
    g.add_argument("--identity", action="append", metavar="KEY", default=None,
                   help="private key file to log in with (repeatable; default ~/.ssh/id_* and the SSH agent)")
    g.add_argument("--known-hosts", metavar="FILE", default=None, help="known_hosts file (default ~/.ssh/known_hosts)")


def options(args):
    from edgeprof.engine.config import BenchOptions
    from edgeprof.engine.options import from_namespace

    return from_namespace(BenchOptions, args)


def run(args) -> int:
    from edgeprof.engine.session import RunSession, exit_code
    from edgeprof.errors import FaultError
    from edgeprof.results.printers import print_records
    from edgeprof.views.progress import Progress

    opts = options(args)
    if opts.list_suites:
        print(list_suites(opts.format))
        return 0
    from edgeprof.fleet import hostbench

    if hostbench.wanted(args, opts):
        return hostbench.run(args, opts, Progress(enabled=not opts.quiet))
    progress = Progress(enabled=not opts.quiet)
    session = RunSession.for_bench(opts, note=progress.note)
    if session.resuming and not opts.quiet:
        print(f"edgeprof: {session.resume_summary()}", file=sys.stderr)
    session.fanout.add(progress.on_event)
    progress.start(len(session.left), session.run_dir)
    try:
        records = session.run()
    except FaultError:
        progress.close()
        print_records(kept_records(session), opts.format, sys.stdout)  # what finished is shown, then the error
        raise
    finally:
        progress.close()
    print_records(records, opts.format, sys.stdout)
    if opts.format == "md":  # "which one should I deploy?", as far as the statistics support it
        from edgeprof.compare.recommend import print_under_table

        print_under_table(records, sys.stdout)
        from edgeprof.views import power_text

        power_text.print_under_table(records, sys.stdout)  # a power sweep's trade-off, --sustain's windows
    if session.suites and opts.format == "md" and (session.run_dir / "suite.json").is_file():
        import json

        from edgeprof.engine.suite_file import summaries
        from edgeprof.results.suite_text import summary_table

        print("\n" + summary_table(summaries(json.loads((session.run_dir / "suite.json").read_text()))))
    session.check_interrupted(records)
    if sys.stderr.isatty() or not opts.quiet:
        print(f"results: {session.run_dir}/records.jsonl", file=sys.stderr)
    return exit_code(records)


def kept_records(session) -> list:
    """The records already in the run directory (for a run that stops on a fault)."""
    from edgeprof.errors import EdgeprofError

    try:
        return session.records()
    except EdgeprofError:
        return []


def list_suites(fmt: str = "md") -> str:
    """``bench --list-suites``: each suite's name, version, cases and where the protocol comes from."""
    import json

    from edgeprof.analysis.suites import load, names

    rows = [load(n) for n in names()]
    if fmt in ("json", "jsonl"):
        return json.dumps([{"name": s.name, "version": s.version, "title": s.title, "cases": list(s.labels),
                            "source": s.source} for s in rows], indent=2)
    lines = ["| suite | version | cases | what |", "|---|---:|---|---|"]
    lines += [f"| {s.name} | {s.version} | {s.describe()} | {s.title} |" for s in rows]
    return "\n".join(lines)
