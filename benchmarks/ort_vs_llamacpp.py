"""Benchmark: ONNX int4 (ONNX Runtime) vs GGUF q4_k_m (llama.cpp) on the same model, as interleaved
pairs with their spread: decode speed, size and quality side by side.

Why pairs: this machine's speed drifts +-20 % minute to minute and other jobs share its cores, so
one int4 run against one q4_k_m run measured 1.34x, 1.13x and 0.65x on one day. Here each pair is
an ONNX case and a q4_k_m case run back to back through ``edgeprof bench`` (same worker, clock,
greedy loop, workload and threads; llama.cpp with edgeprof's defaults = llama-bench's), the order
alternating from pair to pair; the figure is the median of the per-pair decode ratios with their
range and quartiles, and the 1-minute load average is recorded with every case. Contention only
ever slows a repetition, so the ratio of each artifact's fastest repetitions is printed too.

Artifacts, all from SmolLM2-135M-Instruct rebuilt from the packaged Q4_1 GGUF, made by ONE
``exporters.export(hf, ["onnx:int4,int4-q,int4-rtn", "gguf:q4_k_m"], WORK/export)`` (so each comes
with the manifest's size and quality figures, printed too): ``onnx-int4`` (default: float block
minimum on QKV and MLP down, RTN elsewhere), ``onnx-int4-q`` (float minimum everywhere),
``onnx-int4-rtn`` (plain RTN, the former default), ``gguf-q4_k_m``.

Usage: python benchmarks/ort_vs_llamacpp.py [--work DIR] [--pairs 5] [--reps 3] [-p 128] [-n 128] [-t 2]
       [--only onnx-int4,onnx-int4-q,onnx-int4-rtn] [--json OUT.json]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = "gguf-q4_k_m"
ONNX = ("onnx-int4", "onnx-int4-q", "onnx-int4-rtn")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def default_gguf() -> Path:
    sys.path.insert(0, str(ROOT))
    from edgeprof.models import catalogue
    from edgeprof import home

    return catalogue.ensure(catalogue.get("smollm2-135m-instruct"), home.models_dir())


def build(work: Path, gguf: Path, download_cache: Path | None) -> tuple[dict[str, Path], dict]:
    """The artifacts by bench name and their manifest entries (one ``exporters.export`` with quality)."""
    from edgeprof import exporters
    from edgeprof.exporters.source.hf import rebuild_hf_from_gguf

    hf, exp = work / "hf", work / "export"
    if not (hf / "config.json").exists():
        log(f"rebuilding the HF model from {gguf.name}")
        rebuild_hf_from_gguf(gguf, hf, model_id="smollm2-135m-instruct", overwrite=True)
    if not (exp / "manifest.json").exists():
        log("exporters.export onnx:int4,int4-q,int4-rtn gguf:q4_k_m (with quality)")
        exporters.export(hf, ["onnx:int4,int4-q,int4-rtn", "gguf:q4_k_m"], exp, overwrite=True,
                         converter_cache=work / "cache" / "converter", download_cache=download_cache,
                         progress=lambda e: log(f"  {e.step} {e.status}: {e.message}"))
    entries = {a["path"]: a for a in exporters.read_manifest(exp)["artifacts"]}
    return {name: exp / e["main_file"] for name, e in entries.items()}, entries


def bench(name: str, path: Path, args, run_dir: Path) -> dict:
    cmd = [sys.executable, "-m", "edgeprof", "bench", str(path), "-p", str(args.p), "-n", str(args.n),
           "-t", str(args.threads), "--reps", str(args.reps), "--warmup", "1", "--min-seconds", "0",
           "--idle-seconds", "0", "--sample-hz", "5", "--out", str(run_dir), "--overwrite", "-o", "json", "-q"]
    load0 = os.getloadavg()[0]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"{name}: edgeprof bench failed: {proc.stderr.strip()[-500:]}")
    [rec] = json.loads(proc.stdout)
    if rec["status"] != "ok":
        raise SystemExit(f"{name}: case {rec['status']}: {rec['error']}")
    m = rec["metrics"]
    return {"decode_tok_s": m["decode_tokens_per_s"]["median"], "decode_samples": m["decode_tokens_per_s"].get("samples"),
            "prefill_tok_s": m["prefill_tokens_per_s"]["median"], "peak_rss_mib": m["peak_rss_bytes"]["value"] / 2**20,
            "placement": rec["runtime"]["placement"], "load_1m": [round(load0, 2), round(os.getloadavg()[0], 2)]}


def quartiles(xs: list[float]) -> tuple[float, float]:
    if len(xs) < 4:
        return min(xs), max(xs)
    q = statistics.quantiles(xs, n=4)
    return q[0], q[2]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "edgeprof-ort-bench")
    ap.add_argument("--gguf", type=Path, default=None, help="source GGUF (default: the catalogue's SmolLM2 Q4_1)")
    ap.add_argument("--download-cache", type=Path, default=None)
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("-p", type=int, default=128)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("-t", "--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--only", default=",".join(ONNX))
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    args.work.mkdir(parents=True, exist_ok=True)
    arts, entries = build(args.work, args.gguf or default_gguf(), args.download_cache)
    names = [n for n in args.only.split(",") if n in arts]
    pairs: dict[str, list[dict]] = {n: [] for n in names}
    for i in range(args.pairs):
        for name in names:
            order = (BASE, name) if (i + names.index(name)) % 2 == 0 else (name, BASE)
            row = {k: bench(k, arts[k], args, args.work / "runs" / f"{i}-{name}-{k}") for k in order}
            row["ratio"] = row[name]["decode_tok_s"] / row[BASE]["decode_tok_s"]
            pairs[name].append(row)
            log(f"pair {i + 1} {name}: {row[name]['decode_tok_s']:.1f} vs q4_k_m {row[BASE]['decode_tok_s']:.1f} tok/s "
                f"= {row['ratio']:.2f} (first {order[0]}, load {row[order[0]]['load_1m']} / {row[order[1]]['load_1m']})")
    summary = {}
    for name, rows in pairs.items():
        ratios = [r["ratio"] for r in rows]
        fast = max(max(r[name]["decode_samples"] or [r[name]["decode_tok_s"]]) for r in rows)
        fast_base = max(max(r[BASE]["decode_samples"] or [r[BASE]["decode_tok_s"]]) for r in rows)
        q1, q3 = quartiles(ratios)
        summary[name] = {"ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
                         "ratio_q1": q1, "ratio_q3": q3, "ratios": ratios, "fastest_ratio": fast / fast_base,
                         "decode_median": statistics.median(r[name]["decode_tok_s"] for r in rows),
                         "q4_k_m_decode_median": statistics.median(r[BASE]["decode_tok_s"] for r in rows),
                         "loads": [r[name]["load_1m"][0] for r in rows]}
    print(f"SmolLM2-135M-Instruct, -p {args.p} -n {args.n} -t {args.threads}, {args.pairs} interleaved pairs x "
          f"{args.reps} reps per artifact; llama.cpp placement: {json.dumps(pairs[names[0]][0][BASE]['placement'])}")
    print(f"{'artifact':15s} {'MiB':>6s} {'ppl x':>6s} {'greedy':>6s} {'decode':>7s} {'q4_k_m':>7s} "
          f"{'ratio median [min-max] (IQR)':>32s} {'fastest':>8s}  loads")
    for name, s in summary.items():
        q = entries[name]["quality"] or {}
        print(f"{name:15s} {entries[name]['size_bytes'] / 2**20:6.1f} {q.get('perplexity_ratio', 0):6.3f} "
              f"{q.get('greedy_agreement', 0):6.3f} {s['decode_median']:7.1f} {s['q4_k_m_decode_median']:7.1f} "
              f"{s['ratio_median']:6.2f} [{s['ratio_min']:.2f}-{s['ratio_max']:.2f}] ({s['ratio_q1']:.2f}-{s['ratio_q3']:.2f})"
              f" {s['fastest_ratio']:8.2f}  {s['loads']}")
    k = entries[BASE]["quality"] or {}
    print(f"{BASE:15s} {entries[BASE]['size_bytes'] / 2**20:6.1f} {k.get('perplexity_ratio', 0):6.3f} "
          f"{k.get('greedy_agreement', 0):6.3f}")
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "pairs": pairs,
                                         "summary": summary, "artifacts": entries}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
