"""ONNX int4 through ONNX Runtime's own model builder (onnxruntime-genai), optimum as the fallback.

Why: on SmolLM2-135M the builder's int4 graph (one fused ``GroupQueryAttention`` per layer with
rotary and KV append inside, ``SkipSimplifiedLayerNormalization``, fused QKV and gate/up
``MatMulNBits``) decodes ~1.5x faster than the optimum export quantized with MatMulNBits, whose
unfused attention runs ~3,000 tiny nodes per token (docs/benchmarks.md, "ONNX Runtime vs llama.cpp
decode"). Settings that keep quality on small models: asymmetric blocks (the builder's default
symmetric int4 collapses SmolLM2's greedy output), ``rtn_last`` (the lm_head at 8 bits, shared
with the embedding, as llama.cpp keeps its tied output at Q8_0), accuracy level 4, block 32.
Measured on SmolLM2-135M (perplexity vs the baseline, bundled text): ``rtn`` (all 4-bit) 1.30x,
``rtn_last`` 1.21x; optimum int4 (symmetric, 8-bit lm_head) 1.18x.

How, like ``converter.py``: nothing is vendored or installed. The ``onnxruntime-genai`` wheel of
``GENAI_VERSION`` (the newest whose builder imports with transformers 4.57) is ``pip download``-ed
into a cache once and only its pure-Python ``onnxruntime_genai/models/`` is extracted; the builder
script runs in a child process from there (its native library is never loaded). When the builder
cannot be had (no index access), does not support the architecture, fails, or produces a graph
with inputs our runtimes do not feed, ``int4`` falls back to optimum + MatMulNBits and the
manifest's ``scheme`` says why (``fallback_reason``).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .errors import ExportError
from .steps import StepStats, log_tail, run_command, run_python_step

PACKAGE = "onnxruntime-genai"
GENAI_VERSION = "0.13.2"
METHOD = f"ort-genai-builder {GENAI_VERSION}"
FALLBACK_METHOD = "optimum+MatMulNBits"
BUILDER = "onnxruntime_genai/models/builder.py"
# text decoders the 0.13.2 builder converts (its create_model); multimodal/audio ones are left to optimum
SUPPORTED = ("LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
             "GemmaForCausalLM", "Gemma2ForCausalLM", "Gemma3ForCausalLM", "PhiForCausalLM",
             "Phi3ForCausalLM", "GraniteForCausalLM", "OlmoForCausalLM", "NemotronForCausalLM",
             "InternLM2ForCausalLM", "Ernie4_5ForCausalLM", "SmolLM3ForCausalLM")
ALGO = "rtn_last"  # int4 blocks + 8-bit lm_head shared with the embedding (see the docstring above)
# what a runtime needs beside the graph; the builder writes tokenizer files, not config.json
SUPPORT_FILES = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "chat_template.jinja")
log = logging.getLogger("exporters")


def default_cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "edgeprof" / "converters" / f"{PACKAGE}-{GENAI_VERSION}"


def cache_beside(converter_cache: Path | None) -> Path:
    """The builder's cache next to llama.cpp's converter cache (same caller-chosen parent)."""
    if converter_cache is None:
        return default_cache_dir()
    return Path(converter_cache).parent / f"{PACKAGE}-{GENAI_VERSION}"


def ensure_builder(cache_dir: Path) -> Path:
    """Root to run ``BUILDER`` from, downloading + extracting the wheel's ``models/`` once."""
    root = Path(cache_dir)
    if (root / BUILDER).is_file():
        return root
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"cannot create the builder cache {root.parent} ({err.strerror})") from err
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=f".{root.name}.partial-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
               "--disable-pip-version-check", "-q", "--timeout", "20", "--retries", "1", "-d", tmp,
               f"{PACKAGE}=={GENAI_VERSION}"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wheels = sorted(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            last = (proc.stderr.strip().splitlines() or ["no wheel downloaded"])[-1]
            raise ExportError(f"could not download {PACKAGE}=={GENAI_VERSION} ({last[:200]})")
        staged = Path(tmp) / "extracted"
        with zipfile.ZipFile(wheels[0]) as z:
            for name in z.namelist():
                if name.startswith("onnxruntime_genai/models/") and name.endswith(".py") or name.endswith("/LICENSE"):
                    z.extract(name, staged)
        if not (staged / BUILDER).is_file():
            raise ExportError(f"the {PACKAGE} {GENAI_VERSION} wheel has no {BUILDER}")
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


def builder_command(root: Path, source_dir: Path, out_dir: Path, hf_cache: Path, *, block_size: int,
                    accuracy_level: int) -> tuple[list[str], dict]:
    opts = [f"int4_accuracy_level={accuracy_level}", "int4_is_symmetric=false", f"int4_algo_config={ALGO}",
            f"int4_block_size={block_size}"]
    cmd = [sys.executable, str(root / BUILDER), "-i", str(source_dir), "-o", str(out_dir), "-p", "int4",
           "-e", "cpu", "-c", str(hf_cache), "--extra_options", *opts]
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


def _try_builder(source_dir: Path, target: Path, work: Path, cache: Path, *, block_size: int,
                 accuracy_level: int, timeout_s: float | None) -> tuple[str | None, StepStats | None]:
    """(fallback reason or None, builder stats)."""
    reason = unsupported_reason(source_dir)
    if reason:
        return reason, None
    try:
        root = ensure_builder(cache)
    except ExportError as err:
        return f"model builder unavailable: {err}", None
    shutil.rmtree(target, ignore_errors=True)
    cmd, env = builder_command(root, source_dir, target, work / "builder-hf-cache", block_size=block_size,
                               accuracy_level=accuracy_level)
    logf = work / "onnx-int4-builder.log"
    rc, st = run_command("onnx:int4 (model builder)", cmd, log_path=logf, env=env, timeout_s=timeout_s)
    shutil.rmtree(work / "builder-hf-cache", ignore_errors=True)
    if rc != 0 or not (target / "model.onnx").is_file():
        why = f"killed by signal {-rc}" if rc < 0 else (log_tail(logf, 1) or ["no output"])[-1].strip()[:200]
        return f"the model builder failed ({why}); log: {logf}", st
    return io_problem(target / "model.onnx"), st


def build_int4(source_dir: Path, target_dir: Path, base_dir: Path, work_dir: Path, *, mode: str = "auto",
               cache: Path | None = None, block_size: int = 32, accuracy_level: int = 4,
               trust_remote_code: bool = False, timeout_s: float | None = None) -> tuple[dict, StepStats]:
    """int4 into ``target_dir``: the model builder when possible (``mode`` auto/builder), else optimum.

    ``mode="optimum"`` forces the fallback path; ``mode="builder"`` makes a builder failure an error.
    ``base_dir`` is where the fp32 optimum export is (or is made, only when falling back).
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    target_dir, base_dir = Path(target_dir), Path(base_dir)
    stats: list[StepStats] = []
    if mode == "optimum":
        reason = None
    else:
        reason, st = _try_builder(Path(source_dir), target_dir, work_dir, Path(cache or default_cache_dir()),
                                  block_size=block_size, accuracy_level=accuracy_level, timeout_s=timeout_s)
        stats += [st] if st else []
        if reason is None:
            _finish_dir(Path(source_dir), target_dir)
            info = {"method": METHOD, "bits": 4, "lm_head_bits": 8, "block_size": block_size,
                    "accuracy_level": accuracy_level, "symmetric": False, "algo": ALGO,
                    "embedding": "shares the 8-bit lm_head (GatherBlockQuantized)",
                    "graph": "GroupQueryAttention, SkipSimplifiedLayerNormalization, fused QKV/gate-up"}
            return info, _merge(stats)
        if mode == "builder":
            raise ExportError(f"int4 via the model builder: {reason}")
        log.warning("onnx:int4: falling back to optimum + MatMulNBits: %s", reason)
    if not (base_dir / "model.onnx").is_file():
        shutil.rmtree(base_dir, ignore_errors=True)
        _, st = run_python_step("onnx:base (for int4)", "exporters.onnx:export_base",
                                {"source_dir": str(source_dir), "out_dir": str(base_dir),
                                 "trust_remote_code": trust_remote_code}, work_dir=work_dir, timeout_s=timeout_s)
        stats.append(st)
    info, st = run_python_step("onnx:int4 (optimum)", "exporters.onnx:quantize_scheme",
                               {"scheme": "int4", "base_dir": str(base_dir), "target_dir": str(target_dir),
                                "block_size": block_size, "accuracy_level": accuracy_level}, work_dir=work_dir)
    stats.append(st)
    info = {**info, "method": FALLBACK_METHOD, "quantizer": "MatMulNBits + GatherBlockQuantized"}
    info.update({"fallback_reason": reason} if reason else {"forced_by": "scheme int4-optimum"})
    return info, _merge(stats)


def _merge(stats: list[StepStats]) -> StepStats:
    peaks = [s.peak_rss_bytes for s in stats if s.peak_rss_bytes]
    return StepStats(name="onnx:int4", wall_s=round(sum(s.wall_s for s in stats), 3),
                     peak_rss_bytes=max(peaks) if peaks else None)
