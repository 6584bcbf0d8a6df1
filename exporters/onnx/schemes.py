"""ONNX schemes: which graph each one starts from and how its weights are stored.

Each scheme lands in its own directory (``model.onnx`` [+ external data] plus the config and
tokenizer files a runtime needs), so any one of them can be copied to a device alone.

Graphs:
- ``builder`` (every scheme, where it can): ONNX Runtime's model builder at fp32
  (``ort_builder.py``): one fused ``GroupQueryAttention`` per layer instead of ~100 small attention
  ops, 1.5x faster decode, ~6 s to build instead of ~25 s. On SmolLM2 its fp32 graph scores
  exactly the source's figures (perplexity ratio 1.0000, agreement 1.0).
- ``optimum``: ``main_export(task="text-generation-with-past")`` (TorchScript exporter), fp32:
  the fallback where the builder cannot be had or does not support the architecture, and forced by
  the ``*-optimum`` schemes.
fp16 is ``onnxruntime.transformers.float16`` on the graph with ``keep_io_types=True``: fp16
weights and compute, fp32 inputs/outputs, so one runtime loop feeds every scheme (1.0003x the
baseline's perplexity on the builder graph, 1.0008x on optimum's).

Quantized weights (``onnx_quant.py``, measured in docs/benchmarks.md "ONNX int8 and int4"):
- ``int8``: 8-bit symmetric blocks of 32 (llama.cpp's q8_0 rule) for every MatMul, the embedding
  sharing the lm_head's bytes. Weight-only: activations are quantized per block by the kernel.
  The former dynamic int8 (``quantize_dynamic``: per-channel full-range int8 weights x uint8
  activations) decoded garbage on CPUs without VNNI (int16 saturation in the AVX2 u8s8 kernel).
- ``int4`` (default): 4-bit blocks of 32 with a float minimum (integer zero point + per-block
  offset) for the attention QKV and MLP down projections, ONNX Runtime's RTN for the rest, the
  lm_head at 8 bits shared with the embedding. ``int4-q``: the float minimum everywhere (closest
  to the source, ~15 % slower decode); ``int4-rtn``: plain RTN everywhere (the model builder's
  ``rtn_last``: fastest, furthest from the source).
- ``int4-optimum`` / ``int4-builder``: ``int4`` on a forced graph (the latter fails instead of
  falling back).
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from edgeprof.exporters.errors import ExportError, UsageError
from edgeprof.exporters.onnx.quant import WeightPlan

MODEL_FILE = "model.onnx"
DATA_FILE = "model.onnx_data"
EXTERNAL_DATA_BYTES = 1_800_000_000  # protobuf's hard limit is 2 GiB; stay clear of it
# the layers where a float minimum pays most (measured: qkv + down 1.037x, all 1.003x, none 1.216x)
OFFSET_LAYERS = ("q_proj", "k_proj", "v_proj", "qkv_proj", "down_proj")


@dataclass(frozen=True)
class Scheme:
    name: str
    weights: WeightPlan | None    # None: float weights (fp32 / fp16)
    graph: str = "auto"           # auto (builder when it can, else optimum) | optimum | builder


SCHEMES = {s.name: s for s in (
    Scheme("fp32", None),
    Scheme("fp16", None),
    Scheme("int8", WeightPlan(body="int8")),
    Scheme("int4", WeightPlan(body="offset", offset_only=OFFSET_LAYERS)),
    Scheme("int4-q", WeightPlan(body="offset")),
    Scheme("int4-rtn", WeightPlan(body="rtn")),
    Scheme("int4-optimum", WeightPlan(body="offset", offset_only=OFFSET_LAYERS), "optimum"),
    Scheme("int4-builder", WeightPlan(body="offset", offset_only=OFFSET_LAYERS), "builder"),
)}


def get_scheme(name: str, *, block_size: int | None = None, accuracy_level: int | None = None) -> Scheme:
    """The named scheme with the caller's block size / accuracy level applied to its weights."""
    if name not in SCHEMES:
        raise UsageError(f"unknown ONNX scheme {name!r}; choose from {', '.join(SCHEMES)}")
    s = SCHEMES[name]
    if s.weights is None:
        return s
    w = replace(s.weights, **({"block_size": block_size} if block_size else {}),
                **({"accuracy_level": accuracy_level} if accuracy_level is not None else {}))
    return replace(s, weights=w)


def export_base(source_dir: str | Path, out_dir: str | Path, *, trust_remote_code: bool = False) -> str:
    """fp32 ONNX decoder-with-past of ``source_dir`` into ``out_dir`` via optimum; returns the model path."""
    out_dir = Path(out_dir)
    try:
        from optimum.exporters.onnx import main_export
    except ImportError as err:
        raise ExportError(f"ONNX export needs optimum-onnx ({err}); install the export extras: "
                          f"pip install 'edgeprof[export]'") from err
    main_export(str(source_dir), output=str(out_dir), task="text-generation-with-past", device="cpu",
                do_validation=False, trust_remote_code=trust_remote_code)
    model = out_dir / MODEL_FILE
    if not model.is_file():
        raise ExportError(f"optimum produced no {MODEL_FILE} in {out_dir}; the architecture may be unsupported")
    return str(model)


def is_weight_file(p: Path) -> bool:
    return p.suffix in (".onnx", ".onnx_data", ".data") or p.name.endswith((".onnx_data", ".onnx.data"))


def copy_support_files(src_dir: Path, dst_dir: Path) -> None:
    """Copy config/tokenizer files (everything but ONNX weights) so ``dst_dir`` runs on its own."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    for p in src_dir.iterdir():
        if p.is_file() and not is_weight_file(p):
            shutil.copy2(p, dst_dir / p.name)


def _save(model, path: Path) -> None:
    """Save an in-memory ModelProto, spilling weights to ``model.onnx_data`` when it is too big."""
    import onnx

    big = model.ByteSize() > EXTERNAL_DATA_BYTES if _all_internal(model) else True
    onnx.save_model(model, str(path), save_as_external_data=big, all_tensors_to_one_file=True,
                    location=DATA_FILE, size_threshold=1024)


def _all_internal(model) -> bool:
    from onnx.external_data_helper import uses_external_data
    return not any(uses_external_data(t) for t in model.graph.initializer)


def _is_big(path: Path) -> bool:
    return any(path.parent.glob("*.data")) or any(path.parent.glob("*.onnx_data")) \
        or path.stat().st_size > EXTERNAL_DATA_BYTES


def to_fp16(fp32_path: Path, out_path: Path) -> None:
    """fp16 weights/compute with fp32 inputs and outputs (keep_io_types) for one runtime loop."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(fp32_path))
    model16 = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=_is_big(fp32_path))
    _save(model16, out_path)


def quantize_scheme(scheme: str, base_dir: str, target_dir: str, *, block_size: int | None = None,
                    accuracy_level: int | None = None) -> dict:
    """Make ``scheme`` from the fp32 graph in ``base_dir`` into ``target_dir`` (a self-contained dir);
    returns the manifest's description of the scheme."""
    from edgeprof.exporters.onnx.quant import quantize_model

    s = get_scheme(scheme, block_size=block_size, accuracy_level=accuracy_level)
    if s.name == "fp32":
        raise ExportError("fp32 is the base export itself, not a quantized scheme")
    base, target = Path(base_dir) / MODEL_FILE, Path(target_dir)
    shutil.rmtree(target, ignore_errors=True)
    copy_support_files(base.parent, target)
    if s.weights is None:
        to_fp16(base, target / MODEL_FILE)
        return {"keep_io_types": True, "io_dtype": "float32"}
    import onnx

    model = onnx.load(str(base))
    done = quantize_model(model, s.weights)
    _save(model, target / MODEL_FILE)
    w = s.weights
    return {"method": "weight-only blocks (MatMulNBits, GatherBlockQuantized)",
            "bits": 8 if w.body == "int8" else 4, "lm_head_bits": w.head_bits, "block_size": w.block_size,
            "accuracy_level": w.accuracy_level,
            "blocks": {"int8": "symmetric (q8_0 rule)", "sym": "symmetric (q4_0 rule)",
                       "rtn": "asymmetric, integer zero point (ONNX Runtime RTN)",
                       "offset": "asymmetric, float minimum (integer zero point + per-block offset)"}[w.body],
            **({"float_minimum_on": list(w.offset_only) or "all"} if w.body == "offset" else {}),
            **done}
