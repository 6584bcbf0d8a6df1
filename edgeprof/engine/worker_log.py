"""The worker's native output goes to a log in the run directory, never to the parent's streams.

Why (issue 21 item 7): a runtime's C code writes to file descriptors 1 and 2 directly (llama.cpp's
loader, a native abort's backtrace, ``[New LWP ...]`` from a debugger it calls). Inherited, those
lines land in the middle of ``-o json`` on stdout or tear the progress display. The worker points
both descriptors at ``logs/<case_id>.log`` before it imports a runtime; the parent removes an empty
log and copies the end of a non-empty one into a failed row, so the cause of a crash stays with it.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

#: what a failed row quotes from the log: its last lines, at most this many characters
EXCERPT_CHARS = 1200
EXCERPT_LINES = 12
_CAUSE = re.compile(r"fatal|error|assert|abort|fault|exception", re.I)


def log_path(run_dir: Path, case_id: str) -> Path:
    return run_dir / "logs" / f"{case_id}.log"


def redirect(path: str | None, quiet: bool = False) -> None:
    """In the worker: fds 1 and 2 → the case's log (appended), or /dev/null when there is no log
    and ``quiet``; Python's own ``print`` follows the descriptors. A native crash (SIGSEGV,
    SIGABRT, SIGFPE) then writes the Python stack it happened under into the log (faulthandler),
    which the failed row quotes."""
    target = None
    if path:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
        except OSError:
            target = None  # no log possible (a full disk): the output is dropped, not shown
    if target is None and (path or quiet):
        target = os.open(os.devnull, os.O_WRONLY)
    if target is not None:
        os.dup2(target, 1)
        os.dup2(target, 2)
        os.close(target)
    if path:
        import faulthandler
        import sys

        faulthandler.enable(file=sys.stderr, all_threads=False)


def excerpt(path: Path) -> str | None:
    """The last lines of a log (a bounded read from its end), printable; None when empty or absent."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - 4 * EXCERPT_CHARS))
            raw = f.read(4 * EXCERPT_CHARS)
    except OSError:
        return None
    text = raw.decode("utf-8", "replace")
    lines = ["".join(ch if ch.isprintable() else "?" for ch in x) for x in text.splitlines() if x.strip()]
    last = lines[-EXCERPT_LINES:]
    # the line that says what happened ("Fatal Python error: ...", "GGML_ASSERT(...) failed") first,
    # when the last lines (a stack) pushed it out
    cause = [x for x in lines[:-EXCERPT_LINES] if _CAUSE.search(x)][:2]
    head = "".join(x[:200] + "\n" for x in cause) + ("...\n" if cause else "")
    tail = "\n".join(last)[-(EXCERPT_CHARS - len(head)):]
    return (head + tail) if tail else None


def settle(path: Path) -> str | None:
    """After a case: an empty log is removed; a non-empty one's excerpt is returned."""
    try:
        if path.stat().st_size == 0:
            path.unlink()
            try:
                path.parent.rmdir()  # logs/ stays only where a case wrote something
            except OSError:
                pass
            return None
    except OSError:
        return None
    return excerpt(path)
