"""ONNX Runtime's own model builder (onnxruntime-genai) as the graph of the quantized ONNX schemes.

Why: on SmolLM2-135M the builder's graph (one fused ``GroupQueryAttention`` per layer with rotary
and KV append inside, ``SkipSimplifiedLayerNormalization``, fused QKV) decodes ~1.5x faster than
the optimum export, whose unfused attention runs ~3,000 tiny nodes per token (docs/benchmarks.md,
"ONNX Runtime vs llama.cpp decode"). We ask it for the fp32 graph only (``-p fp32``, ~6 s) and
quantize the weights ourselves (``onnx_quant.py``), so every scheme's quantization is the same on
either graph and the builder's own int4 options (integer zero points only) do not limit quality.

How, like ``converter.py``: nothing is vendored or installed. The ``onnxruntime-genai`` wheel of
``GENAI_VERSION`` (the newest whose builder imports with transformers 4.57) comes from the
machine-wide download cache (``downloads.py``); only its pure-Python ``onnxruntime_genai/models/``
is extracted and the builder script runs in a child process from there (its native library is
never loaded). When the builder cannot be had (no index access), does not support the
architecture, fails, or produces a graph with inputs our runtimes do not feed, the quantized
schemes use the optimum graph and the manifest's ``scheme`` says why (``fallback_reason``).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from edgeprof.exporters.downloads import converters_dir, fetch, mark_extracted
from edgeprof.exporters.errors import ExportError
from edgeprof.exporters.pipeline.steps import StepStats, log_tail, run_command

PACKAGE = "onnxruntime-genai"
GENAI_VERSION = "0.13.2"
METHOD = f"ort-genai-builder {GENAI_VERSION}"
BUILDER = "onnxruntime_genai/models/builder.py"
# text decoders the 0.13.2 builder converts (its create_model); multimodal/audio ones are left to optimum
SUPPORTED = ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
             "GemmaForCausalLM", "Gemma2ForCausalLM", "Gemma3ForCausalLM", "PhiForCausalLM",
             "Phi3ForCausalLM", "GraniteForCausalLM", "OlmoForCausalLM", "NemotronForCausalLM",
             "InternLM2ForCausalLM", "Ernie4_5ForCausalLM", "SmolLM3ForCausalLM")
GRAPH = "GroupQueryAttention, SkipSimplifiedLayerNormalization, fused QKV"
# what a runtime needs beside the graph; the builder writes tokenizer files, not config.json
SUPPORT_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "chat_template.jinja")


def default_cache_dir() -> Path:
    return converters_dir() / f"{PACKAGE}-{GENAI_VERSION}"


def cache_beside(converter_cache: Path | None) -> Path:
    """The builder's cache next to llama.cpp's converter cache (same caller-chosen parent)."""
    if converter_cache is None:
        return default_cache_dir()
    return Path(converter_cache).parent / f"{PACKAGE}-{GENAI_VERSION}"


def ensure_builder(cache_dir: Path, *, download_cache: Path | None = None) -> Path:
    """Root to run ``BUILDER`` from: the wheel's ``models/`` extracted once into ``cache_dir`` from
    the machine-wide download cache."""
    root = Path(cache_dir)
    if (root / BUILDER).is_file():
        return root
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"cannot create the builder cache {root.parent} ({err.strerror})") from err
    wheel = fetch(PACKAGE, GENAI_VERSION, binary=True, cache_dir=download_cache)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=f".{root.name}.partial-") as tmp:
        staged = Path(tmp) / "extracted"
        with zipfile.ZipFile(wheel.path) as z:
            for name in z.namelist():
                if name.startswith("onnxruntime_genai/models/") and name.endswith(".py") or name.endswith("/LICENSE"):
                    z.extract(name, staged)
        if not (staged / BUILDER).is_file():
            raise ExportError(f"the {PACKAGE} {GENAI_VERSION} wheel has no {BUILDER}")
        mark_extracted(staged, wheel)
        shutil.rmtree(root, ignore_errors=True)
        os.replace(staged, root)  # atomic: a half-extracted builder never looks present
    return root


def unsupported_reason(source_dir: Path) -> str | None:
    """Why the builder cannot convert this source (None when it can)."""
    try:
        cfg = json.loads((Path(source_dir) / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        return f"no readable config.json in {source_dir} ({err})"
    arch = (cfg.get("architectures") or ["?"])[0]
    if arch not in SUPPORTED:
        return f"architecture {arch} is not supported by the model builder {GENAI_VERSION}"
    return None


def builder_command(root: Path, source_dir: Path, out_dir: Path, hf_cache: Path) -> tuple[list[str], dict]:
    cmd = [sys.executable, str(root / BUILDER), "-i", str(source_dir), "-o", str(out_dir), "-p", "fp32",
           "-e", "cpu", "-c", str(hf_cache)]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join([str(root)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return cmd, env


def io_problem(model_path: Path) -> str | None:
    """Why a built graph would not run in our ONNX loops (unknown inputs, no KV), else None."""
    import onnx

    g = onnx.load(str(model_path), load_external_data=False).graph
    inits = {t.name for t in g.initializer}
    ins = [i.name for i in g.input if i.name not in inits]
    outs = {o.name for o in g.output}
    extra = [n for n in ins if n not in ("input_ids", "attention_mask", "position_ids")
             and not n.startswith("past_key_values.")]
    past = [n for n in ins if n.startswith("past_key_values.")]
    if extra or not past or "logits" not in outs:
        return f"the builder's graph has inputs {', '.join(ins[:5])} -> outputs {', '.join(sorted(outs)[:3])}, " \
               f"not a decoder our runtimes feed"
    return None


def _finish_dir(source_dir: Path, out_dir: Path) -> None:
    """Add the source's config files, and its tokenizer files where the builder wrote none."""
    for name in SUPPORT_FILES:
        src = Path(source_dir) / name
        if src.is_file() and (name.endswith("config.json") and "tokenizer" not in name or not (out_dir / name).exists()):
            shutil.copy2(src, out_dir / name)
    if not (out_dir / "tokenizer.json").is_file():
        raise ExportError(f"no tokenizer.json in {out_dir} nor in the source; runtimes need one")


def build_graph(source_dir: Path, out_dir: Path, work_dir: Path, *, cache: Path | None = None,
                download_cache: Path | None = None, timeout_s: float | None = None) -> tuple[dict, StepStats | None]:
    """The builder's fp32 graph of ``source_dir`` in ``out_dir``; raises ExportError saying why not."""
    reason = unsupported_reason(Path(source_dir))
    if reason:
        raise ExportError(reason)
    root = ensure_builder(Path(cache or default_cache_dir()), download_cache=download_cache)
    shutil.rmtree(out_dir, ignore_errors=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    cmd, env = builder_command(root, Path(source_dir), Path(out_dir), work_dir / "builder-hf-cache")
    logf = work_dir / "onnx-graph-builder.log"
    rc, st = run_command("onnx:graph (model builder)", cmd, log_path=logf, env=env, timeout_s=timeout_s)
    shutil.rmtree(work_dir / "builder-hf-cache", ignore_errors=True)
    if rc != 0 or not (Path(out_dir) / "model.onnx").is_file():
        why = f"killed by signal {-rc}" if rc < 0 else (log_tail(logf, 1) or ["no output"])[-1].strip()[:200]
        raise ExportError(f"the model builder failed ({why}); log: {logf}")
    problem = io_problem(Path(out_dir) / "model.onnx")
    if problem:
        raise ExportError(problem)
    _finish_dir(Path(source_dir), Path(out_dir))
    return {"graph": METHOD, "ops": GRAPH}, st
