"""The one exception type of the exporters package.

Every failure a user can cause or fix (bad input, missing converter, no disk space) is raised as an
``ExportError`` whose message is ONE line that says what is wrong and what to do, so the CLI can
print it as is. ``UsageError`` (a subclass) marks what is detected before anything is written
(bad targets or source, an existing output, too little disk or memory): the CLI exits 2 for it, and
1 for every other ``ExportError`` (a step failed, an artifact failed the quality gate).
"""
from __future__ import annotations


class ExportError(Exception):
    """An export cannot proceed; ``str(err)`` is a one-line message naming the fix."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class UsageError(ExportError):
    """Bad input found before any work started (CLI exit status 2)."""


def write_failure(path, exc: OSError) -> str:
    """What went wrong writing ``path``, in words a user can act on (a read-only or full disk, a
    missing permission, a file where a directory should be)."""
    import errno

    return {errno.EROFS: f"{path} is on a read-only filesystem",
            errno.ENOSPC: f"no space left on the device writing {path}",
            errno.EDQUOT: f"disk quota exceeded writing {path}",
            errno.EACCES: f"no permission to write {path}",
            errno.EPERM: f"no permission to write {path}",
            errno.ENOTDIR: f"cannot write {path}: a part of that path is a file",
            errno.EEXIST: f"cannot write {path}: a file is in the way"}.get(
                exc.errno, f"cannot write {path} ({exc.strerror or type(exc).__name__})")
