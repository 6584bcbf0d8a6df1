"""Run an export's jobs (builds, the quality reference, per-artifact checks) as a dependency graph,
up to ``limit`` at a time.

Why: most export work is single-threaded Python or a one-thread quality pass (the optimum trace,
llama.cpp's converter, numpy quantization, one-thread scoring), so on a 2-core machine two
independent jobs side by side (the GGUF chain next to the ONNX chain, a finished artifact's check
next to the next build) finish sooner than one after the other; docs/benchmarks.md "Export"
measures it. Each job blocks a worker thread on its own child process (``steps.py``); the
process-death signal of a child is tied to the thread that started it, which waits for it.

Among the jobs ready to start, the one with the most jobs waiting on it (directly or not) goes
first, so the head of a long chain (the GGUF conversion that every GGUF quant and check waits for)
does not queue behind a short one.

The first failure stops the export: nothing new starts, the children of jobs still running are
killed (their steps are not recorded as done, so a re-run rebuilds only them) and the error is
raised once every worker has returned. An interrupt does the same.
"""
from __future__ import annotations

from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Callable

from edgeprof.exporters.errors import ExportError
from edgeprof.exporters.pipeline.steps import kill_running


@dataclass
class Job:
    name: str
    run: Callable[[], None]
    deps: tuple[str, ...] = ()
    index: int = 0
    meta: dict = field(default_factory=dict)


def run_jobs(jobs: list[Job], *, limit: int, done: set[str] | None = None,
             on_start: Callable[[Job], None] = lambda j: None,
             on_done: Callable[[Job], None] = lambda j: None,
             on_fail: Callable[[Job, BaseException], None] = lambda j, e: None) -> None:
    """Run ``jobs`` whose names are not in ``done`` once their deps are done; raise the first error."""
    finished = set(done or ())
    names = {j.name for j in jobs} | finished
    for job in jobs:
        missing = [d for d in job.deps if d not in names]
        if missing:
            raise ExportError(f"export plan error: {job.name} waits for unknown step {missing[0]}")
    waiting = _waiting_on(jobs)
    pending = sorted((j for j in jobs if j.name not in finished), key=lambda j: -waiting[j.name])
    running: dict[Future, Job] = {}
    error: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max(1, limit), thread_name_prefix="export-job") as pool:
        try:
            while pending or running:
                while error is None and len(running) < limit:
                    ready = next((j for j in pending if all(d in finished for d in j.deps)), None)
                    if ready is None:
                        break
                    pending.remove(ready)
                    on_start(ready)
                    running[pool.submit(ready.run)] = ready
                if not running:
                    break
                for fut in wait(running, return_when=FIRST_COMPLETED)[0]:
                    job = running.pop(fut)
                    exc = fut.exception()
                    if exc is None:
                        finished.add(job.name)
                        on_done(job)
                    elif error is None:
                        error = exc
                        kill_running()
                        on_fail(job, exc)
        except BaseException:
            kill_running()
            raise
    if error is not None:
        raise error


def _waiting_on(jobs: list[Job]) -> dict[str, int]:
    """For each job, how many jobs depend on it directly or transitively."""
    children: dict[str, set[str]] = {j.name: set() for j in jobs}
    for j in jobs:
        for d in j.deps:
            children.setdefault(d, set()).add(j.name)

    def below(name: str, seen: set[str]) -> set[str]:
        for c in children.get(name, ()):
            if c not in seen:
                seen.add(c)
                below(c, seen)
        return seen
    return {j.name: len(below(j.name, set())) for j in jobs}
