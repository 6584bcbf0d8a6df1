"""One process at a time per run directory: an ``fcntl.flock`` on ``<run>/.edgeprof.lock``.

Why: two ``--resume`` of the same run started 0.5 s apart both ran every case left, wrote each
twice, and measured each while the other loaded the same cores. The kernel drops a flock when
its holder dies (even by SIGKILL), so a crashed run never leaves a stale lock; the file keeps
the holder's PID only to name it in the refusal. The file itself is never deleted (deleting a
lock file lets a third process lock a new one while the second still holds the old).
Workers do not inherit the descriptor (Python opens it close-on-exec; workers are spawned).
"""
from __future__ import annotations

import os
import socket
from pathlib import Path

from edgeprof.errors import FaultError, os_fault

NAME = ".edgeprof.lock"


class RunLock:
    def __init__(self, run_dir: Path, fd: int | None):
        self.run_dir, self._fd = run_dir, fd

    @classmethod
    def acquire(cls, run_dir: Path) -> "RunLock":
        """Lock ``run_dir`` (which must exist) or raise a one-line error naming the holder."""
        try:
            import fcntl
        except ImportError:  # no flock on this platform: nothing to hold
            return cls(run_dir, None)
        path = run_dir / NAME
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise os_fault(path, exc, usage=True) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _holder(fd)
            os.close(fd)
            raise FaultError(f"{run_dir} is in use by another edgeprof ({holder}); wait for it to finish or "
                             f"stop it, then run the command again") from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        except OSError:
            pass  # the lock holds without the note; only the refusal message loses the PID
        return cls(run_dir, fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Idempotent; closing the descriptor drops the flock."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
    except OSError:
        text = []
    if text and text[0].isdigit():
        return f"pid {text[0]}" + (f" on {text[1]}" if len(text) > 1 else "")
    return "pid unknown"
