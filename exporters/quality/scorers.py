"""One tiny interface over three runtimes: ``window_logits(ids) -> [len(ids), vocab]`` float32.

Quality scoring and artifact verification need nothing more than full-window logits, so each
runtime is wrapped in ~20 lines: torch for the HF source, onnxruntime (``onnx_runner``) for ONNX,
llama-cpp-python (``logits_all=True``) for GGUF. Heavy imports happen on open.
"""
from __future__ import annotations

from pathlib import Path

from edgeprof.exporters.errors import ExportError


class TorchScorer:
    """The HF source in eager fp32 PyTorch: the reference every artifact is compared with."""

    def __init__(self, model_dir: Path, threads: int):
        import torch
        from transformers import AutoModelForCausalLM

        torch.set_num_threads(threads)
        self.torch = torch
        self.model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
        self.model.eval()

    def window_logits(self, ids: list[int]):
        with self.torch.inference_mode():
            out = self.model(input_ids=self.torch.tensor([ids]), use_cache=False)
        return out.logits[0].float().numpy()

    def greedy(self, ids: list[int], n_new: int) -> list[int]:
        """``n_new`` greedy tokens with the KV cache (fixed length: EOS is an ordinary token here)."""
        torch, out_ids, past = self.torch, [], None
        step = torch.tensor([ids])
        with torch.inference_mode():
            while len(out_ids) < n_new:
                out = self.model(input_ids=step, past_key_values=past, use_cache=True)
                past = out.past_key_values
                out_ids.append(int(out.logits[0, -1].argmax()))
                step = torch.tensor([[out_ids[-1]]])
        return out_ids

    def close(self) -> None:
        self.model = None


class OnnxScorer:
    """An exported ONNX decoder, fed through its KV cache in 128-token chunks."""

    def __init__(self, path: Path, threads: int):
        from edgeprof.exporters.onnx.runner import OnnxDecoder

        model = path / "model.onnx" if path.is_dir() else path
        self.decoder = OnnxDecoder(model, threads=threads)

    def window_logits(self, ids: list[int]):
        return self.decoder.window_logits(ids)

    def greedy(self, ids: list[int], n_new: int) -> list[int]:
        return self.decoder.greedy(ids, n_new)

    def close(self) -> None:
        self.decoder = None


def _load_llama(path: Path, *, extra_bufts: bool, **kwargs):
    """``llama_cpp.Llama`` with llama.cpp's extra CPU buffer types (AMX, repack) on or off.

    llama-cpp-python exposes no argument for ``use_extra_bufts``; it builds its model params from
    ``llama_model_default_params()``, so that one call is wrapped while the model loads.
    Why off by default here: on CPUs with AMX (Sapphire Rapids and later) llama.cpp's AMX matmul
    segfaults on quantized weights as soon as a batch has more than one token
    (ggml-org/llama.cpp#20824, open; reproduced with llama-cpp-python 0.3.36 built natively on
    this project's CI machine for Q4_0/Q4_1/Q8_0/Q4_K_M). Quality scoring needs batched logits,
    and the plain CPU kernels give the same figures.
    """
    import llama_cpp
    import llama_cpp.llama as llama_mod

    original = llama_mod.llama_cpp.llama_model_default_params

    def params():
        p = original()
        p.use_extra_bufts = extra_bufts
        return p

    llama_mod.llama_cpp.llama_model_default_params = params
    try:
        return llama_cpp.Llama(model_path=str(path), verbose=False, **kwargs)
    finally:
        llama_mod.llama_cpp.llama_model_default_params = original


class GgufScorer:
    """A GGUF file in llama.cpp with ``logits_all`` so one eval returns every position's logits."""

    def __init__(self, path: Path, threads: int, n_ctx: int, *, extra_bufts: bool = False):
        if path.is_dir():
            files = sorted(path.glob("*.gguf"))
            if not files:
                raise ExportError(f"{path} holds no .gguf file")
            path = files[0]
        # n_threads_batch too: llama-cpp-python's default is every core for prompt batches, whose
        # threads then spin at barriers when the cores are shared (measured: 256 tokens of
        # SmolLM2 q4_k_m in 7.8 s with the default vs 2.7 s with 1, at load 6 on 2 cores)
        self.llm = _load_llama(path, extra_bufts=extra_bufts, n_ctx=n_ctx, n_batch=n_ctx, n_threads=threads,
                               n_threads_batch=threads, logits_all=True)
        self.n_ctx = n_ctx

    def window_logits(self, ids: list[int]):
        import numpy as np

        if len(ids) > self.n_ctx:
            raise ExportError(f"window of {len(ids)} tokens exceeds the context of {self.n_ctx}")
        self.llm.reset()  # the next eval starts at position 0 and drops the old KV cells
        self.llm.eval(ids)
        return np.array(self.llm.scores[:len(ids)], dtype=np.float32)

    def close(self) -> None:
        if self.llm is not None:
            self.llm.close()
        self.llm = None


def open_scorer(fmt: str, path: Path, *, threads: int = 2, n_ctx: int = 512):
    """A scorer for ``fmt`` in {hf, onnx, gguf} at ``path`` (file or artifact directory)."""
    path = Path(path)
    if fmt == "hf":
        return TorchScorer(path, threads)
    if fmt == "onnx":
        return OnnxScorer(path, threads)
    if fmt == "gguf":
        return GgufScorer(path, threads, n_ctx)
    raise ExportError(f"unknown artifact format {fmt!r}; expected hf, onnx or gguf")
