"""``edgeprof bench --host USER@BOARD[:PORT] MODEL ...``: the same bench, run on a board over SSH,
shown and kept here as if it ran here (progress lines from the board's own events; records,
samples, env and plan copied into the local run directory, tagged with the board).

``bench --resume DIR`` of such a run (``DIR/remote.json``) resumes it on its board. Ctrl-C asks the
board to stop cleanly (its running case is recorded as cancelled), as a local Ctrl-C does.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

from edgeprof.errors import FaultError, Interrupted, UsageError, resume_command
from edgeprof.fleet.remote import BoardSpec, Ended, RemoteRun, remote_json
from edgeprof.fleet.ssh import SshOptions, Target

#: bench flags that stay on the laptop (where to write, what to print, which store)
LOCAL_ONLY = ("models", "out", "overwrite", "resume", "retry_failed", "quiet", "format", "history", "list_suites")


def ssh_options(args) -> SshOptions:
    return SshOptions(identity=tuple(args.identity or ()), known_hosts=args.known_hosts,
                      accept_new_host_key=bool(args.accept_new_host_key))


def wanted(args, opts) -> bool:
    return bool(getattr(args, "host", None)) or (opts.resume is not None and remote_json(opts.resume) is not None)


def remote_run(opts, host: str | None, ssh: SshOptions, note=lambda s: None, samples: bool = False) -> RemoteRun:
    """The remote run of ``bench --host HOST`` (or of ``--resume DIR`` of such a run: its board and
    its argument list from ``DIR/remote.json``), its local run directory checked as bench checks
    it. The TUI's new-run screen starts its host runs through here too. Raises ``UsageError``."""
    from edgeprof.engine.config import BenchOptions
    from edgeprof.engine.options import to_argv

    if opts.resume is not None:
        run_dir, info = Path(opts.resume), remote_json(opts.resume) or {}
        target = Target.parse(host or info.get("target") or "")
        if host and info.get("target") and str(target) != info["target"]:
            raise UsageError(f"--resume {run_dir} ran on {info['target']}, not {host}; drop --host")
        argv, models = list(info.get("argv") or []), list(info.get("models") or [])
    else:
        from edgeprof.engine.rundir import check_target

        target = Target.parse(host or "")
        run_dir = opts.out or Path("edgeprof-runs") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        check_target(run_dir, opts.overwrite)
        if opts.overwrite and run_dir.is_dir():
            shutil.rmtree(run_dir)
        argv, models = to_argv(BenchOptions, opts, skip=LOCAL_ONLY), list(opts.models)
    spec = BoardSpec(name=str(target), target=target, ssh=ssh)
    return RemoteRun(spec, run_dir, argv=argv, models=models, note=note, resume=opts.resume is not None,
                     samples=samples)


def run(args, opts, progress) -> int:
    """``progress``: the command's stderr view (``note``, ``on_event``, ``close``)."""
    from edgeprof.engine.session import exit_code
    from edgeprof.results.pending import index_or_defer
    from edgeprof.results.printers import print_records

    remote = remote_run(opts, args.host, ssh_options(args), progress.note)
    run_dir = remote.run_dir
    remote.fanout.add(progress.on_event)
    progress.note(f"benching on {remote.spec.target} -> {run_dir}")
    try:
        ended = drive([remote])[0]
    finally:
        progress.close()
    records = remote.records()
    if run_dir.is_dir() and (run_dir / "records.jsonl").is_file():
        index_or_defer(run_dir, opts.history, progress.note)
    if records or ended.state in ("done", "interrupted", "cut-off"):
        print_records(records, opts.format, sys.stdout)
    return finish(ended, records, run_dir, exit_code)


def finish(ended: Ended, records: list, run_dir: Path, exit_code) -> int:
    """The exit status, and one line for a run that did not end cleanly (with the resume command)."""
    ok = sum(r.ok for r in records)
    if ended.state == "interrupted":
        raise Interrupted(f"interrupted: {ok} case(s) finished and kept in {run_dir}/records.jsonl; finish the run "
                          f"with: {resume_command(run_dir)}")
    if ended.state == "cut-off":
        raise FaultError(f"{ended.message}; {ok} finished case(s) are kept in {run_dir}/records.jsonl — when the "
                         f"board is back, finish with: {resume_command(run_dir)}")
    if ended.state != "done":
        raise FaultError(ended.message) if ended.state != "refused" else UsageError(ended.message)
    return exit_code(records)


def drive(runs: list[Any], extra: list | None = None) -> list[Ended]:
    """Run the remote runs at once on one event loop (plus ``extra`` coroutines); the first Ctrl-C
    (or SIGTERM/SIGHUP) asks every board to stop cleanly, a second closes the connections."""
    async def main() -> list[Ended]:
        loop = asyncio.get_running_loop()
        tasks = [asyncio.ensure_future(r.run()) for r in runs]
        helpers = [asyncio.ensure_future(c) for c in extra or []]
        stops = {"n": 0}

        def stop() -> None:
            stops["n"] += 1
            for r in runs:
                r.cancel()
            if stops["n"] > 1:
                for t in tasks:
                    t.cancel()
        installed = []
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            try:
                if signal.getsignal(sig) is not signal.SIG_IGN:
                    loop.add_signal_handler(sig, stop)
                    installed.append(sig)
            except (ValueError, RuntimeError, NotImplementedError):   # not the main thread (the TUI)
                pass
        try:
            done = await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for sig in installed:
                loop.remove_signal_handler(sig)
            for h in helpers:
                h.cancel()
        return [d if isinstance(d, Ended) else Ended("interrupted" if isinstance(d, asyncio.CancelledError)
                                                       else "failed", f"{type(d).__name__}: {d}", 130)
                for d in done]
    return asyncio.run(main())
