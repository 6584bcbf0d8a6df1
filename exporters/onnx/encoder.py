"""ONNX artifacts of a model that is not a causal LM (a sentence embedder, an image classifier, a
depth or detection model): fp32 from PyTorch, fp16 from the fp32 graph, int8 dynamic (weights
int8, activations quantized at run time) and int8 static (QDQ, activation ranges calibrated on a
small set of real inputs).

Why torch's TorchScript exporter (``dynamo=False``): it needs no extra package and handles every
transformers encoder here with named dynamic axes (``batch``, ``sequence``), which the bench reads
back as the model's signature. The preprocessing files (tokenizer.json, config.json,
preprocessor_config.json, sentence-transformers' modules.json and pooling folder) are copied
beside each artifact so it is a self-contained model directory.
"""
from __future__ import annotations

import json
import warnings
import shutil
from pathlib import Path
from typing import Any, Iterable

from edgeprof.exporters.errors import ExportError

SIDE_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "config.json",
              "preprocessor_config.json", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json")
SIDE_DIRS = ("1_Pooling", "2_Normalize")
SCHEMES = ("fp32", "fp16", "int8", "int8-static")
QUANTIZED_OPS = ("MatMul", "Conv")
#: the output each task's artifact keeps (the first one the gate compares)
TASK_OUTPUTS = {"embedding": ("last_hidden_state",), "classification": ("logits",), "depth": ("predicted_depth",),
                "detection": ("logits", "pred_boxes")}


def model_kind(src: Path) -> tuple[str, str, str]:
    """(architecture, modality, task) from config.json; a causal LM is not this exporter's."""
    cfg = json.loads((src / "config.json").read_text())
    arch = str((cfg.get("architectures") or [""])[0])
    if arch.endswith(("ForCausalLM", "LMHeadModel")) or not arch:
        return arch, "text", "generate"
    vision = "image_size" in cfg or "num_channels" in cfg and "vocab_size" not in cfg
    task = next((t for s, t in (("ForImageClassification", "classification"), ("ForSequenceClassification",
                                                                                 "classification"),
                                ("ForDepthEstimation", "depth"), ("ForObjectDetection", "detection"))
                 if arch.endswith(s)), "embedding" if "vocab_size" in cfg else "other")
    return arch, "vision" if vision else "text", task


def copy_side_files(src: Path, dst: Path) -> None:
    for name in SIDE_FILES:
        if (src / name).is_file():
            shutil.copy2(src / name, dst / name)
    for name in SIDE_DIRS:
        if (src / name).is_dir():
            shutil.copytree(src / name, dst / name, dirs_exist_ok=True)


class _Outputs:
    """Wraps an HF model so the traced graph returns the task's outputs as a tuple."""

    def __new__(cls, model, names: tuple[str, ...]):
        import torch

        class Wrapper(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, *args):
                out = self.model(**dict(zip(self.input_names, args)))
                return tuple(out[n] for n in names)

        return Wrapper()


def export_fp32(src: Path, out_dir: Path, sample: dict[str, Any], task: str, opset: int = 17) -> Path:
    """``out_dir/model.onnx`` from the HF directory ``src``; ``sample`` holds one example of each
    input (numpy) in the order the model takes them. Axes 0 (and 1 for token inputs) are dynamic."""
    import torch
    import transformers

    arch, _, _ = model_kind(src)
    cls = getattr(transformers, arch, None) or transformers.AutoModel
    try:
        model = cls.from_pretrained(str(src), use_safetensors=True, trust_remote_code=False).eval()
    except Exception as exc:  # noqa: BLE001 - transformers raises many types
        raise ExportError(f"transformers could not load {src} as {arch}: {str(exc).splitlines()[0][:200]}") from exc
    names = TASK_OUTPUTS.get(task) or ("last_hidden_state",)
    wrapper = _Outputs(model, names)
    wrapper.input_names = list(sample)
    args = tuple(torch.from_numpy(v) for v in sample.values())
    axes = {n: ({0: "batch", 1: "sequence"} if v.ndim == 2 and v.dtype.kind == "i" else {0: "batch"})
            for n, v in sample.items()}
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.onnx"
    try:
        with torch.no_grad(), warnings.catch_warnings():
            # The tracer's "torch.tensor results are registered as constants ... might be incorrect"
            # (transformers' mask code) is advice about traces in general; whether THIS graph is right
            # is what the quality gate measures against the source, so it is not relayed as our warning.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(wrapper, args, str(path), input_names=list(sample), output_names=list(names),
                              dynamic_axes={**axes, **{n: {0: "batch"} for n in names}}, dynamo=False,
                              opset_version=opset)
    except Exception as exc:  # noqa: BLE001 - the exporter raises many types
        raise ExportError(f"torch could not export {src} to ONNX: {str(exc).splitlines()[0][:200]}") from exc
    copy_side_files(src, out_dir)
    return path


def convert(fp32: Path, scheme: str, out_dir: Path, calibration: Iterable[dict[str, Any]] | None = None) -> Path:
    """An fp16 / int8 / int8-static ONNX of ``fp32`` in ``out_dir`` (side files copied)."""
    import logging

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.onnx"
    root = logging.getLogger()
    level, root.level = root.level, logging.ERROR  # the quantizer's advice goes to the root logger
    try:
        _convert(fp32, scheme, path, calibration)
    finally:
        root.setLevel(level)
    copy_side_files(fp32.parent, out_dir)
    return path


def _convert(fp32: Path, scheme: str, path: Path, calibration) -> None:
    if scheme == "fp32":
        shutil.copy2(fp32, path)
    elif scheme == "fp16":
        import onnx
        from onnxruntime.transformers.float16 import convert_float_to_float16

        onnx.save(convert_float_to_float16(onnx.load(str(fp32)), keep_io_types=True), str(path))
    elif scheme == "int8":
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # per-channel weights, matmuls and convolutions only (embedding tables stay fp32): on
        # all-MiniLM-L6-v2 per-tensor int8 of every op kept a mean cosine of 0.961, this 0.993
        quantize_dynamic(str(fp32), str(path), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=list(QUANTIZED_OPS))
    elif scheme == "int8-static":
        import contextlib
        import io

        from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                              quantize_static)

        feeds = list(calibration or [])
        if not feeds:
            raise ExportError("int8-static needs a calibration set; none was built")

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.it = iter(feeds)

            def get_next(self):
                return next(self.it, None)

        with contextlib.redirect_stdout(io.StringIO()):  # the percentile calibrator prints its progress
            quantize_static(str(fp32), str(path), Reader(), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                            op_types_to_quantize=list(QUANTIZED_OPS), calibrate_method=CalibrationMethod.Percentile)
    else:
        raise ExportError(f"unknown encoder ONNX scheme {scheme!r}; use one of {', '.join(SCHEMES)}")
