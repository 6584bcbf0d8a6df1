"""Open this machine's devices (with the CPU TDP from assets) and pick the one a case runs on.

Rule: on a SoC (Jetson, Apple) the module's own power covers CPU and GPU, so every case is
measured on it; otherwise a GPU placement (llama.cpp GPU layers, a CUDA/ROCm provider) uses the
first GPU, and everything else the host CPU.
"""
from __future__ import annotations

import os
from pathlib import Path

import devices
from devices.cpu import HostCpu

from edgeprof.analysis.cputdp import lookup

SOC_KINDS = ("jetson", "apple")
GPU_KINDS = ("nvidia", "amd")
GPU_PROVIDERS = ("cuda", "tensorrt", "rocm", "migraphx", "gpu")


def open_devices(root: Path, cpu_tdp_w: float | None = None, **options) -> list:
    info = HostCpu.identify(root)
    tdp = lookup(info.name, int(info.specs.get("logical_cores") or 1), cpu_tdp_w)
    options.setdefault("visible", os.environ.get("CUDA_VISIBLE_DEVICES"))
    return devices.detect(root, cpu_tdp=tdp, **options)


def bench_device(found: list, placement: dict):
    kinds = {d.info().kind: d for d in reversed(found)}
    for k in SOC_KINDS:
        if k in kinds:
            return kinds[k]
    wants_gpu = (placement.get("gpu_layers") or 0) > 0 or str(placement.get("provider") or "").lower() in GPU_PROVIDERS
    if wants_gpu:
        for k in GPU_KINDS:
            if k in kinds:
                return kinds[k]
    return kinds["cpu"]


def default_providers(found: list) -> dict[str, str]:
    """Execution provider per runtime, chosen from the devices present and what is installed:
    ONNX Runtime CUDA (then TensorRT is opt-in) on an NVIDIA GPU, CoreML on Apple, else CPU;
    PyTorch CUDA/MPS likewise. Recorded resolved in every row; ``--provider`` overrides."""
    from importlib.util import find_spec

    kinds = {d.info().kind for d in found}
    out = {"onnxruntime": "cpu", "torch": "cpu"}
    if find_spec("onnxruntime") is not None and kinds & {"nvidia", "apple", "jetson"}:
        import onnxruntime

        have = set(onnxruntime.get_available_providers())
        if kinds & {"nvidia", "jetson"} and "CUDAExecutionProvider" in have:
            out["onnxruntime"] = "cuda"
        elif "apple" in kinds and "CoreMLExecutionProvider" in have:
            out["onnxruntime"] = "coreml"
    if find_spec("torch") is not None and kinds & {"nvidia", "apple", "jetson"}:
        import torch

        if kinds & {"nvidia", "jetson"} and torch.cuda.is_available():
            out["torch"] = "cuda"
        elif "apple" in kinds and torch.backends.mps.is_available():
            out["torch"] = "mps"
    return out
