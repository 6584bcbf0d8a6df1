"""The shapes a run's side files (env.json, plan.json, baseline.json, suite.json) must have where
edgeprof reads into them, checked once when a run is loaded (``history.load_run``).

Why here and not at every reader: a run directory is untrusted input (anyone can hand one over),
and a side file whose ``sensors`` is a number or whose ``baseline`` holds a list for a power made
``report`` fail deep inside a table with a traceback (issue 21 item 9, found by the structural
damage of tests/faults/test_hostile_runs.py). A file of the wrong shape is a ``RunError`` naming
the file, the field and the fix, like a damaged record; a file that is merely absent is fine.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from edgeprof.results.bounded import RunError


def _of(data: dict, key: str, kind: type, what: str) -> str | None:
    v = data.get(key)
    return None if v is None or isinstance(v, kind) else f"{key} is {type(v).__name__}, not {what}"


def _objects(data: dict, key: str) -> str | None:
    bad = _of(data, key, list, "a list")
    if bad:
        return bad
    return next((f"{key}[{i}] is {type(x).__name__}, not an object" for i, x in enumerate(data.get(key) or [])
                 if not isinstance(x, dict)), None)


def _env(d: dict) -> str | None:
    return _of(d, "device", dict, "an object") or _objects(d, "sensors") or _objects(d, "devices")


def _plan(d: dict) -> str | None:
    return _objects(d, "cases") or _of(d, "settings", dict, "an object")


def _baseline(d: dict) -> str | None:
    from edgeprof.results.conditions import IdleBaseline

    try:
        IdleBaseline.from_dict(d)
    except (ValueError, TypeError) as exc:
        return str(exc)[:160]
    return None


def _suite(d: dict) -> str | None:
    from edgeprof.results.schema import Record

    if "suites" not in d:
        return _of(d, "summary", dict, "an object")
    bad = _objects(d, "suites")
    for i, s in enumerate(d.get("suites") or []):
        bad = bad or _objects(s, "summaries")
        for j, x in enumerate([] if bad else s.get("summaries") or []):
            try:
                Record.from_dict(x)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                return f"suites[{i}].summaries[{j}] is not a record ({str(exc)[:120]})"
    return bad


CHECKS: dict[str, Callable[[dict], str | None]] = {"env": _env, "plan": _plan, "baseline": _baseline,
                                                    "suite": _suite}


def check(name: str, data: Any, path: Path) -> None:
    """Raise ``RunError`` when side file ``name`` (a JSON object already) has a field of the wrong shape."""
    problem = CHECKS[name](data) if name in CHECKS else None
    if problem:
        raise RunError(f"{path}: {problem}; restore or remove the file")
