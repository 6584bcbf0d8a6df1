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
