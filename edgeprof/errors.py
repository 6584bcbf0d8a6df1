"""Errors the command line turns into one line and an exit status (CONTRACTS "CLI conventions").

Every module raises one of these (or a subclass) for a problem the user can fix; the CLI prints
``edgeprof: error: <message>`` and exits with ``exit_code``. Nothing below the CLI prints.
"""
from __future__ import annotations


class EdgeprofError(Exception):
    """A problem with a one-line message that names the fix."""

    exit_code = 1


class UsageError(EdgeprofError):
    """Bad command line or input detected before anything is written: exit 2."""

    exit_code = 2


class FaultError(EdgeprofError):
    """The run could not go on (a full disk, a read-only output, a lost lock): exit 1, results
    already written are kept."""

    exit_code = 1


class Interrupted(EdgeprofError):
    """Stopped by the user (Ctrl-C) after a clean stop; the message says how to resume: exit 130."""

    exit_code = 130


def command(*argv) -> str:
    """A command line for a user to paste (STYLE rule 17): ``edgeprof`` and its arguments, each
    quoted for a POSIX shell by ``shlex.join``, so a model or set name holding quotes, ``;`` or
    ``$()`` stays one argument. An argument holding a control character (a newline) is written in
    ``$'...'`` form (bash, zsh, ksh; POSIX.1-2024), so the hint stays one line and pastes as typed."""
    import shlex

    args = ["edgeprof", *map(str, argv)]
    if all(a.isprintable() for a in args):
        return shlex.join(args)
    return " ".join(shlex.quote(a) if a.isprintable() else _ansi_c(a) for a in args)


def _ansi_c(arg: str) -> str:
    out = []
    for ch in arg:
        if ch in "\\'":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(ch) or
                       (f"\\x{code:02x}" if code < 0x80 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"))
    return "$'" + "".join(out) + "'"


def resume_command(run_dir) -> str:
    """The exact command that finishes a run, quoted for a POSIX shell."""
    return command("bench", "--resume", run_dir)


OUT_FIX = "pass --out DIR on a writable disk"


def os_fault(path, exc: OSError, *, run_dir=None, usage: bool = False, fix: str | None = None) -> EdgeprofError:
    """One line for a filesystem error while writing ``path``: what happened and the fix.

    ``run_dir`` set means a run with a plan exists there, so the fix is to resume it (every
    finished record is kept); ``usage`` means nothing was written yet (exit 2, CONTRACTS).
    ``fix`` replaces the ``--out`` advice for a path the user names another way (EDGEPROF_HOME)."""
    import errno

    table = {  # errno -> (what happened, the fix)
        errno.ENOSPC: ("no space left on the device writing {}", "free space"),
        errno.EDQUOT: ("disk quota exceeded writing {}", "free space"),
        errno.EROFS: ("{} is on a read-only filesystem", "pass --out DIR on a writable disk"),
        errno.EACCES: ("no permission to write {}", "pass --out DIR in a directory you may write"),
        errno.EPERM: ("no permission to write {}", "pass --out DIR in a directory you may write"),
        errno.ENOTDIR: ("cannot write {}: a part of that path is a file", "pass --out DIR naming a directory"),
    }
    head, default_fix = table.get(exc.errno, (f"cannot write {{}} ({exc.strerror or type(exc).__name__})", OUT_FIX))
    head = head.format(path)
    if fix is None or default_fix == "free space":
        fix = default_fix
    if run_dir is not None:
        msg = (f"{head}; every finished case is kept in {run_dir}/records.jsonl — {fix}, then run: "
               f"{resume_command(run_dir)}")
    else:
        msg = f"{head}; {fix}" + (" and run again" if fix == "free space" else "")
    return (UsageError if usage else FaultError)(msg)


def check_writable(target, *, named: str, fix: str = OUT_FIX) -> None:
    """Refuse (exit 2, nothing written) a directory ``target`` that cannot be made: a file in the
    way, a read-only filesystem, /proc or /sys, a missing permission. Only trying tells those
    apart, so a temporary directory is created and removed where ``target`` will go. ``named``
    is how the user named it (``--out X``, ``EDGEPROF_HOME X``); ``fix`` what to do instead."""
    import os
    import tempfile
    from pathlib import Path

    target = Path(target)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{named} is a file; name a directory")
    parent = target
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{named}: {parent} is a file, not a directory; "
                         f"{'pass --out DIR naming a directory' if fix == OUT_FIX else fix}")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".edgeprof-probe-", dir=parent))
    except OSError as exc:
        import errno

        if exc.errno == errno.ENOENT:   # parent exists, yet creating in it says "no such file": /proc, /sys
            raise UsageError(f"{named}: {parent} takes no new files (a virtual filesystem such as /proc or /sys); "
                             f"{fix}") from None
        raise UsageError(f"{named}: {os_fault(parent, exc, usage=True, fix=fix)}") from None


def unforeseen_os_error(exc: OSError, fix: str = OUT_FIX) -> EdgeprofError:
    """The CLI's last net for a filesystem error no command translated: still one line naming the
    path, and the fix where the error says what it is (a full disk, a read-only or forbidden
    place, a file in the way); anything else is the system's own words, never a traceback.
    ``fix``: ``home.home_fix(exc.filename)`` (a path under $EDGEPROF_HOME is fixed by moving it)."""
    import errno

    path = exc.filename or "a file"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.ENOTDIR):
        return os_fault(path, exc, fix=fix)
    return FaultError(f"{path}: {exc.strerror or type(exc).__name__}")
