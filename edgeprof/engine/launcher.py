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
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from edgeprof.engine import events as ev
from edgeprof.results.schema import ErrorInfo, Phase, Repetition

#: how long the parent blocks per wait; bounds reaction time to timeouts and RSS limits.
WAIT_S = 0.5


@dataclass
class Outcome:
    """How one worker ended, and everything it measured before that."""

    status: str = "failed"                   # ok | failed
    reps: list[Repetition] = field(default_factory=list)
    loaded: ev.Loaded | None = None
    phases: list[Phase] = field(default_factory=list)
    error: ErrorInfo | None = None
    pid: int | None = None
    t_start_ns: int = 0
    t_end_ns: int = 0
    worker_stats: dict[str, Any] = field(default_factory=dict)
    dropped: list[Repetition] = field(default_factory=list)   # stalled repetitions, out of the figures


def drop_stalled(out: Outcome) -> None:
    """Take the repetitions during which the worker was stopped or starved out of the figures
    (``analysis/stalls.py``; they stay in the record, marked); when none is left, an ``ok`` case
    becomes a ``stalled`` failure, re-run by ``--resume --retry-failed``."""
    from edgeprof.analysis.stalls import screen

    kept, dropped = screen(out.reps)
    out.reps, out.dropped = kept, out.dropped + dropped
    if dropped and not kept and out.status == "ok":
        out.status = "failed"
        out.error = ErrorInfo("stalled", f"every repetition stalled ({dropped[0].extra['dropped']}); run the case "
                              f"again with --resume RUN_DIR --retry-failed while the machine runs it", "measure")


def _signal_name(code: int | None) -> str | None:
    if code is None or code >= 0:
        return None
    try:
        return signal.Signals(-code).name
    except ValueError:
        return f"signal {-code}"


def run_case(job, on_event: Callable[[ev.Event], None], *, timeout_s: float,
             on_start: Callable[[int], None] | None = None,
             rss_over_limit: Callable[[], str | None] | None = None) -> Outcome:
    """Run one case (a ``worker.Job``) in a fresh worker. ``on_start(pid)`` lets the sampler attach
    to the worker; ``rss_over_limit()`` is polled between waits and returns why the worker must be
    stopped (the sampler knows the worker's RSS), or None."""
    from edgeprof.engine.worker import child_main

    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=child_main, args=(job, send), daemon=True, name=f"edgeprof-{job.case.case_id[:8]}")
    out = Outcome(t_start_ns=time.monotonic_ns())
    _start_without_sigint(proc)
    send.close()
    out.pid = proc.pid
    if on_start:
        on_start(proc.pid)
    deadline = time.monotonic() + timeout_s
    last_phase = "start"
    open_phases: dict[str, ev.PhaseStarted] = {}
    kill_reason: tuple[str, str] | None = None
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                kill_reason = ("timeout", f"case exceeded --timeout {timeout_s:g} s")
                break
            why = rss_over_limit() if rss_over_limit else None
            if why:
                kill_reason = ("max_rss", why)
                break
            try:
                if not recv.poll(min(WAIT_S, remaining)):
                    continue
                event = recv.recv()
            except (EOFError, OSError):
                break  # worker is gone; its exit code says how
            if not isinstance(event, ev.TERMINAL):  # the parent emits the terminal event with the record
                on_event(event)
            if isinstance(event, ev.PhaseStarted):
                if event.name != "repetition":
                    last_phase = event.name
                open_phases[event.name] = event
            elif isinstance(event, ev.PhaseEnded) and event.name in open_phases:
                st = open_phases.pop(event.name)
                out.phases.append(Phase(st.name, st.t_ns, event.t_ns, st.rep, st.label))
                if event.name == "repetition" and event.label == "measure" and event.result is not None:
                    out.reps.append(event.result)
            elif isinstance(event, ev.Loaded):
                out.loaded = event
            elif isinstance(event, ev.CaseFinished):
                out.status = "ok"
                out.worker_stats = dict(event.worker_stats)
                break
            elif isinstance(event, ev.CaseFailed):
                out.error = event.error
                break
    finally:
        if kill_reason is not None or proc.is_alive():
            _stop(proc, graceful=kill_reason is None)
        recv.close()
    out.t_end_ns = time.monotonic_ns()
    code = proc.exitcode
    sig = _signal_name(code)
    if out.status != "ok" and out.error is None:
        if kill_reason is not None:
            out.error = ErrorInfo(kill_reason[0], kill_reason[1], last_phase, code, sig)
        else:
            what = f"worker killed by {sig}" if sig else f"worker exited with code {code}"
            hint = {"SIGKILL": " (out of memory? see dmesg)", "SIGSEGV": " (crash inside the runtime)"}.get(sig or "", "")
            out.error = ErrorInfo("worker_died", f"{what} during {last_phase}{hint}", last_phase, code, sig)
    elif out.error is not None:
        e = out.error
        out.error = replace(e, phase=e.phase or last_phase, exit_code=code if e.exit_code is None else e.exit_code,
                            signal=e.signal or sig)
    _quote_log(out, getattr(job, "log_path", None))
    return out


def _quote_log(out: Outcome, path: str | None) -> None:
    """The end of the worker's log (its native output) into a failed row; an empty log is removed."""
    if not path:
        return
    from pathlib import Path

    from edgeprof.engine.worker_log import settle

    tail = settle(Path(path))
    if tail and out.status != "ok" and out.error is not None:
        e = out.error
        name = "/".join(Path(path).parts[-2:])
        out.error = replace(e, message=f"{e.message} (worker output in {name})",
                            extra={**e.extra, "worker_log": {"path": name, "tail": tail}})


def _start_without_sigint(proc) -> None:
    """Start the worker with SIGINT blocked (a blocked mask survives fork and exec): Ctrl-C goes
    to the whole process group, and a worker interrupted while Python boots prints a traceback
    and dies before it can report. The parent owns Ctrl-C: it stops the worker (SIGTERM) and
    records the case as cancelled."""
    block = getattr(signal, "pthread_sigmask", None)
    if block is None:
        proc.start()
        return
    old = block(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        proc.start()
    finally:
        block(signal.SIG_SETMASK, old)


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def first_stop_signal(on_stop: Callable[[], None]) -> Callable[[], None]:
    """Until the returned ``restore()`` is called, the first stop signal — Ctrl-C (SIGINT), a
    ``kill``/systemd/docker stop (SIGTERM) or a closed terminal or SSH session (SIGHUP) — calls
    ``on_stop()``: the sweep stops cleanly, the running case is recorded as cancelled and the rows
    and the resume command are printed. A second one raises KeyboardInterrupt at once (the
    ``finally`` blocks still release the lock). Only the main thread can own a signal: elsewhere
    (the TUI's worker thread) this does nothing."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    # a signal the caller ignores stays ignored: `nohup edgeprof bench ... &` must outlive its terminal
    signums = [getattr(signal, name) for name in STOP_SIGNALS
               if hasattr(signal, name) and signal.getsignal(getattr(signal, name)) is not signal.SIG_IGN]
    previous = {signum: signal.getsignal(signum) for signum in signums}

    def again(signum, frame) -> None:
        raise KeyboardInterrupt

    def first(signum, frame) -> None:
        for other in signums:
            signal.signal(other, again)
        on_stop()

    for signum in signums:
        signal.signal(signum, first)

    def restore() -> None:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    return restore


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
