"""Runs ONE case in a child process and streams events to the parent (CONTRACTS.md "Events").

Why a process per case: a segfault in a native runtime, an OOM kill or a hang ends only the
worker; the parent turns it into a ``failed`` row (signal, exit code, last phase) and goes on.
Hygiene (STYLE.md house rule 9): ``spawn`` context, the worker dies with its parent
(PR_SET_PDEATHSIG, plus a watchdog thread elsewhere), the terminal event is sent from
``finally``, and the parent blocks on the pipe with a timeout — it never spins.
"""
from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time
import traceback
from typing import Any

from dataclasses import dataclass, replace

from edgeprof.engine import events as ev
from edgeprof.engine.stallwatch import StallWatch
from edgeprof.results.schema import ErrorInfo, Repetition, ResolvedPlacement, RuntimeInfo
from edgeprof.runtimes.base import FIELDS as PLACEMENT_FIELDS

#: token_progress is throttled so a fast decode loop does not wake the parent per token.
PROGRESS_PERIOD_NS = 250_000_000
#: upper bound on timed repetitions when --min-seconds keeps asking for more.
MAX_REPS = 10_000


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(3)

    threading.Thread(target=watch, daemon=True, name="edgeprof-orphan-watch").start()


def _affinity() -> dict[str, Any]:
    """The CPUs this worker may run on (llama-bench's ``--cpu-mask``; set one with ``taskset``),
    recorded so a row says where it ran. Empty where the OS has no affinity API (macOS)."""
    try:
        return {"cpu_affinity": sorted(os.sched_getaffinity(0))}
    except (AttributeError, OSError):
        return {}


def declared_options(case) -> dict[str, Any]:
    """The values of the runtime options declared after the placement's own fields (runtimes/knobs.py)
    that this case's runtime reads: in the record even when the runtime does not echo them."""
    from edgeprof.runtimes import options

    declared = {k.name: k.default for k in options() if case.runtime in k.runtimes and k.name not in PLACEMENT_FIELDS}
    return {**declared, **dict(case.placement.options)}


def own_peak_rss() -> tuple[int | None, str]:
    """(bytes, source): the high-water mark of THIS process's own address space.

    Why not ``getrusage(RUSAGE_SELF).ru_maxrss``: Linux keeps ``ru_maxrss`` across ``exec``
    (``exec_mmap`` folds the old address space's high-water mark into the process's), and a spawned
    worker is a fork + exec of the bench parent, so it reported the parent's peak (383 MiB for a
    181 MiB model; 294 MiB for every GGUF row after a torch case). ``VmHWM`` in
    ``/proc/self/status`` belongs to the address space, which exec replaces: it is the worker's own.
    Where there is no procfs (macOS) ``ru_maxrss`` is all there is, and the source says so."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    parts = line.split()
                    return int(parts[1]) * (1024 if parts[2:3] == [b"kB"] else 1), "VmHWM (/proc/<worker>/status)"
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except (ImportError, OSError):
        return None, "none"
    return (int(kb if sys.platform == "darwin" else kb * 1024),
            "getrusage ru_maxrss (worker; may include the parent's peak before exec)")


def _cpu_time_s() -> float:
    """This worker's CPU time, all threads (user + system): what the parent takes out of the
    machine's busy time to see what other processes used during the case."""
    t = os.times()
    return t.user + t.system


@dataclass(frozen=True)
class Job:
    """What the worker is told (pickled across the spawn pipe)."""

    case: object                 # engine.plan.Case
    reps: int
    warmup: int
    min_seconds: float
    text: str
    quiet_stdio: bool = False
    log_path: str | None = None  # fds 1 and 2 go here (worker_log.py); None: inherited unless quiet


def workload_tokens(engine, text: str, depth: int, prompt: int, tokens: str | None = None,
                    seed: int | None = None) -> tuple[list[int], list[int], int]:
    """(depth tokens, prompt tokens, seed token): fixed sequences cut from the bundled text
    (cycled when it is too short), so every repetition and every runtime sees the same input.
    ``tokens="random"`` (suites: LocalScore, llama-bench): seeded random ids in ``[0, n_vocab)``
    with the engine's BOS first, the way those protocols feed their models."""
    if tokens == "random":
        n_vocab = getattr(engine, "n_vocab", None)
        if not n_vocab:
            raise ValueError(f"runtime {engine.info.name} does not expose its vocabulary size (n_vocab); "
                             f"random-token workloads (suites) need it")
        rng = random.Random(0 if seed is None else seed)
        seq = [rng.randrange(int(n_vocab)) for _ in range(depth + prompt + 1)]
        bos = getattr(engine, "bos", None)
        if bos is not None:
            seq[0] = int(bos)
        return seq[:depth], seq[depth:depth + prompt], seq[depth + prompt]
    elif tokens is not None:
        raise ValueError(f"unknown workload token mode {tokens!r} (known: random, or none for the bundled text)")
    toks = engine.tokenize(text)
    if not toks:
        raise ValueError("the prompt text tokenized to nothing")
    need = depth + prompt + 1
    while len(toks) < need:
        toks = toks + toks
    return toks[:depth], toks[depth:depth + prompt], toks[depth + prompt]


def context_size(w) -> int:
    """The engine's context: depth + prompt + gen (CONTRACTS; LocalScore: prompt + gen per test),
    or the suite's warm-up pass when that is longer, plus a 16-token margin."""
    warm = sum(w.warmup) if w.warmup else 0
    return max(w.depth + w.prompt_tokens + w.gen_tokens, warm) + 16


def _kind(exc: BaseException) -> str:
    """A readable error kind: ``runtime_error`` for the runtimes' own error, else the class name
    in snake case with acronyms kept whole (``MemoryError`` → ``memory_error``, ``OSError`` →
    ``os_error``)."""
    import re

    name = type(exc).__name__.rstrip("_")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


class RepetitionDriver:
    """Drives reset → (untimed depth) → prefill → decode with the worker's own clock."""

    def __init__(self, engine, emit, case_id: str, depth_toks, prompt_toks, seed_tok, gen: int, watch=None):
        self.engine, self.emit, self.case_id = engine, emit, case_id
        self.depth_toks, self.prompt_toks, self.seed_tok, self.gen = depth_toks, prompt_toks, seed_tok, gen
        self.watch = watch  # engine.stallwatch.StallWatch: holes where the process did not run

    def run(self, index: int, label: str) -> Repetition:
        """One repetition, wrapped in a ``repetition`` phase whose end event carries the result,
        so repetitions already measured survive a later crash of the worker."""
        self.emit(ev.PhaseStarted(case_id=self.case_id, name="repetition", rep=index, label=label))
        out = self._run(index, label)
        stalls = self.watch.within(*out.window) if self.watch is not None and (out.prefill or out.decode) else []
        if stalls:
            out = replace(out, extra={**out.extra, "stalls": stalls})
        self.emit(ev.PhaseEnded(case_id=self.case_id, name="repetition", rep=index, label=label, result=out))
        return out

    def _run(self, index: int, label: str) -> Repetition:
        e, emit, cid = self.engine, self.emit, self.case_id
        e.reset()
        if self.depth_toks:
            emit(ev.PhaseStarted(case_id=cid, name="depth", rep=index, label=label))
            e.prefill(self.depth_toks)
            emit(ev.PhaseEnded(case_id=cid, name="depth", rep=index, label=label))
            if hasattr(e, "reset_perf"):  # the engine's counters cover only the timed part
                e.reset_perf()
        tok = self.seed_tok
        produced = 0
        prefill = decode = None
        times: list[int] = []
        cpu0 = time.process_time()  # this worker's CPU time (all threads) at the window's edges
        if self.prompt_toks:
            t0 = time.monotonic_ns()
            emit(ev.PhaseStarted(case_id=cid, t_ns=t0, name="prefill", rep=index, label=label))
            tok = e.prefill(self.prompt_toks)
            t1 = time.monotonic_ns()
            produced = 1 if self.gen > 0 else 0
            if produced:
                emit(ev.FirstToken(case_id=cid, t_ns=t1, rep=index, label=label))
            emit(ev.PhaseEnded(case_id=cid, t_ns=t1, name="prefill", rep=index, label=label))
            prefill = (t0, t1)
        steps = self.gen - produced
        if steps > 0:
            times = [0] * steps
            t0 = time.monotonic_ns()
            emit(ev.PhaseStarted(case_id=cid, t_ns=t0, name="decode", rep=index, label=label))
            last, next_progress = t0, t0 + PROGRESS_PERIOD_NS
            for i in range(steps):
                tok = e.decode(tok)
                now = time.monotonic_ns()
                times[i] = now - last
                last = now
                if now >= next_progress:
                    emit(ev.TokenProgress(case_id=cid, t_ns=now, n=produced + i + 1, of=self.gen, rep=index))
                    next_progress = now + PROGRESS_PERIOD_NS
            emit(ev.PhaseEnded(case_id=cid, t_ns=last, name="decode", rep=index, label=label))
            decode = (t0, last)
        cpu1 = time.process_time()
        return Repetition(rep=index, label=label, prefill=prefill, n_prefill=len(self.prompt_toks) if prefill else 0,
                          decode=decode, n_decode=max(steps, 0) if decode else 0, n_generated=self.gen,
                          token_ns=tuple(times), perf=e.perf() or None,
                          extra={"worker_cpu_s": [round(cpu0, 6), round(cpu1, 6)]})


def child_main(job: Job, conn) -> None:
    """Entry point of the worker process (``job`` is pickled across the spawn pipe)."""
    _die_with_parent()
    from edgeprof.engine.worker_log import redirect

    redirect(job.log_path, job.quiet_stdio)
    case = job.case
    cid = case.case_id
    phase = "start"
    terminal_sent = False
    engine = None

    def emit(event: ev.Event) -> None:
        nonlocal phase
        if isinstance(event, ev.PhaseStarted) and event.name != "repetition":
            phase = event.name
        conn.send(event)

    try:
        emit(ev.CaseStarted(case_id=cid, pid=os.getpid()))
        if case.workload.inference:  # not a causal LM: its own loop (engine/inference_loop.py), this process
            from edgeprof.engine.inference_loop import measure

            stats = measure(job, emit, _affinity())
            peak, peak_source = own_peak_rss()
            emit(ev.CaseFinished(case_id=cid, worker_stats={**stats, "peak_rss_bytes": peak,
                                                            "peak_rss_source": peak_source, "cpu_time_s": _cpu_time_s()}))
            terminal_sent = True
            return
        from edgeprof.runtimes import resolve

        emit(ev.PhaseStarted(case_id=cid, name="load"))
        w = case.workload
        warm = tuple(w.warmup) if w.warmup else None  # a suite may fix the warm-up pass's shape
        n_ctx = context_size(w)
        engine = resolve(case.runtime)(case.artifact.runtime_view(), case.placement, n_ctx)
        emit(ev.PhaseEnded(case_id=cid, name="load"))
        info = engine.info
        emit(ev.Loaded(case_id=cid, runtime=RuntimeInfo(info.name, info.version, ResolvedPlacement.from_dict(
            {**declared_options(case), **info.placement, **_affinity()})), n_params=info.n_params, n_ctx=info.n_ctx,
            extra=info.extra))
        phase = "tokenize"
        depth_toks, prompt_toks, seed = workload_tokens(engine, job.text, w.depth, w.prompt_tokens, w.tokens, w.seed)
        rep = RepetitionDriver(engine, emit, cid, depth_toks, prompt_toks, seed, w.gen_tokens,
                               watch=StallWatch().start())
        warmer = rep
        if warm:
            _, wp, ws = workload_tokens(engine, job.text, 0, warm[0], w.tokens, w.seed)
            warmer = RepetitionDriver(engine, emit, cid, [], wp, ws, warm[1])
        for i in range(job.warmup):
            warmer.run(i, "warmup")
        n = 0
        t_start = time.monotonic_ns()
        min_ns = int(job.min_seconds * 1e9)
        while n < MAX_REPS and (n < job.reps or time.monotonic_ns() - t_start < min_ns):
            rep.run(n, "measure")
            n += 1
        peak, peak_source = own_peak_rss()
        emit(ev.CaseFinished(case_id=cid, worker_stats={"n_reps": n, "peak_rss_bytes": peak,
                                                        "peak_rss_source": peak_source,
                                                        "cpu_time_s": _cpu_time_s()}))
        terminal_sent = True
    except BaseException as exc:  # noqa: BLE001 - everything becomes data for the parent
        if not terminal_sent:
            try:
                message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                emit(ev.CaseFailed(case_id=cid, error=ErrorInfo(
                    kind=getattr(exc, "kind", None) or _kind(exc), message=message, phase=phase,
                    extra={"traceback": traceback.format_exc(limit=8)})))
                terminal_sent = True
            except (OSError, ValueError):
                pass
    finally:
        if engine is not None:
            try:
                engine.close()
            except Exception:  # noqa: BLE001 - closing must not mask the result
                pass
        try:
            conn.close()
        except OSError:
            pass
