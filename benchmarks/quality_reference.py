"""Benchmark: the source's reference figures from PyTorch vs ONNX Runtime on its fp32 optimum export.

Issue 14 asks for quality evaluation on the fastest runtime that gives the same numbers. Each run
is a fresh process calling ``edgeprof.exporters.quality.verify.compute_reference`` (imports, load, perplexity over
the bundled text, greedy continuations of the prompt set), interleaved, and the script checks that
both runtimes give the same perplexity, the same top-1 at every position and the same continuations.

Usage: python benchmarks/quality_reference.py --source HF_DIR --onnx FP32_DIR/model.onnx [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = """
import sys, json
from edgeprof.exporters.quality.verify import compute_reference
print(json.dumps(compute_reference(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], threads=1)))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--onnx", type=Path, required=True, help="the source's fp32 optimum export (model.onnx)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from edgeprof.exporters.quality.measure import build_eval_set

    tmp = Path(tempfile.mkdtemp(prefix="edgeprof-ref-"))
    (tmp / "es.json").write_text(json.dumps(asdict(build_eval_set(args.source / "tokenizer.json"))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    walls: dict[str, list[float]] = {"onnx": [], "hf": []}
    runs = (("onnx", args.onnx), ("hf", args.source))
    for i in range(args.runs):
        for fmt, path in runs if i % 2 == 0 else runs[::-1]:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-c", CODE, fmt, str(path), str(tmp / "es.json"), str(tmp / f"{fmt}.json")],
                           check=True, capture_output=True, env=env)
            walls[fmt].append(time.perf_counter() - t)
            print(f"{fmt}: {walls[fmt][-1]:.1f} s (load {os.getloadavg()[0]:.1f})", flush=True)
    a, b = (json.loads((tmp / f"{f}.json").read_text()) for f in ("onnx", "hf"))
    same = sum(x == y for wa, wb in zip(a["argmax"], b["argmax"]) for x, y in zip(wa, wb))
    print(f"onnxruntime median {statistics.median(walls['onnx']):.1f} s {[round(x, 1) for x in walls['onnx']]}, "
          f"torch median {statistics.median(walls['hf']):.1f} s {[round(x, 1) for x in walls['hf']]}")
    print(f"perplexity {a['perplexity']:.6f} vs {b['perplexity']:.6f}; same top-1 at {same}/"
          f"{sum(map(len, a['argmax']))} positions; continuations equal: {a['continuations'] == b['continuations']}")


if __name__ == "__main__":
    main()
