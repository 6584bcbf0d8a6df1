"""Optional extras: import a library that only some features need, or fail with one line that
names the pip command.

Why: plotting and DataFrames (``edgeprof[report]``: pandas, matplotlib, plotext) are not part of
the core install, so ``edgeprof --help``, ``bench`` and a board without a wheel for them stay light.
The error is a ``UsageError`` (exit 2, nothing written yet) and an ``ImportError``, so Python
callers can catch it the way they catch any missing module.
"""
from __future__ import annotations

import importlib
from types import ModuleType

from edgeprof.errors import UsageError

#: import name -> (extra that provides it, distribution name)
EXTRAS = {"pandas": ("report", "pandas"), "matplotlib": ("report", "matplotlib"), "plotext": ("report", "plotext"),
          "psycopg": ("fleet", "psycopg[binary]"), "asyncssh": ("fleet", "asyncssh"),
          "onnx": ("inference", "onnx"), "PIL": ("inference", "pillow")}


class MissingExtra(UsageError, ImportError):
    """A feature needs an optional dependency that is not installed."""


def need(module: str, feature: str) -> ModuleType:
    """``importlib.import_module(module)``, or ``MissingExtra`` naming ``feature`` and the fix."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        if exc.name is None or exc.name.split(".")[0] != top:
            raise  # the library is there but broken: that traceback is the useful message
        extra, dist = EXTRAS.get(top, (None, top))
        fix = f"pip install 'edgeprof[{extra}]'" if extra else f"pip install {dist}"
        raise MissingExtra(f"{feature} needs {dist}, which is not installed: {fix}") from None
