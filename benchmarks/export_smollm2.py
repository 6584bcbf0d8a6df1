"""Benchmark: edgeprof's five-artifact export of SmolLM2-135M against the raw tools' own times.

Issue 14 asks for ``edgeprof export smollm2-135m-instruct-hf --to onnx:fp16,int8,int4 --to
gguf:q8_0,q4_k_m`` (quality gate included) against what a user would type without edgeprof
(goal <= 1.1x). "Raw" is each tool in its own process, one after the other, measured the same way
(``os.wait4``: wall time and the child's own peak RSS), with no quality check at all:

1. ``optimum-cli export onnx --task text-generation-with-past`` (fp32 decoder with KV cache)
2. fp16: ``onnxruntime.transformers.float16.convert_float_to_float16(keep_io_types=True)`` on 1
3. int8: ``MatMulNBitsQuantizer(bits=8, block 32, symmetric)`` on 1
4. int4: ONNX Runtime's model builder ``-p int4 -e cpu`` (its own int4, RTN, block 32)
5. llama.cpp's ``convert_hf_to_gguf.py --outtype f16`` (the converter edgeprof fetches)
6. ``llama_model_quantize`` to Q8_0 and 7. to Q4_K_M

edgeprof runs its whole export: the same kinds of steps plus the model builder's fp32 graph, the
weight quantization, the source's reference figures, one load + quality pass per artifact and the
gate, two jobs at a time (``--jobs 1`` is measured too). Rounds alternate raw / edgeprof / edgeprof
--jobs 1; the machine's load is printed next to every figure. Downloads are done once before timing.

Usage: python benchmarks/export_smollm2.py [--source HF_DIR | --gguf Q4_1.gguf] [--rounds 2] [--work DIR]
       [--json OUT.json]
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgeprof import exporters  # noqa: E402
from edgeprof.exporters.gguf.converter import converter_command, ensure_converter  # noqa: E402
from edgeprof.exporters.gguf.quantize import quantize_command  # noqa: E402
from edgeprof.exporters.onnx.builder import BUILDER, ensure_builder  # noqa: E402
from edgeprof.exporters.pipeline.steps import run_command  # noqa: E402

FP16 = """
import sys, onnx
from onnxruntime.transformers.float16 import convert_float_to_float16
onnx.save_model(convert_float_to_float16(onnx.load(sys.argv[1]), keep_io_types=True), sys.argv[2])
"""
INT8 = """
import sys, onnx
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
q = MatMulNBitsQuantizer(onnx.load(sys.argv[1]), bits=8, block_size=32, is_symmetric=True, accuracy_level=4,
                         op_types_to_quantize=("MatMul",))
q.process()
onnx.save_model(q.model.model, sys.argv[2])
"""
FIVE = ["onnx:fp16,int8,int4", "gguf:q8_0,q4_k_m"]


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def raw_tools(src: Path, work: Path, converter, builder_root: Path) -> list[dict]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    onnx_dir = work / "raw-onnx"
    b_cmd = [sys.executable, str(builder_root / BUILDER), "-i", str(src), "-o", str(work / "raw-int4"), "-p", "int4",
             "-e", "cpu", "-c", str(work / "hf-cache")]
    b_env = dict(os.environ, PYTHONPATH=str(builder_root), HF_HUB_OFFLINE="1")
    conv_cmd, conv_env = converter_command(converter, src, work / "raw-f16.gguf", outtype="f16")
    cmds = [
        ("optimum-cli export onnx", [shutil.which("optimum-cli") or "optimum-cli", "export", "onnx", "--model", str(src),
                                     "--task", "text-generation-with-past", str(onnx_dir)], None),
        ("float16 (keep_io_types)", [sys.executable, "-c", FP16, str(onnx_dir / "model.onnx"), str(work / "raw-fp16.onnx")], None),
        ("MatMulNBits 8-bit", [sys.executable, "-c", INT8, str(onnx_dir / "model.onnx"), str(work / "raw-int8.onnx")], None),
        ("model builder -p int4", b_cmd, b_env),
        ("convert_hf_to_gguf f16", conv_cmd, conv_env),
        ("llama_model_quantize q8_0", quantize_command(work / "raw-f16.gguf", work / "raw-q8_0.gguf", "q8_0"), None),
        ("llama_model_quantize q4_k_m", quantize_command(work / "raw-f16.gguf", work / "raw-q4_k_m.gguf", "q4_k_m"), None),
    ]
    steps = []
    for name, cmd, env in cmds:
        rc, st = run_command(name, cmd, log_path=work / "raw.log", env=env)
        if rc != 0:
            raise SystemExit(f"raw step {name} failed (exit {rc}); see {work / 'raw.log'}")
        steps.append(st.to_dict())
    return steps


def ours(src: Path, out: Path, jobs: int | None, caches: dict) -> dict:
    t0 = time.perf_counter()
    exporters.export(src, FIVE, out, overwrite=True, jobs=jobs, **caches)
    wall = time.perf_counter() - t0
    m = exporters.read_manifest(out)
    return {"wall_s": round(wall, 2), "parallel_jobs": m["export"]["parallel_jobs"],
            "peak_rss_bytes": m["export"]["peak_rss_bytes"],
            "steps": {s["name"]: s["wall_s"] for s in m["export"]["steps"]},
            "quality_eval_s": {a["path"]: a["export"].get("quality_eval_s") for a in m["artifacts"]},
            "quality": {a["path"]: (a["quality_status"], a["quality"]["perplexity_ratio"]) for a in m["artifacts"]},
            "sizes": {a["path"]: a["size_bytes"] for a in m["artifacts"]}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", type=Path)
    ap.add_argument("--gguf", type=Path, help="packaged GGUF to rebuild the HF source from")
    ap.add_argument("--work", type=Path)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-sequential", action="store_true", help="skip the --jobs 1 runs")
    ap.add_argument("--download-cache", type=Path, help="machine-wide archive cache (default: the platform's)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="edgeprof-export-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src = args.source
    if src is None:
        if not args.gguf:
            raise SystemExit("pass --source HF_DIR or --gguf SmolLM2-135M-Instruct.Q4_1.gguf")
        src = exporters.rebuild_hf_from_gguf(args.gguf, work / "hf", model_id="smollm2-135m-instruct", overwrite=True)
    # downloads (once per machine) are not timed: both sides need them
    converter = ensure_converter(work / "converter", download_cache=args.download_cache)
    builder_root = ensure_builder(work / "builder", download_cache=args.download_cache)
    caches = {"converter_cache": converter.root, "builder_cache": builder_root, "download_cache": args.download_cache}
    rounds = []
    for r in range(args.rounds):
        row = {"load_before": load()}
        raw = raw_tools(src, work / "raw", converter, builder_root)
        row["raw"] = {"steps": raw, "wall_s": round(sum(s["wall_s"] for s in raw), 2),
                      "peak_rss_bytes": max(s["peak_rss_bytes"] or 0 for s in raw), "load_after": load()}
        row["edgeprof"] = {**ours(src, work / "ours", None, caches), "load_after": load()}
        if not args.no_sequential:
            row["edgeprof_jobs1"] = {**ours(src, work / "ours-seq", 1, caches), "load_after": load()}
        rounds.append(row)
        print(f"round {r + 1}: raw {row['raw']['wall_s']:.1f} s (load {row['load_before']} -> {row['raw']['load_after']}), "
              f"edgeprof {row['edgeprof']['wall_s']:.1f} s with {row['edgeprof']['parallel_jobs']} jobs "
              f"(load {row['edgeprof']['load_after']})"
              + (f", --jobs 1 {row['edgeprof_jobs1']['wall_s']:.1f} s (load {row['edgeprof_jobs1']['load_after']})"
                 if "edgeprof_jobs1" in row else ""), flush=True)
    ratios = [r["edgeprof"]["wall_s"] / r["raw"]["wall_s"] for r in rounds]
    result = {"model": str(src), "rounds": rounds, "ratio_wall": ratios, "ratio_wall_median": statistics.median(ratios)}
    if not args.no_sequential:
        result["ratio_wall_jobs1"] = [r["edgeprof_jobs1"]["wall_s"] / r["raw"]["wall_s"] for r in rounds]
    print(json.dumps(result, indent=2))
    print(f"\nfive-artifact export wall, edgeprof (quality gate included) / raw tools (no quality): "
          f"median {result['ratio_wall_median']:.2f} (rounds: {', '.join(f'{x:.2f}' for x in ratios)}; goal <= 1.1)"
          + (f"; --jobs 1: {', '.join(f'{x:.2f}' for x in result['ratio_wall_jobs1'])}" if not args.no_sequential else ""))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
