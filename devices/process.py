"""Process-scoped sensors for the worker's process tree, always from the real OS (never re-rooted).

RSS is summed over the process and its children (a runtime may fork helpers); USS (memory unique
to the process, what would be freed if it died) needs ``/proc/<pid>/smaps`` — a walk over the
worker's page tables, ~1 ms of CPU for a 160 MiB llama.cpp worker — so it is read at most once per
``uss_every_s`` (2 s) whatever the sampling rate. The list of children is refreshed at most once per
``children_every_s`` (1 s): psutil finds children by scanning every process in ``/proc``, which
costs about 1 ms of CPU per call with ~100 processes — at 20 Hz that alone was 2 % of a core in
the parent, the budget the whole harness has (benchmarks/overhead.py). A helper the runtime forks
is therefore picked up within a second; the worker itself is read on every sample.
"""
from __future__ import annotations

import os
import time

from .base import MEASURED, Reading, Sensor, SensorInfo
from .errors import DeviceLost


class _ProcFast:
    """RSS and CPU time of ONE process from ``/proc/<pid>/statm`` and ``stat`` through descriptors
    kept open (``pread``): ~20 µs a sample instead of psutil's ~0.3 ms, which matters because
    every CPU-millisecond the parent spends on a 2-core box is one the worker waits for. Linux
    only; the descriptors die with the process (reads then fail, which is how death shows)."""

    def __init__(self, pid: int):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.tick = os.sysconf("SC_CLK_TCK")
        self.fds = [os.open(f"/proc/{pid}/statm", os.O_RDONLY), os.open(f"/proc/{pid}/stat", os.O_RDONLY)]

    def read(self) -> tuple[int, float]:
        statm = os.pread(self.fds[0], 256, 0)
        stat = os.pread(self.fds[1], 1024, 0)
        if not statm or not stat:
            raise ProcessLookupError
        rss = int(statm.split()[1]) * self.page
        if rss == 0:  # a zombie (exited, not yet reaped) reads as all zeros: gone, not 0 bytes
            raise ProcessLookupError
        fields = stat[stat.rindex(b")") + 2:].split()  # after "(comm)": state is field 3
        cpu = (int(fields[11]) + int(fields[12])) / self.tick  # utime, stime (fields 14, 15)
        return rss, cpu

    def close(self) -> None:
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []


class ProcessTree(Sensor):
    """RSS (and USS at most every ``uss_every_s``) and CPU time of a process and its children."""

    def __init__(self, pid: int, uss_every_s: float = 2.0, children_every_s: float = 1.0):
        super().__init__(SensorInfo(name="worker", quantity="rss_bytes", source="psutil",
                                    scope="process", kind=MEASURED, note="worker process tree"))
        import psutil

        self._psutil = psutil
        self.pid = pid
        self._proc = psutil.Process(pid)
        self._uss_every_s = uss_every_s
        self._uss_at: float | None = None
        self._children_every_s = children_every_s
        self._children: list = []
        self._children_at: float | None = None
        try:
            self._fast: _ProcFast | None = _ProcFast(pid)
        except (OSError, ValueError, AttributeError):
            self._fast = None  # not Linux, or no /proc: psutil for everything

    def close(self) -> None:
        if self._fast is not None:
            self._fast.close()
            self._fast = None

    def _procs(self) -> list:
        now = time.monotonic()
        if self._children_at is None or now - self._children_at >= self._children_every_s:
            try:
                self._children = self._proc.children(recursive=True)
            except self._psutil.Error as exc:
                raise DeviceLost(f"worker {self.pid} is gone") from exc
            self._children_at = now
        return [self._proc] + self._children

    def _read(self, t_ns: int) -> list[Reading]:
        ps = self._psutil
        rss, cpu, uss = 0, 0.0, None
        now = time.monotonic()
        want_uss = self._uss_at is None or now - self._uss_at >= self._uss_every_s
        if want_uss:
            self._uss_at = now
        procs = self._procs()
        if self._fast is not None and not want_uss:
            try:
                rss, cpu = self._fast.read()
            except (OSError, ValueError, IndexError, ProcessLookupError) as exc:
                raise DeviceLost(f"worker {self.pid} is gone") from exc
            procs = procs[1:]
        for p in procs:
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    cpu += t.user + t.system
                    if want_uss:
                        uss = (uss or 0) + p.memory_full_info().uss
            except ps.ZombieProcess:
                continue
            except ps.NoSuchProcess as exc:
                if p is self._proc:  # between two scans of the tree this is how a dead worker shows
                    raise DeviceLost(f"worker {self.pid} is gone") from exc
                continue
            except ps.AccessDenied:
                want_uss, uss = False, None
        out = [self.reading(t_ns, float(rss), name="worker:rss"),
               self.reading(t_ns, cpu, quantity="cpu_time_s", name="worker:cpu_time")]
        if uss is not None:
            out.append(self.reading(t_ns, float(uss), quantity="uss_bytes", name="worker:uss"))
        return out
