#!/usr/bin/env python
"""Does ``edgeprof report`` take time in proportion to the records it reads? (issue 21 item 10)

    python benchmarks/report_scaling.py                     # 250 vs 1,000 records, 3 interleaved pairs
    python benchmarks/report_scaling.py --small 25 --large 100 --pairs 1   # a quick look

A synthetic run directory of N records is made from the recorded fixture run
(tests/fixtures/report/matrix: its 6 cases repeated with new case ids, each with its samples and
token files), then ``build_report`` (the HTML + Markdown report, figures included) is timed on the
small and the large run, interleaved (small, large, large, small, ...) so drift hits both. Prints
each time and the ratio large ÷ small (median of the pairs); 4x the records should cost at most
5x the time (``--limit``), and the large report should take well under a minute (``--max-seconds``).
Exit 1 when either is exceeded. The machine's load average is printed before and after: a loaded
machine inflates both times, the ratio much less. The default run takes about two minutes.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MATRIX = ROOT / "tests" / "fixtures" / "report" / "matrix"


def make_run(dest: Path, n: int) -> Path:
    """A run directory of ``n`` records cut from the fixture's, each with its own case id and files."""
    recs = [json.loads(x) for x in (MATRIX / "records.jsonl").read_text().splitlines()]
    dest.mkdir(parents=True)
    (dest / "samples").mkdir()
    for name in ("env.json", "baseline.json"):
        shutil.copy(MATRIX / name, dest / name)
    plan = json.loads((MATRIX / "plan.json").read_text())
    out, cases = [], []
    for i in range(n):
        rec = dict(recs[i % len(recs)])
        old, rec["case_id"] = rec["case_id"], f"{i:016x}"
        out.append(json.dumps(rec))
        cases.append({"case_id": rec["case_id"]})
        for suffix in (".csv", ".tokens.csv", ".columns.json"):
            src = MATRIX / "samples" / f"{old}{suffix}"
            if src.is_file():
                shutil.copy(src, dest / "samples" / f"{rec['case_id']}{suffix}")
    (dest / "records.jsonl").write_text("\n".join(out) + "\n")
    (dest / "plan.json").write_text(json.dumps({**plan, "cases": cases}))
    return dest


def time_report(run: Path, out: Path) -> float:
    from edgeprof.views.report.build import build_report

    t0 = time.perf_counter()
    build_report([run], out, overwrite=True)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", type=int, default=250)
    ap.add_argument("--large", type=int, default=1000)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--limit", type=float, default=5.0)
    ap.add_argument("--max-seconds", type=float, default=60.0, help="the large report's median time limit")
    args = ap.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPU(s)")
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory(prefix="edgeprof-report-scaling-") as tmp:
        work = Path(tmp)
        small, large = make_run(work / "small", args.small), make_run(work / "large", args.large)
        ratios, large_s = [], []
        for k in range(args.pairs):
            order = [(small, "small"), (large, "large")] if k % 2 == 0 else [(large, "large"), (small, "small")]
            t = {label: time_report(run, work / f"out-{label}") for run, label in order}
            ratios.append(t["large"] / t["small"])
            large_s.append(t["large"])
            print(f"pair {k + 1}: {args.small} records {t['small']:.2f} s, {args.large} records {t['large']:.2f} s, "
                  f"ratio {ratios[-1]:.2f}", flush=True)
    ratio, large = statistics.median(ratios), statistics.median(large_s)
    verdict = "linear enough" if ratio <= args.limit else "TOO SLOW: grows faster than the records"
    print(f"report time ratio {args.large}/{args.small} records: {ratio:.2f}x (limit {args.limit:g}x for "
          f"{args.large / args.small:g}x the records) — {verdict}")
    fast = large <= args.max_seconds
    print(f"{args.large} records: median {large:.1f} s (limit {args.max_seconds:g} s) — "
          f"{'fast enough' if fast else 'TOO SLOW'}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ratio <= args.limit and fast else 1


if __name__ == "__main__":
    sys.exit(main())
