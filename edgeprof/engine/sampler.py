"""A thread in the parent that polls the device's sensors (and the worker's process tree) on one
monotonic clock.

Hygiene from zeus ``monitor/power.py``, as a thread: a ready event before the first sample, a
timer wait that sleeps only the remainder of each period (``Event.wait``, never a spin), bounded
buffers, idempotent stop. All sensor reads happen on this thread, so stateful sensors (counter
unwrapping, utilization deltas) never race.

Each sensor is read on its own period (``SensorInfo.period_s(hz)``: ``--sample-hz`` slowed to the
sensor's ``read_period_s`` — /proc/meminfo every 0.25 s, a temperature every second — and sped up
to its ``floor_hz``, e.g. twice per NVML energy-counter update); a sample holds only the readings
taken at that tick (a value is never repeated under a newer time). The worker's process tree is
read at ``--sample-hz``. Sensors due within ``BATCH_NS`` of a tick are read with it, so the thread
wakes once per tick, not once per sensor.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from edgeprof.devices.base import Reading, Sensor
from edgeprof.devices.process import ProcessTree

MAX_SAMPLES = 200_000  # ~2.8 h at 20 Hz; older samples are dropped, never the process
BATCH_NS = 2_000_000   # read sensors due within 2 ms of a tick at that tick (one wake-up, not two)


@dataclass(frozen=True, slots=True)
class Sample:
    t_ns: int
    readings: tuple[Reading, ...]

    def value(self, sensor: str, quantity: str | None = None) -> float | None:
        for r in self.readings:
            if r.sensor == sensor and (quantity is None or r.quantity == quantity):
                return r.value
        return None


class Sampler:
    def __init__(self, sensors: list[Sensor], hz: float,
                 on_sample: Callable[[Sample], None] | None = None):
        if hz < 0:
            raise ValueError("--sample-hz must be >= 0")
        self.sensors = [s for s in sensors if s.available]
        self.hz = hz
        self._period_ns = [int(s.info.period_s(hz) * 1e9) if hz > 0 else 0 for s in self.sensors]
        self._due_ns = [0] * len(self.sensors)
        self.on_sample = on_sample
        self.buffer: deque[Sample] = deque(maxlen=MAX_SAMPLES)
        self._proc: ProcessTree | None = None
        self._extra: list[Sensor] = []
        self._extra_due_ns: list[int] = []
        self._extra_period_ns: list[int] = []
        self._proc_due_ns = 0
        self._stop = threading.Event()
        self._wake = threading.Event()       # set by stop() or flush(): the loop stops waiting
        self._flush_req = threading.Event()
        self._flushed = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.peak_rss_bytes = 0.0

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> "Sampler":
        if self.hz == 0 or self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._loop, name="edgeprof-sampler", daemon=True)
        self._thread.start()
        self._ready.wait(timeout=5)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "Sampler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- worker attachment ----------------------------------------------------------------
    def attach(self, pid: int, extra: list[Sensor] | None = None) -> None:
        """Sample the worker's process tree (and ``extra`` per-process sensors, e.g. its GPU
        memory) from now on; called right after the worker starts."""
        try:
            self._proc = ProcessTree(pid)
        except Exception:  # noqa: BLE001 - psutil.NoSuchProcess: the worker already died
            self._proc = None
        self._extra = list(extra or [])
        self._extra_due_ns = [0] * len(self._extra)
        self._extra_period_ns = [int(s.info.period_s(self.hz) * 1e9) if self.hz > 0 else 0 for s in self._extra]
        self.peak_rss_bytes = 0.0
        if self.hz == 0:
            self.sample_once()

    def detach(self) -> None:
        if self.hz == 0 and self._proc is not None:
            self.sample_once()
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.close()
        self._extra = []

    def flush(self, timeout_s: float = 2.0) -> None:
        """Have the thread read EVERY sensor now and wait for that sample: at the end of a case,
        so each sensor (some are read only every 0.2-1 s) has a reading after the last
        repetition and its energy can be interpolated at the window's edge. Each sensor is told
        to ``expire`` its rate-limited cache first: a cached value would be from before the edge."""
        if self._thread is None:
            if self.hz == 0:
                return
            self.sample_once()
            return
        self._flushed.clear()
        self._flush_req.set()
        self._wake.set()
        self._flushed.wait(timeout_s)

    def rss_over(self, limit_bytes: float | None) -> bool:
        return bool(limit_bytes) and self.peak_rss_bytes > float(limit_bytes)

    # -- sampling -------------------------------------------------------------------------
    def _read_all(self, force: bool = True) -> Sample:
        """Read every sensor (``force``) or only those due now; returns the sample."""
        if force:  # rate-limited sensors (e.g. /proc/stat every 0.2 s) re-read too
            for s in self.sensors + self._extra:
                s.expire()
        t_ns = time.monotonic_ns()
        readings: list[Reading] = []
        for sensors, due, periods in ((self.sensors, self._due_ns, self._period_ns),
                                      (self._extra, self._extra_due_ns, self._extra_period_ns)):
            for i, s in enumerate(sensors):
                if force or due[i] <= t_ns + BATCH_NS:
                    readings.extend(s.read(t_ns))
                    nxt = due[i] + periods[i]  # keep the phase; after an overrun, restart from now
                    due[i] = nxt if nxt > t_ns else t_ns + periods[i]
        proc = self._proc
        if proc is not None and (force or self._proc_due_ns <= t_ns + BATCH_NS):  # at --sample-hz
            self._proc_due_ns = t_ns + (int(1e9 / self.hz) - BATCH_NS if self.hz > 0 else 0)
            for r in proc.read(t_ns):
                readings.append(r)
                if r.sensor == "worker:rss" and r.value is not None and r.value > self.peak_rss_bytes:
                    self.peak_rss_bytes = r.value
        return Sample(t_ns, tuple(readings))

    def sample_once(self) -> Sample:
        """One synchronous sample; only when the thread is not running (``--sample-hz 0``)."""
        if self._thread is not None:
            raise RuntimeError("sample_once() while the sampler thread runs would race its sensors")
        s = self._read_all()
        self._push(s)
        return s

    def _push(self, s: Sample) -> None:
        with self._lock:
            self.buffer.append(s)
        if self.on_sample is not None:
            self.on_sample(s)

    def _loop(self) -> None:
        period_ns = min([int(1e9 / self.hz)] + self._period_ns)  # a floor_hz may ask for more than hz
        self._ready.set()
        next_t = time.monotonic_ns()
        self._due_ns = [next_t] * len(self.sensors)  # all sensors share one phase
        while not self._stop.is_set():
            if self._flush_req.is_set():
                self._flush_req.clear()
                self._push(self._read_all(force=True))
                self._flushed.set()
            else:
                self._push(self._read_all(force=False))
            next_t += period_ns
            now = time.monotonic_ns()
            if next_t < now:  # overran (slow sensor): skip missed ticks rather than burst
                next_t = now + period_ns
            self._wake.wait((next_t - now) / 1e9)
            if not self._stop.is_set():
                self._wake.clear()

    def window(self, t0_ns: int, t1_ns: int) -> list[Sample]:
        """Samples in [t0, t1] plus the nearest one on each side (for edge interpolation)."""
        with self._lock:
            data = list(self.buffer)
        inside = [i for i, s in enumerate(data) if t0_ns <= s.t_ns <= t1_ns]
        lo = (inside[0] if inside else next((i for i, s in enumerate(data) if s.t_ns > t1_ns), len(data))) - 1
        hi = (inside[-1] if inside else lo) + 1
        return data[max(lo, 0):hi + 1]
