"""A heartbeat inside the worker that notices when the whole process stopped running.

Why (issue 21 item 3): SIGSTOP (Ctrl-Z then ``fg``, a debugger, a paused VM) freezes the worker
for as long as it likes while the monotonic clock runs on: a repetition that spanned a 30 s stop
reads 6x slower with 6x the energy per token, and nothing in the timings says why. A thread that
wakes every 50 ms sees such a hole directly: its wake-up comes seconds late and the process's CPU
time (all threads) hardly moved meanwhile — stopped, or starved of CPU, never computing. Each hole
becomes ``[t0_ns, t1_ns, cpu_s]`` in the ``stalls`` list of the repetitions it overlaps
(``Repetition.extra``); the parent decides what to do with them (``analysis/stalls.py``).
"""
from __future__ import annotations

import threading
import time

#: the heartbeat's period, and the shortest hole it reports (far above a thread's wake-up delay
#: on a busy machine, far below a stop anyone would notice)
PERIOD_S = 0.05
MIN_HOLE_NS = 1_000_000_000
#: a hole during which the process used more CPU than this share of it was computing, not stopped
MAX_CPU_SHARE = 0.25


class StallWatch:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = (time.monotonic_ns(), time.process_time())
        self.holes: list[tuple[int, int, float]] = []
        self._stop = threading.Event()

    def start(self) -> "StallWatch":
        threading.Thread(target=self._beat, daemon=True, name="edgeprof-stall-watch").start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(PERIOD_S):
            self.check()

    def check(self) -> None:
        """One heartbeat (also called by the main thread at a repetition's end, so a stop just
        before it is seen even if the heartbeat thread has not run since)."""
        with self._lock:
            now, cpu = time.monotonic_ns(), time.process_time()
            t0, cpu0 = self._last
            self._last = (now, cpu)
            gap = now - t0
            if gap >= MIN_HOLE_NS and (cpu - cpu0) < MAX_CPU_SHARE * gap / 1e9:
                self.holes.append((t0, now, round(cpu - cpu0, 6)))

    def within(self, t0_ns: int, t1_ns: int) -> list[list[float]]:
        """The holes overlapping ``[t0_ns, t1_ns]`` (clipped to it), as JSON-ready lists."""
        self.check()
        with self._lock:
            return [[max(a, t0_ns), min(b, t1_ns), c] for a, b, c in self.holes if a < t1_ns and b > t0_ns]

    def stop(self) -> None:
        self._stop.set()
