"""Process-scoped sensors for the worker's process tree, always from the real OS (never re-rooted).

RSS is summed over the process and its children (a runtime may fork helpers); USS (memory unique
to the process, what would be freed if it died) needs ``/proc/<pid>/smaps_rollup`` — a walk over
the worker's page tables, ~0.4 ms of CPU for a 180 MiB worker here — so it is read at most once per
``uss_every_s`` (5 s; no metric uses it, it goes to the samples file). The list of children is
refreshed at most once per ``children_every_s`` (1 s), from ``/proc/<pid>/task/<tid>/children``
(Linux ≥ 3.5), ~20 µs for a few threads, instead of psutil's scan of every process in ``/proc``
(~0.9 ms with ~75 processes here: at 20 Hz that was 2 % of a core in the parent), which stays
the fallback where the kernel lacks CONFIG_PROC_CHILDREN. A helper the runtime forks is picked up
within a second; the worker itself is read on every sample.

Readings: ``worker:rss`` (B), ``worker:cpu_time`` (s: user + system of the tree, in clock ticks
of 1/USER_HZ s — the numerator of a process-attributed energy, see devices/load.py
``process_share``), ``worker:uss`` (B, every ``uss_every_s``).
"""
from __future__ import annotations

import os
import time

from .base import MEASURED, Precision, Reading, Sensor, SensorInfo
from .errors import DeviceLost
from .load import USER_HZ


class _ProcFast:
    """RSS and CPU time of ONE process from ``/proc/<pid>/stat`` through a descriptor kept open
    (``pread``): one read gives utime, stime (fields 14, 15) and rss (field 24, pages; the same
    counter ``statm`` reports). A cold read — the sampler wakes every 50 ms to caches other
    processes have filled — costs ~35 µs here, statm would add ~20 µs more; psutil ~0.3 ms. Every
    CPU-microsecond the parent spends on a 2-core box is one a worker thread waits for. Linux
    only; the descriptor dies with the process (reads then fail, which is how death shows)."""

    def __init__(self, pid: int):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.tick = os.sysconf("SC_CLK_TCK")
        self.fds = [os.open(f"/proc/{pid}/stat", os.O_RDONLY)]

    def read(self) -> tuple[int, float]:
        stat = os.pread(self.fds[0], 1024, 0)
        if not stat:
            raise ProcessLookupError
        fields = stat[stat.rindex(b")") + 2:].split()  # after "(comm)": state is field 3
        rss = int(fields[21]) * self.page
        if rss == 0 or fields[0] == b"Z":  # a zombie (exited, not yet reaped): gone, not 0 bytes
            raise ProcessLookupError
        cpu = (int(fields[11]) + int(fields[12])) / self.tick
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

    def __init__(self, pid: int, uss_every_s: float = 5.0, children_every_s: float = 1.0):
        super().__init__(SensorInfo(
            name="worker:rss", quantity="rss_bytes", source="procfs /proc/<pid>/stat (psutil fallback)",
            scope="process", kind=MEASURED, note="worker process tree",
            precision=Precision(update_period_s=1.0 / USER_HZ,
                                source=f"proc(5): utime/stime in USER_HZ ({USER_HZ}/s) ticks")))
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

    def _procs(self, now: float | None = None) -> list:
        now = time.monotonic() if now is None else now
        if self._children_at is None or now - self._children_at >= self._children_every_s:
            pids = children_pids(self.pid)
            try:
                if pids is None:
                    self._children = self._proc.children(recursive=True)
                else:
                    known = {p.pid: p for p in self._children}
                    self._children = [known.get(c) or self._psutil.Process(c) for c in pids]
            except self._psutil.NoSuchProcess as exc:
                if exc.pid in (None, self.pid):
                    raise DeviceLost(f"worker {self.pid} is gone") from exc
                self._children_at = None  # a child exited between the scan and now: rescan next time
                return [self._proc] + [p for p in self._children if p.pid != exc.pid]
            except self._psutil.Error as exc:
                raise DeviceLost(f"worker {self.pid} is gone") from exc
            self._children_at = now
        return [self._proc] + self._children

    def _read(self, t_ns: int) -> list[Reading]:
        ps = self._psutil
        rss, cpu, uss = 0, 0.0, None
        now = t_ns / 1e9  # the sampler's monotonic clock: no second clock read per sample
        want_uss = self._uss_at is None or now - self._uss_at >= self._uss_every_s
        if want_uss:
            self._uss_at = now
        procs = self._procs(now)
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


def children_pids(pid: int, proc: str = "/proc") -> list[int] | None:
    """Descendants of ``pid`` from ``<proc>/<pid>/task/<tid>/children`` (every thread's direct
    children, recursively); None when the kernel does not provide the file (fall back to psutil).
    Raises DeviceLost when ``pid`` itself is gone."""
    if not os.path.isdir(proc):
        return None  # no procfs (macOS): psutil finds the children
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tids = os.listdir(f"{proc}/{p}/task")
        except FileNotFoundError as exc:
            if p == pid:
                raise DeviceLost(f"worker {pid} is gone") from exc
            continue  # a child that exited meanwhile
        if p == pid and not os.path.exists(f"{proc}/{p}/task/{tids[0] if tids else p}/children"):
            return None
        for tid in tids:
            try:
                with open(f"{proc}/{p}/task/{tid}/children", "rb") as f:
                    kids = [int(x) for x in f.read().split()]
            except (FileNotFoundError, ProcessLookupError, ValueError):
                continue  # the thread exited between listdir and open
            out.extend(kids)
            todo.extend(kids)
    return out
