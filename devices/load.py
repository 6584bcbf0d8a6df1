"""How busy the machine is: system CPU time from ``/proc/stat`` and what other processes used.

Why here (issue 13): a probe taken while other processes run is 2–10× low, an idle baseline taken
on busy cores is not idle, and a TDP estimate charges other processes' CPU to the model. Each of
those needs the same two numbers over a window: the busy fraction of all cores and the CPU time of
everything except the processes being measured (``other_cpu_cores``), plus steal time, which on a
VM is another tenant running on our vCPUs.

``/proc/stat`` (proc(5)): the first line is ``cpu user nice system idle iowait irq softirq steal
guest guest_nice`` in USER_HZ ticks (``SC_CLK_TCK``, 100 on Linux) summed over all CPUs; guest
time is already inside user. The file is read through a kept-open descriptor (``pread``), and only
its first line is parsed. It is the real OS's file unless a ``proc_root`` is given (tests build a
synthetic one): like process metrics, live CPU time is never re-rooted by ``EDGEPROF_SYSROOT``.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .sysfs import FileReader

USER_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
QUIET, CONTENDED = "quiet", "contended"


@dataclass(frozen=True, slots=True)
class CpuTimes:
    """Cumulative CPU time of all cores, in CPU-seconds."""

    busy_s: float    # user + nice + system + irq + softirq
    idle_s: float    # idle + iowait
    steal_s: float   # the hypervisor ran someone else on our vCPUs

    @property
    def total_s(self) -> float:
        return self.busy_s + self.idle_s + self.steal_s


def parse_cpu_line(data: bytes, where: str = "/proc/stat") -> CpuTimes:
    """The aggregate ``cpu`` line of /proc/stat; ValueError for anything else."""
    fields = data.split(b"\n", 1)[0].split()
    if len(fields) < 5 or fields[0] != b"cpu":
        raise ValueError(f"{where}: first line is not the aggregate 'cpu' line: {data[:60]!r}")
    try:
        ticks = [int(x) for x in fields[1:9]] + [0] * (9 - len(fields))
    except ValueError as exc:
        raise ValueError(f"{where}: non-integer CPU times: {data[:60]!r}") from exc
    if any(t < 0 or t > 2 ** 63 for t in ticks):
        raise ValueError(f"{where}: CPU times out of range: {data[:60]!r}")
    user, nice, system, idle, iowait, irq, softirq, steal = ticks[:8]
    return CpuTimes(busy_s=(user + nice + system + irq + softirq) / USER_HZ,
                    idle_s=(idle + iowait) / USER_HZ, steal_s=steal / USER_HZ)


class ProcStat:
    """``/proc/stat`` kept open; ``read()`` -> CpuTimes (NotPresent/ValueError on trouble)."""

    def __init__(self, proc_root: Path | str = "/"):
        self._handle = FileReader(proc_root).handle("/proc/stat")

    def read(self) -> CpuTimes:
        return parse_cpu_line(self._handle.read_bytes(512))

    def close(self) -> None:
        self._handle.close()


class PsutilStat:
    """The same figures from ``psutil.cpu_times()`` where there is no /proc/stat (macOS)."""

    source = "psutil cpu_times"

    def read(self) -> CpuTimes:
        import psutil

        t = psutil.cpu_times()
        busy = sum(getattr(t, k, 0.0) for k in ("user", "nice", "system", "irq", "softirq"))
        return CpuTimes(busy_s=busy, idle_s=t.idle + getattr(t, "iowait", 0.0), steal_s=getattr(t, "steal", 0.0))

    def close(self) -> None:
        """Nothing held open."""


def system_stat(proc_root: Path | str = "/") -> ProcStat | PsutilStat:
    """/proc/stat under ``proc_root``; psutil on the real OS when there is no procfs."""
    if Path(proc_root) == Path("/") and not Path("/proc/stat").exists():
        return PsutilStat()
    return ProcStat(proc_root)


def own_cpu_s() -> float:
    """CPU time of this process, all threads (user + system), in seconds."""
    t = os.times()
    return t.user + t.system


@dataclass(frozen=True, slots=True)
class Snapshot:
    t_ns: int
    cpu: CpuTimes
    own_s: float


def logical_cores() -> int:
    return os.cpu_count() or 1


class LoadMeter:
    """Snapshots of system and own CPU time; the difference of two is a window (``between``).

    Everything is injectable so tests can state a load instead of making one: ``stat`` (a
    ProcStat or anything with ``read()``), ``own`` (this process's CPU seconds), ``clock``,
    ``loadavg``.
    """

    def __init__(self, stat: ProcStat | None = None, *, own: Callable[[], float] = own_cpu_s,
                 clock: Callable[[], int] = time.monotonic_ns,
                 loadavg: Callable[[], tuple[float, float, float]] = os.getloadavg,
                 cores: int | None = None):
        self.stat = stat or system_stat()
        self.own, self.clock, self.loadavg = own, clock, loadavg
        self.cores = cores or logical_cores()

    def snapshot(self) -> Snapshot:
        return Snapshot(self.clock(), self.stat.read(), self.own())

    def between(self, a: Snapshot, b: Snapshot) -> dict[str, float | int | None]:
        """The window from ``a`` to ``b``: what all cores did and what others used.

        Keys: ``window_s``; ``busy_fraction`` (0–1 of all cores); ``other_cpu_cores`` (CPU that
        processes other than this one used, in cores: 1.0 = one core fully busy); ``own_cpu_cores``;
        ``steal_fraction``; ``loadavg_1m`` (at ``b``; includes this process's runnable threads);
        ``logical_cores``.
        """
        wall_s = max((b.t_ns - a.t_ns) / 1e9, 1e-9)
        total = b.cpu.total_s - a.cpu.total_s
        busy = b.cpu.busy_s - a.cpu.busy_s
        own = max(0.0, b.own_s - a.own_s)
        try:
            load1 = round(self.loadavg()[0], 2)
        except OSError:
            load1 = None
        return {
            "window_s": round(wall_s, 3),
            "busy_fraction": round(min(1.0, max(0.0, busy / total)), 4) if total > 0 else None,
            "other_cpu_cores": round(max(0.0, busy - own) / wall_s, 3),
            "own_cpu_cores": round(own / wall_s, 3),
            "steal_fraction": round(max(0.0, b.cpu.steal_s - a.cpu.steal_s) / total, 4) if total > 0 else None,
            "loadavg_1m": load1,
            "logical_cores": self.cores,
        }

    def measure(self, seconds: float, sleep: Callable[[float], None] = time.sleep) -> dict:
        """A window of ``seconds`` in which this process only sleeps: what others do."""
        a = self.snapshot()
        sleep(seconds)
        return self.between(a, self.snapshot())


def default_max_other_cores(cores: int) -> float:
    """Other processes may use this many cores before a measurement counts as contended: a fifth
    of a core on small machines, 5 % of the cores on large ones (where some background is normal)."""
    return max(0.2, 0.05 * cores)


def judge(windows: list[dict], max_other_cores: float | None = None, max_steal: float = 0.05) -> tuple[str, str]:
    """(``quiet`` | ``contended``, why) over load windows (before, during, after a measurement)."""
    found = []
    for w in windows:
        limit = max_other_cores if max_other_cores is not None else default_max_other_cores(int(w.get("logical_cores") or 1))
        if (w.get("other_cpu_cores") or 0.0) > limit:
            found.append(f"other processes used {w['other_cpu_cores']:.2f} cores over {w['window_s']:.2f} s "
                         f"(limit {limit:.2f})")
        if (w.get("steal_fraction") or 0.0) > max_steal:
            found.append(f"hypervisor steal {100 * w['steal_fraction']:.1f} % of CPU time (limit {100 * max_steal:.0f} %)")
    if found:
        return CONTENDED, "; ".join(found)
    return QUIET, "no other process used more than the limit before, during or after"


def process_share(process_cpu_s: float, system_busy_cpu_s: float) -> float | None:
    """A process's share of the CPU time all cores spent busy in a window (0–1), the factor of a
    process-attributed energy (Scaphandre, PowerJoular: process power = host power × process CPU
    time ÷ busy CPU time). None when no CPU was busy (no window, nothing to attribute)."""
    if system_busy_cpu_s <= 0:
        return None
    return min(1.0, max(0.0, process_cpu_s / system_busy_cpu_s))
