"""Benchmark: edgeprof's export of SmolLM2-135M to ONNX int4 + GGUF q4_k_m vs the raw tools.

Issue 3 asks for the export's wall time and peak RSS against the raw tools' own times for the same
steps (goal <= 1.1x). "Raw" here is what a user would type without edgeprof, each in its own
process, measured the same way (``os.wait4``: wall time and the child's own peak RSS):

1. ``optimum-cli export onnx --task text-generation-with-past`` (fp32 decoder with KV cache)
2. ``MatMulNBitsQuantizer`` (4 bits, block 32, accuracy level 4, MatMul + Gather) on that file
3. llama.cpp's ``convert_hf_to_gguf.py --outtype f16`` (the same converter edgeprof fetches)
4. ``llama_model_quantize`` to Q4_K_M

edgeprof runs the same four steps plus the tied-embedding fold and hashing; its quality pass is
off here (``quality=False``) because the raw tools do not measure quality; the one-token
verification stays on and is reported separately.

Usage: python benchmarks/export_smollm2.py --source HF_DIR [--work DIR] [--json OUT.json]
(without --source the HF model is rebuilt from the packaged GGUF given by --gguf).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import exporters  # noqa: E402
from exporters.converter import converter_command, ensure_converter  # noqa: E402
from exporters.gguf import quantize_command  # noqa: E402
from exporters.steps import run_command  # noqa: E402

INT4 = """
import sys, onnx
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
m = onnx.load(sys.argv[1])
q = MatMulNBitsQuantizer(m, bits=4, block_size=32, is_symmetric=False, accuracy_level=4,
                         op_types_to_quantize=("MatMul", "Gather"), quant_axes=(("MatMul", 0), ("Gather", 1)))
q.process()
onnx.save_model(q.model.model, sys.argv[2])
"""


def raw_tools(src: Path, work: Path, converter) -> list[dict]:
    steps = []
    onnx_dir = work / "raw-onnx"
    cli = shutil.which("optimum-cli") or "optimum-cli"
    cmds = [
        ("optimum-cli export onnx", [cli, "export", "onnx", "--model", str(src), "--task",
                                     "text-generation-with-past", str(onnx_dir)], None),
        ("MatMulNBitsQuantizer int4", [sys.executable, "-c", INT4, str(onnx_dir / "model.onnx"),
                                       str(work / "raw-int4.onnx")], None),
    ]
    conv_cmd, conv_env = converter_command(converter, src, work / "raw-f16.gguf", outtype="f16")
    cmds.append(("convert_hf_to_gguf f16", conv_cmd, conv_env))
    cmds.append(("llama_model_quantize q4_k_m",
                 quantize_command(work / "raw-f16.gguf", work / "raw-q4_k_m.gguf", "q4_k_m"), None))
    for name, cmd, env in cmds:
        rc, st = run_command(name, cmd, log_path=work / "raw.log", env=env)
        if rc != 0:
            raise SystemExit(f"raw step {name} failed (exit {rc}); see {work / 'raw.log'}")
        steps.append(st.to_dict())
    return steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--source", type=Path)
    ap.add_argument("--gguf", type=Path, help="packaged GGUF to rebuild the HF source from")
    ap.add_argument("--work", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--converter-cache", type=Path)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="edgeprof-export-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src = args.source
    if src is None:
        if not args.gguf:
            raise SystemExit("pass --source HF_DIR or --gguf SmolLM2-135M-Instruct.Q4_1.gguf")
        src = exporters.rebuild_hf_from_gguf(args.gguf, work / "hf", model_id="smollm2-135m-instruct",
                                             overwrite=True)
    converter = ensure_converter(args.converter_cache)  # download not timed: both sides need it
    raw = raw_tools(src, work, converter)
    t0 = time.perf_counter()
    out = exporters.export(src, ["onnx:int4", "gguf:q4_k_m"], work / "edgeprof", overwrite=True, quality=False,
                           converter_cache=args.converter_cache)
    ours_wall = time.perf_counter() - t0
    m = exporters.read_manifest(out)
    ours_steps = m["export"]["steps"]
    verify_s = sum(a["verify"]["load_and_first_token_s"] for a in m["artifacts"])
    raw_wall = sum(s["wall_s"] for s in raw)
    result = {
        "model": m["model"], "host_note": "2-core shared CI box; compare only within one run",
        "raw": {"steps": raw, "wall_s": round(raw_wall, 2),
                "peak_rss_bytes": max(s["peak_rss_bytes"] or 0 for s in raw)},
        "edgeprof": {"steps": ours_steps, "wall_s": round(ours_wall, 2),
                     "steps_wall_s": round(sum(s["wall_s"] for s in ours_steps), 2),
                     "verify_s": round(verify_s, 2), "peak_rss_bytes": m["export"]["peak_rss_bytes"]},
        "sizes": {a["quant"]: a["size_bytes"] for a in m["artifacts"]},
    }
    result["ratio_wall"] = round(ours_wall / raw_wall, 3)
    result["ratio_peak_rss"] = round(result["edgeprof"]["peak_rss_bytes"] / result["raw"]["peak_rss_bytes"], 3)
    print(json.dumps(result, indent=2))
    print(f"\nexport wall: edgeprof {ours_wall:.1f} s vs raw tools {raw_wall:.1f} s -> {result['ratio_wall']}x "
          f"(goal <= 1.1); peak RSS ratio {result['ratio_peak_rss']}x")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
