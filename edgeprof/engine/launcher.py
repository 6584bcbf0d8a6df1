"""The parent side of a case: start the worker, block on its event pipe, enforce the timeout and
the RSS limit, and turn every way a worker can end into an outcome.

The parent never spins: it waits in ``Connection.poll(timeout)`` (a select on the pipe) and the
sampler waits on its own timer. A worker that dies without a terminal event (SIGKILL, segfault,
OOM killer) is recognised by EOF on the pipe plus its exit code.
"""
from __future__ import annotations

import multiprocessing as mp
import signal
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from edgeprof.engine import events as ev

#: how long the parent blocks per wait; bounds reaction time to timeouts and RSS limits.
WAIT_S = 0.5


@dataclass
class Outcome:
    status: str = "failed"                   # ok | failed
    reps: list[dict] = field(default_factory=list)
    loaded: dict[str, Any] = field(default_factory=dict)
    phases: list[dict] = field(default_factory=list)
    error: dict[str, Any] | None = None
    pid: int | None = None
    t_start_ns: int = 0
    t_end_ns: int = 0
    worker_stats: dict[str, Any] = field(default_factory=dict)


def _signal_name(code: int | None) -> str | None:
    if code is None or code >= 0:
        return None
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def run_case(spec: dict[str, Any], on_event: Callable[[dict], None], *, timeout_s: float,
             on_start: Callable[[int], None] | None = None,
             rss_over_limit: Callable[[], bool] | None = None) -> Outcome:
    """Run one case in a fresh worker. ``on_start(pid)`` lets the sampler attach to the worker;
    ``rss_over_limit()`` is polled between waits (the sampler knows the worker's RSS)."""
    from edgeprof.engine.worker import child_main

    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=child_main, args=(spec, send), daemon=True, name=f"edgeprof-{spec['case_id'][:8]}")
    out = Outcome(t_start_ns=time.monotonic_ns())
    proc.start()
    send.close()
    out.pid = proc.pid
    if on_start:
        on_start(proc.pid)
    deadline = time.monotonic() + timeout_s
    last_phase = "start"
    open_phases: dict[str, dict[str, Any]] = {}
    kill_reason: dict[str, Any] | None = None
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                kill_reason = {"kind": "timeout", "message": f"case exceeded --timeout {timeout_s:g} s"}
                break
            if rss_over_limit and rss_over_limit():
                kill_reason = {"kind": "max_rss", "message": "worker RSS exceeded --max-rss"}
                break
            try:
                if not recv.poll(min(WAIT_S, remaining)):
                    continue
                event = recv.recv()
            except (EOFError, OSError):
                break  # worker is gone; its exit code says how
            kind = event["type"]
            if kind not in ev.TERMINAL:  # the parent emits the terminal event with the full record
                on_event(event)
            if kind == ev.PHASE_STARTED:
                if event["name"] != "repetition":
                    last_phase = event["name"]
                open_phases[event["name"]] = {"name": event["name"], "t0_ns": event["t_ns"],
                                              "rep": event.get("rep"), "label": event.get("label")}
            elif kind == ev.PHASE_ENDED and event["name"] in open_phases:
                ph = open_phases.pop(event["name"])
                ph["t1_ns"] = event["t_ns"]
                out.phases.append(ph)
                if event["name"] == "repetition" and event.get("label") == "measure":
                    out.reps.append(event["result"])
            elif kind == ev.LOADED:
                out.loaded = {k: v for k, v in event.items() if k not in ("type", "t_ns", "case_id")}
            elif kind == ev.CASE_FINISHED:
                out.status = "ok"
                out.worker_stats = dict(event.get("record") or {})
                break
            elif kind == ev.CASE_FAILED:
                out.error = event["error"]
                break
    finally:
        if kill_reason is not None or proc.is_alive():
            _stop(proc, graceful=kill_reason is None)
        recv.close()
    out.t_end_ns = time.monotonic_ns()
    if out.status != "ok" and out.error is None:
        code = proc.exitcode
        sig = _signal_name(code)
        if kill_reason is not None:
            out.error = {**kill_reason, "phase": last_phase, "exit_code": code, "signal": sig}
        else:
            what = f"worker killed by {sig}" if sig else f"worker exited with code {code}"
            hint = {"SIGKILL": " (out of memory? see dmesg)", "SIGSEGV": " (crash inside the runtime)"}.get(sig or "", "")
            out.error = {"kind": "worker_died", "message": f"{what} during {last_phase}{hint}",
                         "phase": last_phase, "exit_code": code, "signal": sig}
    if out.error is not None:
        out.error.setdefault("phase", last_phase)
        out.error.setdefault("exit_code", proc.exitcode)
        out.error.setdefault("signal", _signal_name(proc.exitcode))
    return out


def _stop(proc, graceful: bool) -> None:
    """join → terminate → kill; idempotent."""
    if graceful:
        proc.join(timeout=5)
    if proc.is_alive():
        proc.terminate()
        proc.join(timeout=2)
    if proc.is_alive():
        proc.kill()
        proc.join(timeout=2)
