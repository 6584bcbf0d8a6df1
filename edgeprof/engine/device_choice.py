"""Open this machine's devices (with the CPU TDP from assets) and pick the one a case runs on.

Rule: on a SoC (Jetson, Apple) the module's own power covers CPU and GPU, so every case is
measured on it; otherwise a GPU placement (llama.cpp GPU layers, a CUDA/ROCm provider) uses the
first GPU, and everything else the host CPU.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

from edgeprof import devices
from edgeprof.devices.cpu import HostCpu

from edgeprof.analysis.cputdp import lookup
from edgeprof.analysis.metrics import PowerSource
from edgeprof.results.schema import DeviceRef, Provenance

SOC_KINDS = ("jetson", "apple")
GPU_KINDS = ("nvidia", "amd")
GPU_PROVIDERS = ("cuda", "tensorrt", "rocm", "migraphx", "gpu")


def open_devices(root: Path, cpu_tdp_w: float | None = None, **options) -> list:
    info = HostCpu.identify(root)
    tdp = lookup(info.name, int(info.specs.get("logical_cores") or 1), cpu_tdp_w)
    options.setdefault("visible", os.environ.get("CUDA_VISIBLE_DEVICES"))
    return devices.detect(root, cpu_tdp=tdp, **options)


def bench_device(found: list, placement):
    """The device a case with this ``Placement`` runs on (None or ``{}``: no case yet, the device
    a CPU case would use)."""
    kinds = {d.info().kind: d for d in reversed(found)}
    for k in SOC_KINDS:
        if k in kinds:
            return kinds[k]
    gpu_layers, provider = getattr(placement, "gpu_layers", None), getattr(placement, "provider", None)
    has_gpu = any(k in kinds for k in GPU_KINDS)
    wants_gpu = ((gpu_layers or 0) > 0 and has_gpu and llama_offloads()) or str(provider or "").lower() in GPU_PROVIDERS
    if wants_gpu:
        for k in GPU_KINDS:
            if k in kinds:
                return kinds[k]
    return kinds.get("cpu") or found[0]


@functools.lru_cache(maxsize=1)
def llama_offloads() -> bool:
    """Whether the installed llama.cpp can put layers on a GPU: a CPU build runs ``-ngl 99`` on the
    CPU (and says so in the row), so its case is sampled on the CPU, not on an idle GPU."""
    try:
        import llama_cpp
    except ImportError:
        return True  # no llama.cpp here: the case fails on its own, the placement is taken at its word
    return bool(llama_cpp.llama_supports_gpu_offload())


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


def device_ref(device) -> DeviceRef:
    """The record's ``device`` field for an open device."""
    return DeviceRef.from_dict(device.info().to_dict())


def power_source(device) -> PowerSource | None:
    """The total-power rule's sensor of a device, if it is available."""
    for s in device.sensors():
        if s.info.total and s.available:
            i = s.info
            return PowerSource(sensor=i.name, quantity=i.quantity,
                               provenance=Provenance(i.kind, i.source, i.scope, note=i.note),
                               precision=i.precision)
    return None
