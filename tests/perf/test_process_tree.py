"""The parent's per-sample cost: the worker's process tree is re-scanned (``/proc/<pid>/task/*/children``,
or psutil's walk over every process in /proc where the kernel lacks that file) at most once per
``children_every_s``; the worker itself is read on every sample."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

import edgeprof.devices.process as process_mod
from edgeprof.devices.errors import DeviceLost
from edgeprof.devices.process import ProcessTree, children_pids


class Counting:
    """Wraps a psutil.Process and counts ``children()`` calls."""

    def __init__(self, proc):
        self._p, self.calls = proc, 0

    def children(self, recursive=False):
        self.calls += 1
        return self._p.children(recursive=recursive)

    def __getattr__(self, name):
        return getattr(self._p, name)


@pytest.mark.parametrize("kernel_children_file", [True, False])
def test_children_scan_is_throttled_but_rss_is_read_every_time(monkeypatch, kernel_children_file):
    scans = []

    def counted(pid, proc="/proc"):
        scans.append(pid)
        return children_pids(pid, proc) if kernel_children_file else None  # None: psutil fallback

    monkeypatch.setattr(process_mod, "children_pids", counted)
    tree = ProcessTree(os.getpid(), children_every_s=3600)
    tree._proc = counting = Counting(tree._proc)
    readings = [tree.read(i) for i in range(50)]
    assert len(scans) == 1
    assert counting.calls == (0 if kernel_children_file else 1)
    assert all(any(r.sensor == "worker:rss" and r.value and r.value > 0 for r in rs) for rs in readings)
    assert all(any(r.sensor == "worker:cpu_time" for r in rs) for rs in readings)


def test_a_new_child_is_found_at_the_next_refresh():
    tree = ProcessTree(os.getpid(), children_every_s=0)
    base = len(tree._procs())
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in [p.pid for p in tree._procs()]
        assert len(tree._procs()) == base + 1
    finally:
        child.kill()
        child.wait()


def test_a_dead_worker_is_reported_lost_between_refreshes():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    tree = ProcessTree(child.pid, children_every_s=3600)
    assert any(r.sensor == "worker:rss" and r.value for r in tree.read(0))  # the one scan, while it runs
    child.kill()
    child.wait()
    with pytest.raises(DeviceLost):
        tree._read(1)
    # through the public read(): a reading with no value and a reason, never an exception
    (r,) = tree.read(2)
    assert r.value is None and "gone" in r.reason


def test_uss_page_table_walk_is_time_throttled():
    """USS costs ~1 ms of CPU per read on a llama.cpp worker: at most once per uss_every_s."""
    slow = ProcessTree(os.getpid(), uss_every_s=3600)
    uss = [r for i in range(30) for r in slow.read(i) if r.sensor == "worker:uss"]
    assert len(uss) == 1 and uss[0].value > 0
    every = ProcessTree(os.getpid(), uss_every_s=0)
    assert all(any(r.sensor == "worker:uss" for r in every.read(i)) for i in range(3))


def test_kernel_children_file_lists_the_whole_tree():
    """A grandchild is found through the child's own task/*/children, as psutil's scan finds it."""
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)']); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code])
    try:
        import psutil

        for _ in range(100):
            want = sorted(p.pid for p in psutil.Process(child.pid).children(recursive=True))
            if want:
                break
            __import__("time").sleep(0.05)
        assert want and sorted(children_pids(child.pid)) == want
        assert child.pid in children_pids(os.getpid())
    finally:
        for p in psutil.Process(child.pid).children(recursive=True):
            p.kill()
        child.kill()
        child.wait()
