"""Reading the files of a run directory, which anyone may have handed the user: every read bounded.

Why (issue 21 item 9): ``samples/<case>.columns.json`` symlinked to /dev/zero made ``report`` read
3.8 GB into memory; a FIFO in its place would block forever; ``env.json`` nested 100,000 arrays
deep raised RecursionError in ``report``, ``compare`` and ``edgeprof.load()``. A run's file must be
a regular file (checked on the open descriptor, so a swap after the check changes nothing), no
larger than its kind's limit, and a JSON side file no deeper than ``MAX_DEPTH``; anything else is a
``RunError`` naming the file and the fix.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from edgeprof.errors import UsageError


class RunError(UsageError):
    """A run directory or records file cannot be read (one-line message). Defined here, the lowest
    reader; ``results.jsonl`` re-exports it where the rest of the code imports it from."""

#: side files (env.json, plan.json, baseline.json, suite.json, columns.json): far above any real one
JSON_LIMIT = 64 * 2**20
#: records.jsonl and the samples CSVs of one case
DATA_LIMIT = 2**30
MAX_DEPTH = 64


def read_bytes(path: str | Path, limit: int = JSON_LIMIT) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes."""
    path = Path(path)
    fd = _open_checked(path, limit)
    with os.fdopen(fd, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise RunError(f"{path} grew past {limit:,} bytes while being read; remove it or re-run the case")
    return data


def open_regular(path: str | Path, limit: int = DATA_LIMIT):
    """A text handle on a regular file of at most ``limit`` bytes (for streamed readers: csv)."""
    path = Path(path)
    return os.fdopen(_open_checked(path, limit), "r", newline="", encoding="utf-8")


def _open_checked(path: Path, limit: int) -> int:
    """A descriptor on ``path`` opened without blocking (a FIFO never hangs the reader), checked
    to be a regular file of at most ``limit`` bytes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise RunError(f"cannot read {path}: {exc.strerror or exc}") from None
    _check(path, fd, limit)
    return fd


def _check(path: Path, fd: int, limit: int) -> None:
    st = os.fstat(fd)
    why = ("is not a regular file (a device, FIFO or socket)" if not stat.S_ISREG(st.st_mode) else
           f"is {st.st_size:,} bytes, over the {limit:,} a run's file may hold" if st.st_size > limit else None)
    if why:
        os.close(fd)
        raise RunError(f"{path} {why}; remove it or re-run the case")


def too_deep(obj: Any, limit: int = MAX_DEPTH) -> bool:
    """True when ``obj`` nests lists/dicts deeper than ``limit`` (walked without recursion)."""
    stack = [(obj, 1)]
    while stack:
        x, depth = stack.pop()
        if isinstance(x, dict):
            x = list(x.values())
        elif not isinstance(x, list):
            continue
        if depth > limit:
            return True
        stack.extend((v, depth + 1) for v in x if isinstance(v, (dict, list)))
    return False


def load_json(path: str | Path, limit: int = JSON_LIMIT) -> Any:
    """A bounded, regular, valid and shallow JSON file's value."""
    path = Path(path)
    raw = read_bytes(path, limit)
    try:
        data = json.loads(raw)
    except RecursionError:
        data = None
        deep = True
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: invalid JSON ({str(exc)[:120]}); restore or remove the file") from None
    else:
        deep = too_deep(data)
    if deep:
        raise RunError(f"{path}: JSON nested deeper than {MAX_DEPTH} levels; restore or remove the file")
    return data
