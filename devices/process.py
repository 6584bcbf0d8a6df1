"""Process-scoped sensors for the worker's process tree, always from the real OS (never re-rooted).

RSS is summed over the process and its children (a runtime may fork helpers); USS (memory unique
to the process, what would be freed if it died) needs ``/proc/<pid>/smaps`` and is read less often
because it costs a page-table walk.
"""
from __future__ import annotations

from .base import MEASURED, Reading, Sensor, SensorInfo
from .errors import DeviceLost


class ProcessTree(Sensor):
    """RSS (and USS every ``uss_every`` reads) and CPU time of a process and its children."""

    def __init__(self, pid: int, uss_every: int = 10):
        super().__init__(SensorInfo(name="worker", quantity="rss_bytes", source="psutil",
                                    scope="process", kind=MEASURED, note="worker process tree"))
        import psutil

        self._psutil = psutil
        self.pid = pid
        self._proc = psutil.Process(pid)
        self._uss_every = max(1, uss_every)
        self._n = 0

    def _procs(self) -> list:
        try:
            return [self._proc] + self._proc.children(recursive=True)
        except self._psutil.Error as exc:
            raise DeviceLost(f"worker {self.pid} is gone") from exc

    def _read(self, t_ns: int) -> list[Reading]:
        ps = self._psutil
        rss, cpu, uss = 0, 0.0, None
        want_uss = self._n % self._uss_every == 0
        self._n += 1
        for p in self._procs():
            try:
                with p.oneshot():
                    rss += p.memory_info().rss
                    t = p.cpu_times()
                    cpu += t.user + t.system
                    if want_uss:
                        uss = (uss or 0) + p.memory_full_info().uss
            except (ps.NoSuchProcess, ps.ZombieProcess):
                continue
            except ps.AccessDenied:
                want_uss, uss = False, None
        out = [self.reading(t_ns, float(rss), name="worker:rss"),
               self.reading(t_ns, cpu, quantity="cpu_time_s", name="worker:cpu_time")]
        if uss is not None:
            out.append(self.reading(t_ns, float(uss), quantity="uss_bytes", name="worker:uss"))
        return out
