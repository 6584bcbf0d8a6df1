"""The run directory: checked before anything is written, then created and locked.

A bad ``--out`` (a file, an existing run, a read-only filesystem, /proc) is bad usage and exits 2
with nothing written (CONTRACTS "CLI conventions"); the check creates and removes a temporary
directory where the run will go, because only trying tells a read-only mount or /proc apart.
Creating happens under the run lock (``runlock.py``), so two runs given the same ``--out`` can
never both write it, and ``--overwrite`` never deletes the lock another process waits on.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from edgeprof.engine.runlock import NAME as LOCK_NAME
from edgeprof.engine.runlock import RunLock
from edgeprof.errors import UsageError, check_writable, resume_command
from edgeprof.results.jsonl import write_json


def occupied(run_dir: Path) -> bool:
    """Whether ``run_dir`` already has anything in it but a lock (a new run there needs --overwrite)."""
    return run_dir.is_dir() and any(p.name != LOCK_NAME for p in run_dir.iterdir())


def check_target(run_dir: Path, overwrite: bool) -> None:
    """A new run's directory, checked before anything is written (exit 2 on a bad --out): not a
    file, not an existing run unless --overwrite, and somewhere a directory can be created."""
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"--out {run_dir} is a file; name a directory")
    if occupied(run_dir) and not overwrite:
        raise _holds_a_run(run_dir)
    _probe_writable(run_dir)


def _holds_a_run(run_dir: Path) -> UsageError:
    return UsageError(f"{run_dir} already holds a run; pass --overwrite to replace it, or finish it with: "
                      f"{resume_command(run_dir)}")


def _probe_writable(run_dir: Path) -> None:
    """Create and remove a temporary directory where the run directory will go: catches a
    read-only filesystem, /proc or /sys, a missing permission, or a file in the way."""
    check_writable(run_dir, named=f"--out {run_dir}")


def create_run_dir(run_dir: Path, plan: dict[str, Any] | None, overwrite: bool,
                   lock: RunLock | None = None) -> RunLock:
    """Make the directory, lock it, check again that it is free (another run may have started
    since the first check), clear it for --overwrite and write plan.json; returns the lock.
    OSError is left to the caller, which knows whether a plan exists to resume."""
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = lock or RunLock.acquire(run_dir)
    others = [p for p in run_dir.iterdir() if p.name != LOCK_NAME]
    if others and not overwrite:
        lock.release()
        raise _holds_a_run(run_dir)
    for p in others:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()
    write_json(run_dir / "plan.json", plan)
    return lock
