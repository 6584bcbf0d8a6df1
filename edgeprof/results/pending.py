"""Runs waiting for their history store: a database that is down never loses a run.

Why a journal: the run directory is written first (records fsynced per case), the index is a
convenience. When the store cannot be reached (a PostgreSQL server down, a read-only SQLite file)
the run directory's path is appended to ``$EDGEPROF_HOME/history-pending.jsonl`` with the store it
was meant for; the next command that reaches that store (a bench, ``history``, ``compare``,
``fleet``) indexes the waiting runs first and says so. ``edgeprof history rebuild`` does it at once.

The journal is rewritten under an ``flock`` (two commands catching up at once index a run twice at
worst, which replaces its rows: indexing is idempotent).
"""
from __future__ import annotations

import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

from edgeprof.errors import command
from edgeprof.results.jsonl import RunError
from edgeprof.results.store import HistoryUnavailable, Target, resolve

Note = Callable[[str], None]


@dataclass(frozen=True)
class Entry:
    dir: str
    store: str       # Target.label: the store it waits for (never a password)
    since: str
    reason: str

    def to_dict(self) -> dict:
        return {"dir": self.dir, "store": self.store, "since": self.since, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: dict) -> "Entry":
        return cls(str(d["dir"]), str(d["store"]), str(d.get("since") or ""), str(d.get("reason") or ""))


def _path() -> Path:
    from edgeprof.home import pending_path

    return pending_path()


@contextmanager
def _locked() -> Iterator[list[Entry]]:
    """The journal's entries; what the block leaves in the list is written back."""
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - no flock on this platform
            pass
        with os.fdopen(os.dup(fd), "r", encoding="utf-8", errors="replace") as f:
            entries = []
            for line in f:
                try:
                    entries.append(Entry.from_dict(json.loads(line)))
                except (ValueError, KeyError, TypeError):
                    continue  # a torn line: that run is re-found by 'history rebuild DIR'
        before = list(entries)
        yield entries
        if entries != before:
            data = "".join(json.dumps(e.to_dict()) + "\n" for e in entries).encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            os.fsync(fd)
    finally:
        os.close(fd)


def waiting(target: Target | None = None) -> list[Entry]:
    """The runs waiting (for ``target`` only when given)."""
    if not _path().is_file():
        return []
    with _locked() as entries:
        return [e for e in entries if target is None or e.store == target.label]


def defer(run_dir: str | Path, target: Target, reason: str) -> None:
    entry = Entry(str(Path(run_dir).resolve()), target.label,
                  datetime.now(timezone.utc).isoformat(timespec="seconds"), reason)
    with _locked() as entries:
        entries[:] = [e for e in entries if not (e.dir == entry.dir and e.store == entry.store)] + [entry]


def catch_up(db: str | Path | Target | None = None, note: Note = lambda s: None) -> int:
    """Index the runs waiting for this store; returns how many were indexed. A store still down
    leaves them waiting (one line says so); a run directory that is gone is dropped, named."""
    from edgeprof.results.history import index_run

    target = db if isinstance(db, Target) else resolve(db)
    if not _path().is_file():
        return 0
    done = 0
    with _locked() as entries:
        mine = [e for e in entries if e.store == target.label]
        for e in mine:
            try:
                index_run(e.dir, target)
            except HistoryUnavailable as exc:
                note(f"{len(mine) - done} run(s) still wait for the history database ({exc})")
                break
            except RunError as exc:
                if Path(e.dir).is_dir():
                    note(f"{e.dir} still not indexed ({exc})")
                    continue
                note(f"{e.dir} waited for the history database but is gone; dropped from the waiting list")
            else:
                done += 1
            entries.remove(e)
    if done:
        note(f"indexed {done} run(s) that waited since the history database {target.label} was unreachable")
    return done


def index_or_defer(run_dir: str | Path, db: str | Path | None = None, note: Note = lambda s: None) -> str | None:
    """Index one run (after any that waited for the same store); when the store cannot take it,
    journal it and say so. Returns the run_id, or None when the run waits."""
    from edgeprof.results.history import index_run

    try:
        target = resolve(db)
    except RunError as exc:
        note(f"run not indexed ({exc}); results are in {run_dir}")
        return None
    catch_up(target, note)
    try:
        return index_run(run_dir, target)
    except (RunError, OSError) as exc:
        try:
            defer(run_dir, target, str(exc))
            later = "it is indexed by the next command that reaches it ('edgeprof history rebuild' does it now)"
        except OSError as jexc:
            later = f"and it could not be noted for later ({jexc}): run {command('history', 'rebuild', run_dir)}"
        note(f"run not indexed in the history database ({exc}); the run directory {run_dir} is kept and {later}")
        return None
