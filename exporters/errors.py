"""The one exception type of the exporters package.

Every failure a user can cause or fix (bad input, missing converter, no disk space) is raised as an
``ExportError`` whose message is ONE line that says what is wrong and what to do, so the CLI can
print it as is and exit with status 2 (bad usage) or 1 (nothing produced).
"""
from __future__ import annotations


class ExportError(Exception):
    """An export cannot proceed; ``str(err)`` is a one-line message naming the fix."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))
