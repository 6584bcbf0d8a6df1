"""Category ``scale`` of ``benchmarks/attack.py`` (issue 21 item 10): a 300,000-row LocalScore
import, then a ``bench`` of the default model. The import reads every row once (that is what an
import is); the bench must not: its time is bounded (at most ``EXTRA_S`` seconds more than the
same bench without the set, measured just before) and the imported rows file is never opened
(inotify: matching reads the set's row index, the what-if fit its stored columns).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TSV = ROOT / "assets" / "reference" / "localscore" / "localscore_results.tsv"
ROWS = 300_000
EXTRA_S = 30.0


def _timed_bench(a, run: Path, watch_dir: Path | None = None) -> tuple[dict, float, list[str]]:
    from attack_issue21 import _load

    opens = _load("opens", ROOT / "tests" / "faults" / "opens.py")
    args = [sys.executable, "-m", "edgeprof", "bench", str(a.gguf), *a.fast, "--out", str(run)]
    t0 = time.monotonic()
    if watch_dir is None:
        p = subprocess.run(args, env=a.env, capture_output=True, text=True, timeout=900)
        opened: list[str] = []
    else:
        with opens.OpenWatch(watch_dir) as w:
            p = subprocess.run(args, env=a.env, capture_output=True, text=True, timeout=900)
            w.drain()
        opened = list(w.opened)
    res = {"cmd": "edgeprof bench " + " ".join(map(str, args[4:])), "rc": p.returncode, "stdout": p.stdout,
           "stderr": p.stderr}
    return res, time.monotonic() - t0, opened


def scale(a, rows: int = ROWS) -> None:
    lines = TSV.read_text().splitlines()
    body = ["\t".join([str(10**7 + i)] + lines[1 + i % (len(lines) - 1)].split("\t")[1:]) for i in range(rows)]
    f = a.work / "huge.tsv"
    f.write_text("\n".join([lines[0], *body]) + "\n")
    _timed_bench(a, a.run_dir())    # the first bench in a new home probes the machine's bandwidth: not timed
    base, base_s, _ = _timed_bench(a, a.run_dir())
    t0 = time.monotonic()
    imp = a.cli("reference", "import", "localscore", f, "--name", "huge", timeout=1800)
    import_s = time.monotonic() - t0
    a.judge("scale", f"reference import of {rows:,} LocalScore rows ({import_s:.0f} s)", imp, (0,))
    folder = a.home / "reference" / "huge"
    run = a.run_dir()
    res, bench_s, opened = _timed_bench(a, run, folder if folder.is_dir() else None)
    extra = []
    if bench_s > base_s + EXTRA_S:
        extra.append(f"bench took {bench_s:.1f} s with the set, {base_s:.1f} s without (limit +{EXTRA_S:g} s)")
    if any(Path(x).name == f.name for x in opened):
        extra.append("bench read the imported rows file")
    if base["rc"] != 0:
        extra.append("the bench without the set failed")
    a.judge("scale", f"bench after a {rows:,}-row import ({bench_s:.1f} s; {base_s:.1f} s without)", res, (0,), run,
            extra=extra)
    shutil.rmtree(folder, ignore_errors=True)
    f.unlink(missing_ok=True)
