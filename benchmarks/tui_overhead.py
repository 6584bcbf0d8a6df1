"""Does watching a run cost the measurement? Decode tokens/s of the same case under the TUI and
headless, in interleaved pairs, and the TUI's own CPU while a case runs.

    python benchmarks/tui_overhead.py --pairs 5 -p 64 -n 128 --reps 5 -t 1

A is ``edgeprof bench`` (stderr a pipe: no progress line), B is ``edgeprof tui --exit-when-done``
on a real pseudo-terminal (120x36, the screen drawn and read back as a terminal would), at the
default refresh. Pairs alternate A,B / B,A to cancel drift. Per pair: B/A of decode tokens/s
medians (target >= 0.98). CPU: each record's ``harness_cpu_s`` is the parent's CPU time while its
case ran (sampler, event pipe and, under B, the TUI); B's minus A's, over the case's wall time, is
what the TUI costs in % of one core (target <= 5 %).
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
from pathlib import Path


def on_terminal(cmd: list[str], cwd: Path, env: dict, size=(120, 36)) -> int:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            try:
                os.read(master, 65536)
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()
    try:
        return subprocess.run(cmd, stdin=slave, stderr=slave, stdout=subprocess.DEVNULL, cwd=cwd, env=env).returncode
    finally:
        stop.set()
        os.close(slave)
        os.close(master)


def one(kind: str, args, work: Path, i: int) -> dict:
    out = work / f"{kind}{i}"
    flags = ["-p", str(args.p), "-n", str(args.n), "--reps", str(args.reps), "--warmup", "1", "--min-seconds", "0",
             "-t", str(args.t), "--idle-seconds", "1", "--out", str(out), args.model]
    env = {**os.environ, "TERM": "xterm-256color"}
    if kind == "bench":
        rc = subprocess.run([sys.executable, "-m", "edgeprof", "bench", *flags, "-q"], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
    else:
        rc = on_terminal([sys.executable, "-m", "edgeprof", "tui", *flags, "--exit-when-done"], work, env)
    if rc != 0:
        raise SystemExit(f"{kind} run {i} failed (exit {rc}); see {out}")
    rec = json.loads((out / "records.jsonl").read_text().splitlines()[0])
    phases = rec["phases"]
    wall = (max(p["t1_ns"] for p in phases) - min(p["t0_ns"] for p in phases)) / 1e9
    return {"decode": rec["metrics"]["decode_tokens_per_s"]["median"], "cpu_s": rec["harness_cpu_s"], "wall_s": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("-p", type=int, default=64)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("-t", type=int, default=1)
    ap.add_argument("--model", default="smollm2-135m-instruct", help="MODEL argument (default: the packaged SmolLM2)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="edgeprof-tui-overhead-"))
    load0 = os.getloadavg()
    ratios, costs = [], []
    for i in range(args.pairs):
        order = ("bench", "tui") if i % 2 == 0 else ("tui", "bench")
        got = {k: one(k, args, work, i) for k in order}
        a, b = got["bench"], got["tui"]
        ratios.append(b["decode"] / a["decode"])
        costs.append(100 * (b["cpu_s"] / b["wall_s"] - a["cpu_s"] / a["wall_s"]))
        print(f"pair {i + 1} ({'/'.join(order)}): headless {a['decode']:.1f} t/s, TUI {b['decode']:.1f} t/s, "
              f"ratio {ratios[-1]:.3f}; parent CPU headless {100 * a['cpu_s'] / a['wall_s']:.1f} %, "
              f"TUI {100 * b['cpu_s'] / b['wall_s']:.1f} % of a core", flush=True)
    load1 = os.getloadavg()
    print(f"\nTUI/headless decode tokens/s: median {statistics.median(ratios):.3f} (min {min(ratios):.3f}, "
          f"max {max(ratios):.3f}, {len(ratios)} interleaved pairs; target >= 0.98)")
    print(f"TUI's own CPU while a case runs: median {statistics.median(costs):.1f} % of one core "
          f"(min {min(costs):.1f}, max {max(costs):.1f}; target <= 5 %)")
    print(f"load average before {load0[0]:.2f}, after {load1[0]:.2f}; {os.cpu_count()} CPUs; runs in {work}")


if __name__ == "__main__":
    main()
