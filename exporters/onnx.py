"""HF directory -> ONNX decoder with KV cache (optimum), then fp16 / int8 / int4 with ONNX Runtime.

Each scheme lands in its own directory (``model.onnx`` [+ ``model.onnx_data``] plus the config and
tokenizer files a runtime needs), so any one of them can be copied to a device alone.

- ``fp32``: optimum ``main_export(task="text-generation-with-past")`` (TorchScript exporter).
- ``fp16``: ``onnxruntime.transformers.float16`` with ``keep_io_types=True``: weights and compute in
  fp16, but inputs/outputs (ids, logits, KV cache) stay fp32 so one runtime loop feeds every scheme.
- ``int8``: dynamic quantization of MatMul + Gather weights (activations quantized at run time).
- ``int4`` (in ``pipeline.export``): ONNX Runtime's model builder for the architectures it supports
  (``ort_builder.py``, fused attention, ~1.5x faster decode); the optimum path below otherwise.
- ``int4-optimum`` (and the fallback of ``int4``): weight-only blockwise ``MatMulNBits`` (+ ``GatherBlockQuantized`` for the embedding).
  Tied embeddings export the lm_head as ``MatMul(x, Transpose(W))``; the quantizer only sees
  constant weights, so it would skip that MatMul and keep a full fp32 copy of W (the int4 file then
  ends up bigger than int8). ``fold_constant_transposes`` first replaces ``Transpose(W)`` by a
  pre-transposed initializer so both uses of W get quantized and no fp32 copy remains.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

from .errors import ExportError

SCHEMES = ("fp32", "fp16", "int8", "int4", "int4-optimum", "int4-builder")
# int4: ONNX Runtime's model builder where it supports the architecture, else optimum + MatMulNBits
# (ort_builder.py); int4-optimum / int4-builder force one path (the latter fails instead of falling back)
INT4_MODES = {"int4": "auto", "int4-optimum": "optimum", "int4-builder": "builder"}
MODEL_FILE = "model.onnx"
DATA_FILE = "model.onnx_data"
EXTERNAL_DATA_BYTES = 1_800_000_000  # protobuf's hard limit is 2 GiB; stay clear of it
Log = Callable[[str], None]


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


def copy_support_files(src_dir: Path, dst_dir: Path) -> None:
    """Copy config/tokenizer files (everything but ONNX weights) so ``dst_dir`` runs on its own."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    for p in src_dir.iterdir():
        if p.is_file() and p.suffix not in (".onnx", ".onnx_data") and not p.name.endswith(".onnx_data"):
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
    data = path.parent / DATA_FILE
    return data.exists() or path.stat().st_size > EXTERNAL_DATA_BYTES


def fold_constant_transposes(model) -> int:
    """Replace ``Transpose(initializer)`` by a transposed initializer; returns how many were folded."""
    import numpy as np
    from onnx import numpy_helper

    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    folded = 0
    for node in list(graph.node):
        if node.op_type != "Transpose" or len(node.input) != 1 or node.input[0] not in inits:
            continue
        w = numpy_helper.to_array(inits[node.input[0]])
        perm = next((list(a.ints) for a in node.attribute if a.name == "perm"), None)
        wt = np.ascontiguousarray(np.transpose(w, perm))
        name = f"{node.input[0]}.transposed_folded"
        graph.initializer.append(numpy_helper.from_array(wt, name))
        for other in graph.node:
            for i, inp in enumerate(other.input):
                if inp == node.output[0]:
                    other.input[i] = name
        for out in graph.output:
            if out.name == node.output[0]:
                raise ExportError("a folded Transpose feeds a graph output; cannot fold it")
        graph.node.remove(node)
        folded += 1
    used = {i for n in graph.node for i in n.input}
    for t in list(graph.initializer):
        if t.name not in used:
            graph.initializer.remove(t)
    return folded


def to_fp16(fp32_path: Path, out_path: Path) -> None:
    """fp16 weights/compute with fp32 inputs and outputs (keep_io_types) for one runtime loop."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = onnx.load(str(fp32_path))
    model16 = convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=_is_big(fp32_path))
    _save(model16, out_path)


def to_int8(fp32_path: Path, out_path: Path, *, work_dir: Path) -> None:
    """Dynamic int8: MatMul and Gather weights as int8, activations quantized at run time.

    Per-channel weight scales: on SmolLM2-135M per-tensor scales raised perplexity 1.46x over the
    baseline, per-channel 1.33x (the rest is the per-tensor dynamic activation quantization,
    which is what "dynamic int8" means; GGUF q8_0 uses 32-value blocks and loses ~2 %).
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(fp32_path))
    fold_constant_transposes(model)  # so the tied lm_head is quantized too, not left fp32
    folded = work_dir / "int8-folded.onnx"
    _save(model, folded)
    del model
    quantize_dynamic(str(folded), str(out_path), op_types_to_quantize=["MatMul", "Gather"],
                     weight_type=QuantType.QInt8, per_channel=True,
                     use_external_data_format=_is_big(folded), extra_options={"MatMulConstBOnly": True})


def _logits_matmuls(model) -> list[str]:
    """Names of the MatMul nodes that write the graph's ``logits`` (the lm_head)."""
    outputs = {o.name for o in model.graph.output if o.name == "logits"}
    return [n.name for n in model.graph.node if n.op_type == "MatMul" and set(n.output) & outputs]


def to_int4(fp32_path: Path, out_path: Path, *, block_size: int = 32, accuracy_level: int = 4,
            symmetric: bool = True, lm_head_bits: int = 8) -> None:
    """Weight-only blockwise int4 (MatMulNBits + GatherBlockQuantized), tied embedding folded first.

    ``accuracy_level=4`` lets the CPU kernel quantize activations to int8 for the dot products
    (what llama.cpp's q4 kernels do too); 0 keeps fp32 activations (slower, marginally closer).
    ``lm_head_bits=8``: the lm_head stays at 8 bits (MatMulNBits, same block size), as llama.cpp
    keeps the tied output/embedding at Q8_0 in its q4 types. Measured on SmolLM2-135M: all-4-bit
    raised perplexity 1.32x over the baseline, an 8-bit lm_head 1.22x, and symmetric blocks (no
    zero points, like llama.cpp's q4_0, which scores 1.17x) 1.18x with a smaller file. The 4-bit
    embedding Gather costs almost nothing (1.215x with it left in fp32).
    """
    import onnx
    try:
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    except ImportError as err:  # it imports onnx_ir without declaring it
        raise ExportError(f"int4 quantization needs onnx-ir ({err}); pip install onnx-ir==1.1.0") from err
    if block_size < 16 or block_size & (block_size - 1):
        raise ExportError(f"int4 block size must be a power of two >= 16, got {block_size}")
    if lm_head_bits not in (4, 8):
        raise ExportError(f"lm_head bits must be 4 or 8, got {lm_head_bits}")
    import logging
    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)  # INFO per node
    model = onnx.load(str(fp32_path))
    fold_constant_transposes(model)
    head = _logits_matmuls(model) if lm_head_bits == 8 else []
    common = dict(block_size=block_size, is_symmetric=symmetric, accuracy_level=accuracy_level)
    if head:
        others = [n.name for n in model.graph.node if n.op_type == "MatMul" and n.name not in head]
        # nodes_to_include only ADDS to the op types, so the 8-bit pass excludes everything else
        q8 = MatMulNBitsQuantizer(model, bits=8, nodes_to_exclude=others, op_types_to_quantize=("MatMul",), **common)
        q8.process()
        model = q8.model.model
    quant = MatMulNBitsQuantizer(model, bits=4, nodes_to_exclude=head, op_types_to_quantize=("MatMul", "Gather"),
                                 quant_axes=(("MatMul", 0), ("Gather", 1)), **common)
    quant.process()
    _save(quant.model.model, out_path)


def quantize_scheme(scheme: str, base_dir: str, target_dir: str, *, block_size: int = 32,
                    accuracy_level: int = 4, lm_head_bits: int = 8) -> dict:
    """Make ``scheme`` from the fp32 export in ``base_dir`` into ``target_dir`` (a self-contained dir)."""
    base, target = Path(base_dir) / MODEL_FILE, Path(target_dir)
    scheme = "int4" if scheme in INT4_MODES else scheme
    if scheme not in SCHEMES or scheme == "fp32":
        raise ExportError(f"unknown ONNX scheme {scheme!r}; choose from {', '.join(SCHEMES)}")
    shutil.rmtree(target, ignore_errors=True)
    copy_support_files(base.parent, target)
    work = target.parent / f".{target.name}.work"
    work.mkdir(parents=True, exist_ok=True)
    try:
        if scheme == "fp16":
            to_fp16(base, target / MODEL_FILE)
            return {"keep_io_types": True, "io_dtype": "float32"}
        if scheme == "int8":
            to_int8(base, target / MODEL_FILE, work_dir=work)
            return {"method": "dynamic", "weight_type": "int8", "per_channel": True,
                    "ops": ["MatMul", "Gather"], "tied_embedding_folded": True}
        to_int4(base, target / MODEL_FILE, block_size=block_size, accuracy_level=accuracy_level,
                lm_head_bits=lm_head_bits)
        return {"method": "weight-only blockwise (MatMulNBits, GatherBlockQuantized)", "bits": 4,
                "lm_head_bits": lm_head_bits, "block_size": block_size, "accuracy_level": accuracy_level,
                "symmetric": True, "tied_embedding_folded": True}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def export_onnx(source_dir: Path, out_root: Path, schemes: list[str], *, block_size: int = 32,
                accuracy_level: int = 4, trust_remote_code: bool = False,
                log: Log = lambda s: None) -> dict[str, Path]:
    """Export the requested ``schemes`` into ``out_root/onnx-<scheme>/``, in this process.

    The fp32 export is made once and is the input of every other scheme; when fp32 itself is not
    requested it is built in a scratch directory and removed afterwards. Every int4 scheme is the
    optimum one here; ``pipeline.export`` (child processes, measured, resumable, atomic) is what
    uses the model builder for ``int4``.
    """
    unknown = [s for s in schemes if s not in SCHEMES]
    if unknown:
        raise ExportError(f"unknown ONNX scheme {unknown[0]!r}; choose from {', '.join(SCHEMES)}")
    out_root.mkdir(parents=True, exist_ok=True)
    base_dir = out_root / ("onnx-fp32" if "fp32" in schemes else ".onnx-fp32-scratch")
    if not (base_dir / MODEL_FILE).is_file():
        log("onnx: exporting fp32 decoder with KV cache (optimum)")
        shutil.rmtree(base_dir, ignore_errors=True)
        export_base(source_dir, base_dir, trust_remote_code=trust_remote_code)
    done = {"fp32": base_dir} if "fp32" in schemes else {}
    for scheme in (s for s in schemes if s != "fp32"):
        log(f"onnx: quantizing to {scheme}")
        quantize_scheme(scheme, str(base_dir), str(out_root / f"onnx-{scheme}"), block_size=block_size,
                        accuracy_level=accuracy_level)
        done[scheme] = out_root / f"onnx-{scheme}"
    if "fp32" not in schemes:
        shutil.rmtree(base_dir, ignore_errors=True)
    return done
