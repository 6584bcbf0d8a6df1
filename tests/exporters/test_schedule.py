"""The export's job graph runner: dependencies first, never more than ``limit`` at once, the head of
the longest chain first, and the first failure stops everything that has not started."""
from __future__ import annotations

import threading
import time

import pytest

from edgeprof.exporters import ExportError
from edgeprof.exporters.pipeline.schedule import Job, run_jobs


class Recorder:
    def __init__(self):
        self.lock, self.running, self.peak, self.order = threading.Lock(), 0, 0, []

    def job(self, name, deps=(), fail=False, seconds=0.05):
        def run():
            with self.lock:
                self.running += 1
                self.peak = max(self.peak, self.running)
                self.order.append(name)
            time.sleep(seconds)
            with self.lock:
                self.running -= 1
            if fail:
                raise ExportError(f"{name} broke")
        return Job(name, run, tuple(deps))


def test_dependencies_and_the_limit_are_respected():
    r = Recorder()
    jobs = [r.job("a"), r.job("b", ["a"]), r.job("c", ["a"]), r.job("d", ["b", "c"]), r.job("e")]
    done = []
    run_jobs(jobs, limit=2, on_done=lambda j: done.append(j.name))
    assert sorted(done) == ["a", "b", "c", "d", "e"] and r.peak == 2
    assert done.index("a") < done.index("b") < done.index("d") and done.index("c") < done.index("d")


def test_the_head_of_the_longest_chain_starts_first_and_resumed_jobs_are_skipped():
    r = Recorder()
    jobs = [r.job("short"), r.job("long"), r.job("x", ["long"]), r.job("y", ["x"]), r.job("old")]
    run_jobs(jobs, limit=1, done={"old"})
    assert r.order == ["long", "x", "short", "y"]  # "long" has two jobs waiting on it, "short" none
    assert "old" not in r.order


def test_the_first_failure_stops_what_has_not_started():
    r = Recorder()
    jobs = [r.job("bad", fail=True), r.job("after", ["bad"]), r.job("slow", seconds=0.3), r.job("later")]
    failed = []
    with pytest.raises(ExportError, match="bad broke"):
        run_jobs(jobs, limit=2, on_fail=lambda j, e: failed.append(j.name))
    assert failed == ["bad"] and "after" not in r.order and "later" not in r.order
    assert r.running == 0  # every worker returned before the error was raised


def test_an_unknown_dependency_is_a_plan_error():
    with pytest.raises(ExportError, match="waits for unknown step nope"):
        run_jobs([Job("a", lambda: None, ("nope",))], limit=1)
