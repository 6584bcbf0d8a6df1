#!/usr/bin/env python
"""What one read of each sensor costs, in microseconds of CPU, and what a sampler tick costs.

    python benchmarks/sensor_cost.py              # this machine's sensors + fixture boards
    python benchmarks/sensor_cost.py --reads 2000 --hz 20 --seconds 5

Why: on a 2-core machine where llama.cpp decodes on both cores, every CPU-microsecond the parent's
sampler spends is one a worker thread waits for at a barrier (issue 13, item 8). Three tables:

1. **this machine**: every sensor of every detected device (``edgeprof.engine.device_choice.open_devices``, so
   the CPU gets the same TDP estimate a bench gets) plus the worker process tree read on a live
   child; each read forced fresh (``t_ns`` advanced past the sensor's own rate limit), CPU time
   of this thread (``time.thread_time_ns``) and wall time, median of ``--reads``.
2. **fixture boards** (tests/fixtures/boards.py: RAPL 2-socket, Jetson Orin Nano, AGX Orin,
   Xavier NX): the same for adapters whose hardware is absent here. The files live on tmpfs, not
   sysfs, so the figure is Python + syscall cost only; a real sysfs attribute adds its driver's
   cost (e.g. an I2C transfer for an INA3221 that is not in continuous mode).
3. **sampler**: the real ``edgeprof.engine.sampler.Sampler`` thread at ``--hz`` on this machine's device
   with a live child attached (a Python process holding 160 MB, worker-sized), for ``--seconds``:
   CPU time of all this process's threads (``/proc/self/task/*/schedstat``, ns) while the main
   thread sleeps = the sampler's cost, as % of one core and µs per sample, wake-up included.

Tables 1 and 2 read in a hot loop; the sampler wakes every 50 ms to caches other processes have
filled, where the same reads cost 3–5× more (a cold ``pread`` of /proc/<pid>/stat: ~35 µs here).
Table 3 is the figure that counts. Windowed sensors (CPU utilization) are measured with their
minimum window disabled, so every read does the real /proc/stat work.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _fixture_boards():
    spec = importlib.util.spec_from_file_location("fx_boards", ROOT / "tests" / "fixtures" / "boards.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["fx_boards"] = mod
    spec.loader.exec_module(mod)
    return mod


def cost_us(sensor, reads: int) -> tuple[float, float, str]:
    """(median CPU µs, median wall µs, first reading's status) of ``reads`` fresh reads."""
    if hasattr(sensor, "min_window_ns"):
        sensor.min_window_ns = 0  # CpuUtilization: measure the refresh, not the warming-up path
    for dep in (getattr(sensor, "util", None),):
        if dep is not None:
            dep.min_window_ns = 0
    t_ns = time.monotonic_ns()
    period_ns = int((getattr(sensor.info, "read_period_s", None) or 0) * 1e9) + 1_000_000_000
    first = sensor.read(t_ns)
    status = "ok" if all(r.value is not None for r in first) else (first[0].reason or "none")[:48]
    cpu, wall = [], []
    for _ in range(reads):
        t_ns += period_ns  # past any rate limit: every read does the full work
        c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
        sensor.read(t_ns)
        w1, c1 = time.perf_counter_ns(), time.thread_time_ns()
        cpu.append((c1 - c0) / 1e3)
        wall.append((w1 - w0) / 1e3)
    return statistics.median(cpu), statistics.median(wall), status


def table(title: str, rows: list[tuple], hz: float) -> None:
    print(f"\n### {title}\n")
    print("| device | sensor | read period s | CPU µs/read | wall µs/read | µs per tick at "
          f"{hz:g} Hz | status |")
    print("|---|---|---:|---:|---:|---:|---|")
    total = 0.0
    for dev, s, cpu, wall, status in rows:
        period = getattr(s.info, "read_period_s", None) or 0.0
        share = min(1.0, (1.0 / hz) / period) if period > 0 else 1.0
        total += cpu * share if s.available else 0.0
        print(f"| {dev} | {s.name} | {period:g} | {cpu:.1f} | {wall:.1f} | {cpu * share:.1f} | {status} |")
    print(f"\nsum per tick (CPU, amortised by each sensor's own period): {total:.1f} µs "
          f"= {total * hz / 1e4:.3f} % of one core at {hz:g} Hz")


def this_machine(reads: int, hz: float) -> tuple[list, object, subprocess.Popen]:
    from edgeprof.devices.process import ProcessTree
    from edgeprof.engine.device_choice import open_devices

    found = open_devices(Path("/"))
    child = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(160 << 20); time.sleep(600)"])
    rows = []
    for d in found:
        for s in d.sensors():
            rows.append((d.info().kind, s, *cost_us(s, reads)))
    tree = ProcessTree(child.pid)
    rows.append(("process", tree, *cost_us(tree, reads)))
    tree.close()
    table(f"this machine ({found[-1].info().name}, load {_load()})", rows, hz)
    return found, found[-1], child


def fixture_boards(reads: int, hz: float) -> None:
    fx = _fixture_boards()
    from edgeprof.devices.cpu import HostCpu
    from edgeprof.devices.jetson import JetsonBoard

    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    rows = []
    with tempfile.TemporaryDirectory(prefix="edgeprof-cost-", dir=base) as tmp:
        for board, cls in (("rapl-2socket", HostCpu), ("orin-nano-jp6", JetsonBoard),
                           ("agx-orin-jp5", JetsonBoard), ("xavier-nx-jp4", JetsonBoard)):
            root = Path(tmp) / board
            root.mkdir()
            fx.build(root, board)
            dev = cls.open(root, nvpmodel=None) if cls is JetsonBoard else cls.open(root)
            for s in dev.sensors():
                if s.info.source in ("psutil cpu_times", "/proc/stat") and board != "rapl-2socket":
                    continue
                rows.append((board, s, *cost_us(s, reads)))
            dev.close()
    table(f"fixture boards (files on {'tmpfs' if base else 'disk'}, not sysfs)", rows, hz)


def _threads_cpu_ns() -> int:
    total = 0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return total


def sampler(device, child: subprocess.Popen, hz: float, seconds: float) -> None:
    from edgeprof.engine.sampler import Sampler

    smp = Sampler(device.sensors(), hz)
    smp.attach(child.pid)
    smp.start()
    time.sleep(0.5)  # past warm-up reads
    n0, c0, w0 = len(smp.buffer), _threads_cpu_ns(), time.monotonic()
    time.sleep(seconds)
    n1, c1, w1 = len(smp.buffer), _threads_cpu_ns(), time.monotonic()
    smp.stop()
    smp.detach()
    wakes = max(1, n1 - n0)
    cpu_s = (c1 - c0) / 1e9
    print(f"\n### sampler thread at {hz:g} Hz for {w1 - w0:.1f} s (load {_load()})\n")
    print(f"{wakes} samples; CPU {1e3 * cpu_s:.1f} ms = {100 * cpu_s / (w1 - w0):.3f} % of one core; "
          f"{1e6 * cpu_s / wakes:.0f} µs per sample (wake-up, sensors due, worker tree)")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reads", type=int, default=1000, help="reads per sensor (default 1000)")
    ap.add_argument("--hz", type=float, default=20.0, help="sampling rate to amortise over (default 20)")
    ap.add_argument("--seconds", type=float, default=5.0, help="sampler-thread measurement (default 5)")
    args = ap.parse_args(argv)
    print(f"{os.cpu_count()} logical CPUs, python {sys.version.split()[0]}, load {_load()}")
    found, cpu, child = this_machine(args.reads, args.hz)
    try:
        fixture_boards(args.reads, args.hz)
        sampler(cpu, child, args.hz, args.seconds)
    finally:
        child.kill()
        child.wait()
        for d in found:
            d.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
