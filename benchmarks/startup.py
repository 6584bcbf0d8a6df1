"""Start-up cost: ``edgeprof --help`` wall time vs ``python -c pass`` (target <= 3x).

Interleaved pairs in one run; prints the median ratio and its spread.
    python benchmarks/startup.py [--pairs 15]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=15)
    a = ap.parse_args()
    base_cmd = [sys.executable, "-c", "pass"]
    help_cmd = [sys.executable, "-m", "edgeprof", "--help"]
    wall(base_cmd), wall(help_cmd)  # warm the page cache
    ratios, bases, helps = [], [], []
    for _ in range(a.pairs):
        b, h = wall(base_cmd), wall(help_cmd)
        bases.append(b), helps.append(h), ratios.append(h / b)
    q = statistics.quantiles(ratios, n=4)
    print(f"python -c pass: median {statistics.median(bases) * 1e3:.1f} ms; "
          f"edgeprof --help: median {statistics.median(helps) * 1e3:.1f} ms")
    print(f"start-up ratio edgeprof --help / python -c pass: median {statistics.median(ratios):.2f}x "
          f"(IQR {q[0]:.2f}-{q[2]:.2f}, {a.pairs} interleaved pairs; target <= 3x)")


if __name__ == "__main__":
    main()
