"""Eager PyTorch over an HF model directory (safetensors): the unquantized baseline row of every
matrix, the model that quality and compression are measured against.

``trust_remote_code`` is never on and pickle checkpoints are never loaded (``use_safetensors``).
The KV cache is the model's own ``past_key_values`` (a ``DynamicCache``), kept between calls and
dropped by ``reset()``; prefill computes logits for the last position only where the model takes
``logits_to_keep``. Greedy = argmax of the last logits, as ``generate(do_sample=False)``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeprof.runtimes.base import EngineInfo, Placement, RuntimeError_
from edgeprof.runtimes.knobs import Knob

#: this runtime's options (runtimes/knobs.py)
OPTIONS = (
    Knob("dtype", ("--dtype",), "PyTorch runtime precision (default: the artifact's)", choices=("fp32", "bf16", "fp16"),
         runtimes=("torch",)),
)
DTYPES = {"fp32": "float32", "float32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16",
          "fp16": "float16", "float16": "float16"}


def resolve_dtype(placement: Placement, artifact: dict[str, Any]) -> str:
    """placement.dtype wins, else the artifact's quant if it names a float type, else fp32."""
    req = placement.dtype or artifact.get("quant") or "fp32"
    if req not in DTYPES:
        if placement.dtype:
            raise RuntimeError_(f"unsupported torch dtype {req!r}; use fp32, bf16 or fp16")
        req = "fp32"
    return {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16"}.get(req, req)


def torch_stack(placement: Placement):
    """(torch, transformers, device, device name) with torch's threads set: what both torch
    engines (causal LM and inference) start with; a missing library is one line with the fix."""
    try:
        import torch
        import transformers
    except ImportError as exc:
        raise RuntimeError_(f"the torch runtime needs torch and transformers: pip install 'edgeprof[export]' ({exc})") from exc
    torch.set_num_threads(int(placement.threads))
    device, device_name = resolve_device(torch, placement.provider)
    return torch, transformers, device, device_name


def resolve_device(torch, provider: str | None) -> tuple[str, str]:
    """(torch device, human name) for ``placement.provider`` (cpu default; cuda; mps)."""
    req = (provider or "cpu").lower()
    if req in ("cpu", "none"):
        import platform

        return "cpu", platform.processor() or platform.machine()
    if req in ("cuda", "gpu") or req.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise RuntimeError_(f"provider {req!r}: this torch {torch.__version__} has no usable CUDA device; install a "
                                f"CUDA build of torch (pip install torch --index-url https://download.pytorch.org/whl/cu126) "
                                f"on a machine with an NVIDIA GPU")
        dev = "cuda" if req == "gpu" else req
        return dev, torch.cuda.get_device_name(torch.device(dev))
    if req == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise RuntimeError_("provider 'mps': Apple Metal is not available to this torch build")
        return "mps", "Apple MPS"
    raise RuntimeError_(f"unknown torch provider {provider!r}; use cpu, cuda or mps")


class TorchEngine:
    def __init__(self, artifact: dict[str, Any], placement: Placement, n_ctx: int):
        d = Path(artifact["path"])
        if d.is_file():
            d = d.parent
        if not (d / "config.json").is_file():
            raise RuntimeError_(f"{d} is not a Hugging Face model directory (no config.json)")
        if not list(d.glob("*.safetensors")):
            raise RuntimeError_(f"{d} has no *.safetensors weights; the torch runtime loads safetensors only")
        torch, transformers, device, device_name = torch_stack(placement)
        AutoModelForCausalLM = transformers.AutoModelForCausalLM
        self.torch = torch
        dtype = resolve_dtype(placement, artifact)
        try:
            model = AutoModelForCausalLM.from_pretrained(
                str(d), dtype=getattr(torch, DTYPES[dtype]), trust_remote_code=False,
                use_safetensors=True, low_cpu_mem_usage=True)
        except Exception as exc:  # noqa: BLE001 - transformers raises many types
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RuntimeError_(f"transformers could not load {d}: {msg[:300]}") from exc
        self.model = model.to(device).eval()
        self.device = device
        self.tok = _tokenizer(d)
        cfg0 = self.model.config  # random-token suites draw ids below vocab_size, BOS first
        self.n_vocab, self.bos = int(cfg0.vocab_size), getattr(cfg0, "bos_token_id", None)
        import inspect

        params = inspect.signature(self.model.forward).parameters
        self.keep_arg = "logits_to_keep" if "logits_to_keep" in params else (
            "num_logits_to_keep" if "num_logits_to_keep" in params else None)
        self.cache = None
        self.n_past = 0
        cfg = self.model.config
        self.info = EngineInfo(
            name="torch", version=torch.__version__,
            placement={"threads": int(torch.get_num_threads()), "threads_requested": placement.threads,
                       "provider": device.split(":")[0], "device": device,
                       "device_name": device_name, "dtype": dtype,
                       "attn_implementation": getattr(cfg, "_attn_implementation", None),
                       "interop_threads": torch.get_num_interop_threads(),
                       "gpu_layers": 0, "flash_attn": "n/a", "n_batch": None, "n_ubatch": None, "kv_type": dtype},
            n_params=sum(p.numel() for p in self.model.parameters()), n_ctx=int(n_ctx),
            extra={"transformers": _version("transformers"), "architecture": (cfg.architectures or [None])[0],
                   "model_type": cfg.model_type},
        )

    # -- protocol -------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        return self.tok(text)

    def reset(self) -> None:
        self.cache, self.n_past = None, 0

    def _run(self, tokens: list[int]) -> int:
        torch = self.torch
        with torch.inference_mode():
            ids = torch.tensor([tokens], dtype=torch.long, device=self.device)
            kw: dict[str, Any] = {"input_ids": ids, "past_key_values": self.cache, "use_cache": True}
            if self.keep_arg:
                kw[self.keep_arg] = 1
            if self.cache is None:
                from transformers import DynamicCache

                kw["past_key_values"] = DynamicCache()
            out = self.model(**kw)
            self.cache = out.past_key_values
            self.n_past += len(tokens)
            return int(out.logits[0, -1].argmax())

    def prefill(self, tokens: list[int]) -> int:
        if not tokens:
            raise RuntimeError_("prefill needs at least one token")
        return self._run(tokens)

    def decode(self, token: int) -> int:
        return self._run([token])

    def perf(self) -> dict[str, Any] | None:
        return None

    def close(self) -> None:
        self.cache = None
        self.model = None


def _tokenizer(d: Path):
    """``tokenizers`` on tokenizer.json (fast, no transformers tokenizer stack), else AutoTokenizer."""
    if (d / "tokenizer.json").is_file():
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        return lambda text: tok.encode(text, add_special_tokens=False).ids
    try:
        from transformers import AutoTokenizer

        at = AutoTokenizer.from_pretrained(str(d), trust_remote_code=False)
    except Exception as exc:  # noqa: BLE001
        raise RuntimeError_(f"no usable tokenizer in {d} (tokenizer.json missing): {str(exc).splitlines()[0][:200]}") from exc
    return lambda text: at(text, add_special_tokens=False)["input_ids"]


def _version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return None


def load(artifact: dict[str, Any], placement: Placement, n_ctx: int) -> TorchEngine:
    return TorchEngine(artifact, placement, n_ctx)
