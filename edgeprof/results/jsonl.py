"""``records.jsonl``: one JSON object per case, appended and fsynced when the case ends, so a
parent killed mid-sweep leaves every finished case in the file.

One writer, one reader, one policy for damage:
- ``append_record`` loops on short writes and raises on failure (a full disk is an error, never a
  half line that looks written); before appending it repairs a torn tail — the bytes after the
  last newline are moved to ``records.jsonl.torn`` for inspection — so a re-run record never
  lands glued to a broken one. ``replace_record`` swaps a re-run case's record in atomically, so
  a case appears once however often it is retried.
- ``read_records`` skips a torn LAST line with a warning (a write cut short by a crash or a full
  disk) and refuses a broken line in the middle, naming it (that is damage, not a crash).
"""
from __future__ import annotations

import errno
import json
import os
import warnings
from pathlib import Path
from typing import Any, Callable

from edgeprof.exporters.files import fsync_dir  # one implementation for exports and runs

from edgeprof.errors import resume_command
from edgeprof.results.bounded import DATA_LIMIT, RunError, read_bytes  # noqa: F401 (RunError re-exported)
from edgeprof.results.schema import Record, finite


class TornLineWarning(UserWarning):
    """The last line of a records file was cut short; it was skipped."""


def _write_all(fd: int, data: bytes) -> None:
    """os.write until every byte is written: a short write (a filling disk, a file size limit)
    continues, and the next write raises the real error (ENOSPC, EFBIG)."""
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.EIO, f"short write ({len(data) - len(view)} of {len(data)} bytes)")
        view = view[n:]


def _tail(f, size: int, chunk: int = 1 << 16) -> int:
    """Offset just past the last newline of an open file (0 when there is none), reading back
    from the end in chunks so a large file is never read whole."""
    pos = size
    while pos > 0:
        start = max(0, pos - chunk)
        f.seek(start)
        i = f.read(pos - start).rfind(b"\n")
        if i >= 0:
            return start + i + 1
        pos = start
    return 0


def repair_tail(path: Path) -> int:
    """Make ``path`` end with a newline before anything is appended; returns the bytes moved.

    A last line without its newline is either a whole record written by something that did not
    end it (kept: a newline is added) or a write cut short (moved to ``<path>.torn`` for
    inspection, best effort, then cut off — truncating frees space, so it works on a full disk)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0
    if size == 0:
        return 0
    with open(path, "rb+") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return 0
        keep = _tail(f, size)
        f.seek(keep)
        torn = f.read()
        if _is_record(torn):
            f.seek(size)
            f.write(b"\n")
            f.flush()
            os.fsync(f.fileno())
            return 0
        try:
            with open(path.with_name(path.name + ".torn"), "ab") as t:
                t.write(torn + b"\n")
        except OSError:
            pass  # the torn bytes are a broken record; keeping the file readable comes first
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    return size - keep


def _is_record(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False


def _line(record: dict[str, Any]) -> bytes:
    return (json.dumps(finite(record), separators=(",", ":"), default=_default, allow_nan=False) + "\n").encode()


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Append one record and fsync it. Raises OSError (a full disk, a read-only file) after
    cutting off whatever part of the line reached the file, so the file stays valid JSONL."""
    line = _line(record)
    repair_tail(path)
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _write_all(fd, line)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        repair_tail(path)  # never leave a half record that the next append would glue onto
        raise
    os.close(fd)
    if created:
        fsync_dir(path.parent)


def replace_record(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` in place of the line(s) with its ``case_id`` (a re-run of a failed or
    cancelled case), atomically: temp file, fsync, rename — the old file stays whole until the
    new one is. Lines of other cases are kept byte for byte."""
    line = _line(record)
    repair_tail(path)
    cid = record.get("case_id")
    kept = []
    for raw in path.read_bytes().split(b"\n") if path.exists() else []:
        if not raw.strip():
            continue
        try:
            same = json.loads(raw).get("case_id") == cid
        except (ValueError, UnicodeDecodeError, AttributeError, RecursionError):
            same = False
        if not same:
            kept.append(raw + b"\n")
    write_atomic(path, b"".join(kept) + line)


def write_atomic(path: Path, data: bytes, tmp: Path | None = None) -> None:
    """``data`` as ``path``: a temporary file (``O_NOFOLLOW``: a link planted there is never
    followed), fsynced, renamed over ``path`` (a link there is replaced, not followed); on failure
    the temporary file is removed and ``path`` is left as it was."""
    tmp = tmp or path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_dir(path.parent)


def read_records(path: str | Path, warn: Callable[[str], None] | None = None) -> list[Record]:
    """Every record of a file (see the module docstring for torn lines)."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"no records file: {path}")
    lines = read_bytes(path, DATA_LIMIT).split(b"\n")  # a regular file, bounded (not /dev/zero, not a FIFO)
    last = max((i for i, x in enumerate(lines) if x.strip()), default=-1)
    out = []
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            out.append(Record.from_dict(json.loads(raw)))
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError, AttributeError, KeyError,
                RecursionError) as exc:
            if i == last:
                msg = (f"{path}:{i + 1}: last line is torn ({len(raw)} bytes, a write cut short); skipped — "
                       f"{resume_command(path.parent)} re-runs that case")
                (warn or (lambda m: warnings.warn(m, TornLineWarning, stacklevel=3)))(msg)
                continue
            raise RunError(f"{path}:{i + 1}: invalid record ({type(exc).__name__}: {str(exc)[:80]}); the file is "
                           f"damaged in the middle — restore it or remove that line") from None
    return out


def _default(o: Any) -> Any:
    if hasattr(o, "to_dict"):
        return o.to_dict()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def write_json(path: Path, data: Any) -> None:
    """Atomic JSON file write (temp + fsync + rename); NaN/inf become null. On failure (a full
    disk) the temp file is removed and the old file, if any, is left as it was."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    text = json.dumps(finite(data) if isinstance(data, (dict, list)) else data, indent=2, default=_default,
                      allow_nan=False) + "\n"
    try:
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
