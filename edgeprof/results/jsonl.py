"""``records.jsonl``: one JSON object per case, appended and fsynced when the case ends, so a
parent killed mid-sweep leaves every finished case in the file.

One writer, one reader, one policy for damage:
- ``append_record`` loops on short writes and raises on failure (a full disk is an error, never a
  half line that looks written); before appending it repairs a torn tail — the bytes after the
  last newline are moved to ``records.jsonl.torn`` for inspection — so a re-run record never
  lands glued to a broken one.
- ``read_records`` skips a torn LAST line with a warning (a write cut short by a crash or a full
  disk) and refuses a broken line in the middle, naming it (that is damage, not a crash).
"""
from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any, Callable

from edgeprof.errors import UsageError
from edgeprof.results.schema import Record, finite


class RunError(UsageError):
    """A run directory or records file cannot be read (one-line message)."""


class TornLineWarning(UserWarning):
    """The last line of a records file was cut short; it was skipped."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(f"short write ({len(data) - len(view)} of {len(data)} bytes)")
        view = view[n:]


def repair_tail(path: Path) -> int:
    """Cut a torn last line (no trailing newline) off ``path``, keeping it in ``<path>.torn``;
    returns the number of bytes moved."""
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
        f.seek(0)
        data = f.read()
        keep = data.rfind(b"\n") + 1
        with open(path.with_name(path.name + ".torn"), "ab") as torn:
            torn.write(data[keep:] + b"\n")
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    return size - keep


def append_record(path: Path, record: dict[str, Any]) -> None:
    line = (json.dumps(finite(record), separators=(",", ":"), default=_default, allow_nan=False) + "\n").encode()
    repair_tail(path)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        _write_all(fd, line)
        os.fsync(fd)
    except OSError:
        os.close(fd)
        repair_tail(path)  # never leave a half record that the next append would glue onto
        raise
    os.close(fd)


def read_records(path: str | Path, warn: Callable[[str], None] | None = None) -> list[Record]:
    """Every record of a file (see the module docstring for torn lines)."""
    path = Path(path)
    if not path.is_file():
        raise RunError(f"no records file: {path}")
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        raise RunError(f"cannot read {path}: {exc.strerror or exc}") from None
    last = max((i for i, x in enumerate(lines) if x.strip()), default=-1)
    out = []
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            out.append(Record.from_dict(json.loads(raw)))
        except (json.JSONDecodeError, UnicodeDecodeError, TypeError, ValueError, AttributeError) as exc:
            if i == last:
                msg = (f"{path}:{i + 1}: last line is torn ({len(raw)} bytes, a write cut short); skipped — "
                       f"'edgeprof bench --resume {path.parent}' re-runs that case")
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
    """Atomic JSON file write (temp + fsync + rename); NaN/inf become null."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w") as f:
        f.write(json.dumps(finite(data) if isinstance(data, (dict, list)) else data, indent=2, default=_default,
                           allow_nan=False) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
