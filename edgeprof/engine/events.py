"""The one event stream (CONTRACTS.md, "Events"). Worker and parent emit these; the headless
renderer, the TUI, sinks and remote runs only consume them.

Events are plain dicts so they cross a pipe, a socket or a JSON-lines file unchanged:
``{"type": ..., "t_ns": time.monotonic_ns(), "case_id": ..., **payload}``.
"""
from __future__ import annotations

import time
from typing import Any, Callable

CASE_STARTED = "case_started"
LOADED = "loaded"
PHASE_STARTED = "phase_started"
PHASE_ENDED = "phase_ended"
FIRST_TOKEN = "first_token"
TOKEN_PROGRESS = "token_progress"
SAMPLE = "sample"
CASE_FINISHED = "case_finished"
CASE_FAILED = "case_failed"
#: Not in the worker protocol: run-level notices from the parent (idle baseline, skips, warnings).
RUN_NOTICE = "run_notice"

TYPES = (CASE_STARTED, LOADED, PHASE_STARTED, PHASE_ENDED, FIRST_TOKEN, TOKEN_PROGRESS, SAMPLE,
         CASE_FINISHED, CASE_FAILED, RUN_NOTICE)
TERMINAL = (CASE_FINISHED, CASE_FAILED)

Event = dict[str, Any]
Emit = Callable[[Event], None]


def make(type_: str, case_id: str | None, t_ns: int | None = None, **payload: Any) -> Event:
    if type_ not in TYPES:
        raise ValueError(f"unknown event type {type_!r}")
    return {"type": type_, "t_ns": time.monotonic_ns() if t_ns is None else t_ns,
            "case_id": case_id, **payload}
