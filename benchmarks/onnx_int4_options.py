"""Benchmark: the ONNX int4 (and int8) options, quality against the source and decode speed.

Issue 14 asks which choices give ONNX int4 q4_k_m's quality: block size, symmetric vs asymmetric,
accuracy level, 8-bit sensitive layers, calibration-free algorithms ONNX Runtime ships (k_quant,
HQQ) and our float block minimum (``exporters/blocks.py``). Every option here quantizes the SAME
fp32 graph (the model builder's, ``--graph builder``, or optimum's) and is scored by the exporter's
own quality code on the bundled text against the source (the HF model in PyTorch), so the figures
differ only by the weights. GGUF q4_k_m, q4_0 and q8_0 of the same source are scored alongside.

``--dither`` first moves the source OFF its Q4_1 grid (each weight of a Q4_1-derived matrix plus
uniform noise within its block's step; a different, slightly worse model): SmolLM2's baseline is
dequantized from Q4_1, which flatters every scheme with a float block minimum (q4_k_m included),
and the off-grid source shows how the options rank without that help.

``--speed`` adds interleaved decode loops (ONNX Runtime ``InferenceSession`` with KV cache; 64-token
prompt, 64 new tokens, ``--rounds`` rounds in rotating order) for the options named in --speed-of.

Usage: python benchmarks/onnx_int4_options.py --source HF_DIR --work DIR [--dither] [--speed] [-t 1]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgeprof.exporters.onnx.schemes import OFFSET_LAYERS, _save, copy_support_files  # noqa: E402
from edgeprof.exporters.onnx.quant import WeightPlan, quantize_model  # noqa: E402

OURS = {  # name -> WeightPlan (8-bit lm_head shared with the embedding unless head_bits=4)
    "int8 (q8_0 rule)": WeightPlan(body="int8"),
    "int4 rtn asym b32 (ORT RTN = int4-rtn)": WeightPlan(body="rtn"),
    "int4 rtn asym b16": WeightPlan(body="rtn", block_size=16),
    "int4 sym b32 (q4_0 rule)": WeightPlan(body="sym"),
    "int4 rtn asym b32, 4-bit lm_head": WeightPlan(body="rtn", head_bits=4),
    "int4 rtn asym b64": WeightPlan(body="rtn", block_size=64),
    "int4 float-min all (= int4-q)": WeightPlan(body="offset"),
    "int4 float-min qkv+down (= int4)": WeightPlan(body="offset", offset_only=OFFSET_LAYERS),
    "int4 float-min mlp only": WeightPlan(body="offset", offset_only=("gate_proj", "up_proj", "down_proj")),
    "int4 float-min attn only": WeightPlan(body="offset", offset_only=("q_proj", "k_proj", "v_proj", "qkv_proj", "o_proj")),
    "int4 float-min qkv+down, accuracy 0": WeightPlan(body="offset", offset_only=OFFSET_LAYERS, accuracy_level=0),
    "int4 float-min all b64": WeightPlan(body="offset", block_size=64),
}
ORT_ALGOS = ("ORT k_quant b32 (int zero point, 8-bit lm_head)", "ORT HQQ b32 (float zero point, 8-bit lm_head)")


def ort_quantize(model, name: str):
    """ONNX Runtime's own k_quant / HQQ quantizers (lm_head at 8 bits, embedding left as it is)."""
    from onnxruntime.quantization.matmul_nbits_quantizer import (HQQWeightOnlyQuantConfig, KQuantWeightOnlyQuantConfig,
                                                                  MatMulNBitsQuantizer)
    from edgeprof.exporters.onnx.quant import fold_constant_transposes

    fold_constant_transposes(model)
    head = [n.name for n in model.graph.node if n.op_type == "MatMul" and "logits" in n.output]
    if "k_quant" in name:
        q = MatMulNBitsQuantizer(model, block_size=32, accuracy_level=4, algo_config=KQuantWeightOnlyQuantConfig(
            customized_weight_config={h: {"bits": 8} for h in head}))
    else:
        q = MatMulNBitsQuantizer(model, nodes_to_exclude=head, algo_config=HQQWeightOnlyQuantConfig(block_size=32, bits=4))
    q.process()
    return q.model.model if hasattr(q.model, "model") else q.model


def dither(src: Path, out: Path) -> Path:
    import numpy as np
    from safetensors.numpy import load_file, save_file

    if (out / "model.safetensors").exists():
        return out
    shutil.copytree(src, out, dirs_exist_ok=True)
    w, rng = load_file(str(src / "model.safetensors")), np.random.default_rng(0)
    for k, v in w.items():
        if v.ndim != 2 or v.shape[1] % 32:
            continue
        b = v.reshape(v.shape[0], -1, 32).astype(np.float64)
        lo, d = b.min(-1, keepdims=True), (b.max(-1, keepdims=True) - b.min(-1, keepdims=True)) / 15
        q = (b - lo) / np.where(d > 0, d, 1)
        if np.abs(q - np.round(q)).max() < 1e-3:  # on a Q4_1 grid: dither within the step
            w[k] = (b + rng.uniform(-0.5, 0.5, b.shape) * d).reshape(v.shape).astype(np.float32)
    save_file(w, str(out / "model.safetensors"), metadata={"format": "pt"})
    return out


def graph(src: Path, work: Path, kind: str) -> Path:
    out = work / f"graph-{kind}"
    if (out / "model.onnx").exists():
        return out
    if kind == "optimum":
        from edgeprof.exporters.onnx.schemes import export_base
        export_base(src, out)
    else:
        from edgeprof.exporters.onnx.builder import build_graph
        build_graph(src, out, work / "tmp")
    return out


def ggufs(src: Path, work: Path) -> dict[str, Path]:
    from edgeprof.exporters.gguf.converter import convert_hf_to_gguf, ensure_converter
    from edgeprof.exporters.gguf.quantize import quantize_gguf

    f16 = work / "model-f16.gguf"
    if not f16.exists():
        convert_hf_to_gguf(ensure_converter(work / "converter"), src, f16)
    out = {}
    for q in ("q8_0", "q4_k_m", "q4_0"):
        out[f"gguf {q}"] = work / f"model-{q}.gguf"
        if not out[f"gguf {q}"].exists():
            quantize_gguf(f16, out[f"gguf {q}"], q)
    return out


def decode_speed(paths: dict[str, Path], threads: int, rounds: int) -> dict[str, list[float]]:
    from edgeprof.exporters.onnx.runner import OnnxDecoder

    decs = {k: OnnxDecoder(p, threads=threads) for k, p in paths.items()}
    res: dict[str, list[float]] = {k: [] for k in paths}
    names = list(paths)
    for r in range(rounds + 1):
        for k in names[r % len(names):] + names[:r % len(names)]:
            d = decs[k]
            logits, past = d.forward(list(range(100, 164)), d.empty_past(), 0)
            t, pos = time.perf_counter(), 64
            for _ in range(64):
                logits, past = d.forward([int(logits[-1].argmax())], past, pos)
                pos += 1
            if r:  # round 0 is the warm-up
                res[k].append(64 / (time.perf_counter() - t))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--graph", choices=("builder", "optimum"), default="builder")
    ap.add_argument("--dither", action="store_true")
    ap.add_argument("--speed", action="store_true")
    ap.add_argument("--speed-of", default="int4 rtn asym b32 (ORT RTN = int4-rtn),int4 float-min qkv+down (= int4),"
                                        "int4 float-min all (= int4-q),int8 (q8_0 rule)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("-t", "--threads", type=int, default=1)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    import onnx

    from edgeprof.exporters.quality.measure import build_eval_set, evaluate, reference_figures
    from edgeprof.exporters.quality.scorers import open_scorer

    args.work.mkdir(parents=True, exist_ok=True)
    src = dither(args.source, args.work / "hf-dither") if args.dither else args.source
    es = build_eval_set(src / "tokenizer.json")
    scorer = open_scorer("hf", src, threads=args.threads)
    ref = reference_figures(scorer, es)
    scorer.close()
    base = graph(src, args.work, args.graph)
    rows, paths = {}, {}
    for name in list(OURS) + list(ORT_ALGOS) + ["gguf"]:
        if name == "gguf":
            for gname, p in ggufs(src, args.work).items():
                rows[gname] = {"size_mib": p.stat().st_size / 2**20, **evaluate("gguf", p, es, ref, threads=args.threads)}
            continue
        out = args.work / "opt" / name.replace(" ", "_").replace("/", "-").replace("(", "").replace(")", "").replace(",", "")
        shutil.rmtree(out, ignore_errors=True)
        copy_support_files(base, out)
        model = onnx.load(str(base / "model.onnx"))
        t0 = time.perf_counter()
        if name in ORT_ALGOS:
            model = ort_quantize(model, name)
        else:
            quantize_model(model, OURS[name])
        _save(model, out / "model.onnx")
        took = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in out.glob("model.onnx*")) / 2**20
        rows[name] = {"size_mib": size, "quantize_s": round(took, 1), **evaluate("onnx", out / "model.onnx", es, ref,
                                                                                 threads=args.threads)}
        paths[name] = out / "model.onnx"
        q = rows[name]
        print(f"{name:45s} {size:7.1f} MiB  ppl x{q['perplexity_ratio']:.4f}  greedy {q['greedy_agreement']:.3f}  "
              f"next {q['next_token_agreement']:.3f}  ({took:.1f} s)", flush=True)
    for g in (k for k in rows if k.startswith("gguf")):
        q = rows[g]
        print(f"{g:45s} {q['size_mib']:7.1f} MiB  ppl x{q['perplexity_ratio']:.4f}  greedy {q['greedy_agreement']:.3f}  "
              f"next {q['next_token_agreement']:.3f}")
    print(f"source {src} ({'dithered off its Q4_1 grid' if args.dither else 'as is'}), graph {args.graph}, "
          f"baseline perplexity {ref.perplexity:.3f}, load {os.getloadavg()}")
    result = {"rows": rows, "baseline_perplexity": ref.perplexity, "dither": args.dither, "graph": args.graph}
    if args.speed:
        chosen = {k: paths[k] for k in args.speed_of.split(",") if k in paths}
        speed = decode_speed(chosen, args.threads, args.rounds)
        first = list(chosen)[0]
        for k, v in speed.items():
            ratios = [a / b for a, b in zip(v, speed[first])]
            print(f"decode {k:45s} median {statistics.median(v):6.1f} tok/s [{min(v):.1f}-{max(v):.1f}], vs {first}: "
                  f"median {statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]")
        print(f"-t {args.threads}, {args.rounds} rounds, load {os.getloadavg()}")
        result["speed"] = speed
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
