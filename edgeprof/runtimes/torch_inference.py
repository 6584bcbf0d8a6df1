"""Eager PyTorch for HF models that are not causal LMs (encoders, vision and audio models): the
class config.json names (``BertModel``, ``ViTForImageClassification``, ``DPTForDepthEstimation``),
looked up among transformers' own classes — never remote code, never a pickle checkpoint.

``run()`` is one forward pass under ``inference_mode`` over inputs moved to the device once; on
CUDA it synchronizes so the worker's clock covers the work. ``count_flops()`` runs one pass under
``torch.utils.flop_counter`` (outside any timing) for the compute-utilization figure.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeprof.runtimes.base import EngineInfo, Placement, RuntimeError_
from edgeprof.runtimes.torch import DTYPES, _version, resolve_dtype, torch_stack


def model_class(transformers, d: Path):
    """transformers' class for the directory's ``architectures[0]``, else ``AutoModel``."""
    import json

    try:
        arch = (json.loads((d / "config.json").read_text()).get("architectures") or [None])[0]
    except (OSError, ValueError):
        arch = None
    cls = getattr(transformers, arch, None) if isinstance(arch, str) and arch.isidentifier() else None
    if cls is None or not hasattr(cls, "from_pretrained"):
        return transformers.AutoModel, arch
    return cls, arch


class TorchInference:
    def __init__(self, artifact: dict[str, Any], placement: Placement):
        d = Path(artifact["path"])
        d = d.parent if d.is_file() else d
        if not (d / "config.json").is_file() or not list(d.glob("*.safetensors")):
            raise RuntimeError_(f"{d} is not a Hugging Face model directory with config.json and *.safetensors")
        torch, transformers, device, device_name = torch_stack(placement)
        self.torch = torch
        dtype = resolve_dtype(placement, artifact)
        cls, arch = model_class(transformers, d)
        try:
            model = cls.from_pretrained(str(d), dtype=getattr(torch, DTYPES[dtype]), trust_remote_code=False,
                                        use_safetensors=True, low_cpu_mem_usage=True)
        except Exception as exc:  # noqa: BLE001 - transformers raises many types
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RuntimeError_(f"transformers could not load {d} as {arch or 'AutoModel'}: {msg[:300]}") from exc
        self.model = model.to(device).eval()
        self.device, self.dtype = device, getattr(torch, DTYPES[dtype])
        self.feed: dict[str, Any] = {}
        self.info = EngineInfo(
            name="torch", version=torch.__version__,
            placement={"threads": int(torch.get_num_threads()), "threads_requested": placement.threads,
                       "provider": device.split(":")[0], "device": device, "device_name": device_name, "dtype": dtype,
                       "interop_threads": torch.get_num_interop_threads(), "gpu_layers": 0, "flash_attn": "n/a",
                       "n_batch": None, "n_ubatch": None, "kv_type": None},
            n_params=sum(p.numel() for p in self.model.parameters()),
            extra={"transformers": _version("transformers"), "architecture": arch,
                   "model_type": self.model.config.model_type})

    def _tensors(self, feed: dict[str, Any]) -> dict[str, Any]:
        torch = self.torch
        out = {}
        for k, v in feed.items():
            t = torch.from_numpy(v).to(self.device)
            out[k] = t.to(self.dtype) if t.is_floating_point() else t
        return out

    def prepare(self, feed: dict[str, Any]) -> None:
        self.feed = self._tensors(feed)

    def run(self) -> Any:
        with self.torch.inference_mode():
            out = self.model(**self.feed)
        if self.device.startswith("cuda"):
            self.torch.cuda.synchronize()
        return out

    def count_flops(self) -> float | None:
        """FLOPs of one forward pass, counted by torch's FlopCounterMode (matmuls, convolutions,
        attention), or None where it cannot count."""
        try:
            from torch.utils.flop_counter import FlopCounterMode

            with FlopCounterMode(display=False) as fc, self.torch.inference_mode():
                self.model(**self.feed)
            return float(fc.get_total_flops()) or None
        except Exception:  # noqa: BLE001 - a counter failure only costs the utilization figure
            return None

    def outputs(self, feed: dict[str, Any]) -> dict[str, Any]:
        with self.torch.inference_mode():
            out = self.model(**self._tensors(feed))
        return {k: v.float().cpu().numpy() for k, v in out.items() if hasattr(v, "cpu")}

    def close(self) -> None:
        self.model = None
        self.feed = {}


def load(artifact: dict[str, Any], placement: Placement) -> TorchInference:
    return TorchInference(artifact, placement)
