"""llama.cpp through llama-cpp-python's low-level API, set up the way llama-bench sets it up.

Why not the high-level ``Llama`` class: it takes flash attention only as a bool (llama-bench's
default is ``auto``), defaults to half the cores, keeps the KV cache of the last prompt (a
repeated prompt silently skips prefill) and copies logits around. Here the context is built from
``llama_context_default_params()`` with every setting explicit and recorded, the KV memory is
cleared before every repetition, and greedy argmax reads the last logits in place.
"""
from __future__ import annotations

import ctypes
import os
import re
from typing import Any

from edgeprof.runtimes.base import EngineInfo, Placement, RuntimeError_
from edgeprof.runtimes.knobs import Knob

#: llama-bench defaults (tools/llama-bench/llama-bench.cpp).
DEFAULT_N_BATCH, DEFAULT_N_UBATCH = 2048, 512
KV_TYPES = {"f32": 0, "f16": 1, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8, "bf16": 30}
FLASH = {"auto": -1, "off": 0, "on": 1}
#: ggml's own limits on a batch and on offloaded layers (a bound keeps a typo from running)
MAX_BATCH, MAX_LAYERS = 2**22, 100_000

#: this runtime's options (runtimes/knobs.py): flags, help, choices and bounds live here only
OPTIONS = (
    Knob("flash_attn", ("--flash-attn", "-fa"), "llama.cpp flash attention: on, off or auto (default auto, resolved "
         "in the row)", default="auto", choices=("on", "off", "auto"), runtimes=("llama.cpp",)),
    Knob("n_batch", ("--n-batch", "-b"), "llama.cpp logical batch (default 2048, as llama-bench)",
         integer=(1, MAX_BATCH), runtimes=("llama.cpp",)),
    Knob("n_ubatch", ("--n-ubatch", "-ub"), "llama.cpp physical batch (default 512)", integer=(1, MAX_BATCH),
         runtimes=("llama.cpp",)),
    Knob("kv_type", ("--kv-type",), "llama.cpp KV cache type (default f16)",
         choices=("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1"), runtimes=("llama.cpp",)),
    Knob("gpu_layers", ("--gpu-layers", "-ngl"), "llama.cpp layers on the GPU (default 0)", default=0,
         integer=(0, MAX_LAYERS), runtimes=("llama.cpp",)),
    Knob("repack", ("--repack",), "llama.cpp weight repacking (auto: off where ggml's AMX path crashes)",
         default="auto", choices=("on", "off", "auto"), runtimes=("llama.cpp",)),
)
#: llama.cpp (src/llama-context.cpp) logs "Flash Attention enabled" or "... not supported, set to
#: disabled" when it resolves ``auto``; no API returns the resolved value.
_FA_LOG = re.compile(r"Flash Attention (enabled|not supported|was auto, set to (?:enabled|disabled))")


class _LogCapture:
    """Keeps llama.cpp's log lines (to learn what ``auto`` resolved to) and stays quiet."""

    def __init__(self, llama_cpp):
        self.lines: list[str] = []

        @llama_cpp.llama_log_callback
        def _cb(level, text, user_data):  # noqa: ARG001 - ctypes signature
            try:
                self.lines.append(text.decode("utf-8", "replace"))
            except Exception:  # noqa: BLE001 - never raise into C
                pass

        self._cb = _cb  # keep a reference: C holds only the pointer
        llama_cpp.llama_log_set(self._cb, ctypes.c_void_p(0))

    def flash_attn_resolved(self) -> str | None:
        for line in reversed(self.lines):
            m = _FA_LOG.search(line)
            if m:
                return "on" if m.group(1).endswith("enabled") else "off"
        return None


_CAPTURE: _LogCapture | None = None


def _log_capture(llama_cpp) -> _LogCapture:
    """The process's one log callback. llama.cpp keeps the C pointer globally: a callback owned by
    an engine would be freed with it and the next model loaded in the same process (the quality
    scorer, the Python API, a test) would log into freed memory — a segfault."""
    global _CAPTURE
    if _CAPTURE is None:
        _CAPTURE = _LogCapture(llama_cpp)
    _CAPTURE.lines.clear()
    return _CAPTURE


class LlamaCppEngine:
    def __init__(self, model_path: str, placement: Placement, n_ctx: int):
        try:
            import llama_cpp
            from llama_cpp import _internals as internals
        except ImportError as exc:  # pragma: no cover - core dependency
            raise RuntimeError_("llama-cpp-python is not installed: pip install llama-cpp-python==0.3.36") from exc
        if not os.path.isfile(model_path):
            raise RuntimeError_(f"GGUF file not found: {model_path}")
        with open(model_path, "rb") as f:
            if f.read(4) != b"GGUF":
                raise RuntimeError_(f"{model_path} is not a GGUF file (bad magic); pass a .gguf model")
        self._lc = llama_cpp
        self._log = _log_capture(llama_cpp)
        llama_cpp.llama_backend_init()
        mparams = llama_cpp.llama_model_default_params()
        gpu_layers, offload_warning = _gpu_layers(placement.gpu_layers, llama_cpp)
        mparams.n_gpu_layers = gpu_layers
        self.repack, self.repack_note = _resolve_repack(placement.repack, llama_cpp)
        mparams.use_extra_bufts = self.repack == "on"
        try:
            self.model = internals.LlamaModel(path_model=model_path, params=mparams, verbose=False)
        except ValueError as exc:
            raise RuntimeError_(f"llama.cpp could not load {model_path} (truncated or unsupported GGUF?): {exc}") from exc
        n_batch = placement.n_batch or DEFAULT_N_BATCH
        n_ubatch = placement.n_ubatch or DEFAULT_N_UBATCH
        cparams = llama_cpp.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = n_batch
        cparams.n_ubatch = min(n_ubatch, n_batch)
        cparams.n_threads = cparams.n_threads_batch = placement.threads
        if placement.flash_attn not in FLASH:
            raise RuntimeError_(f"--flash-attn must be on, off or auto, not {placement.flash_attn!r}")
        cparams.flash_attn_type = FLASH[placement.flash_attn]
        if placement.kv_type:
            if placement.kv_type not in KV_TYPES:
                raise RuntimeError_(f"unknown --kv-type {placement.kv_type!r}; use one of {', '.join(KV_TYPES)}")
            cparams.type_k = cparams.type_v = KV_TYPES[placement.kv_type]
        cparams.no_perf = False
        try:
            self.ctx = internals.LlamaContext(model=self.model, params=cparams, verbose=False)
        except ValueError as exc:
            raise RuntimeError_(f"llama.cpp could not create a context (n_ctx={n_ctx}): {exc}") from exc
        from edgeprof.runtimes.ggml_threads import Threadpool

        self.pool = Threadpool(llama_cpp, placement.threads)  # as llama-bench: one pool for the context's life
        self.pool.attach(self.ctx.ctx)
        self.batch = internals.LlamaBatch(n_tokens=n_batch, embd=0, n_seq_max=1, verbose=False)
        self.n_batch = n_batch
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.model.vocab)
        bos = int(llama_cpp.llama_vocab_bos(self.model.vocab))
        self.bos = bos if bos >= 0 else None  # random-token workloads put it first (LocalScore, llama-bench)
        self.n_past = 0
        fa = placement.flash_attn
        if fa == "auto":
            fa = self._log.flash_attn_resolved() or "auto (unresolved)"
        self._log.lines.clear()  # init chatter is not needed once resolved
        import numpy as np

        self._np = np
        self._logits, self._logits_addr = None, None
        self.info = EngineInfo(
            name="llama.cpp", version=_version(),
            # threads as the context reports them (what ggml will use), not as requested
            placement={"threads": int(llama_cpp.llama_n_threads(self.ctx.ctx)),
                       "threads_batch": int(llama_cpp.llama_n_threads_batch(self.ctx.ctx)),
                       "threads_requested": placement.threads, "gpu_layers": gpu_layers,
                       "gpu_layers_requested": placement.gpu_layers,
                       "flash_attn": fa, "flash_attn_requested": placement.flash_attn,
                       "n_batch": n_batch, "n_ubatch": min(n_ubatch, n_batch),
                       "kv_type": placement.kv_type or "f16", "repack": self.repack, "provider": "gpu" if gpu_layers else "cpu",
                       "threadpool": "attached" if self.pool.attached else "disposable"},
            n_params=int(llama_cpp.llama_model_n_params(self.model.model)), n_ctx=int(llama_cpp.llama_n_ctx(self.ctx.ctx)),
            extra={"repack_note": self.repack_note, "threadpool_note": self.pool.note, "model_desc": self.model.desc(), "model_size_bytes": int(self.model.size()),
                   "system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip(),
                   "warnings": [offload_warning] if offload_warning else []},
        )

    # -- protocol -------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        return self.model.tokenize(text.encode("utf-8"), add_bos=False, special=False)

    def reset(self) -> None:
        self.ctx.kv_cache_clear()
        self.n_past = 0
        self._lc.llama_perf_context_reset(self.ctx.ctx)

    def reset_perf(self) -> None:
        self._lc.llama_perf_context_reset(self.ctx.ctx)

    def _eval(self, tokens: list[int]) -> int:
        for i in range(0, len(tokens), self.n_batch):
            chunk = tokens[i:i + self.n_batch]
            self.batch.set_batch(batch=chunk, n_past=self.n_past, logits_all=False)
            self.ctx.decode(self.batch)
            self.n_past += len(chunk)
        return self._argmax()

    def _argmax(self) -> int:
        """Greedy next token from the last logits, read in place. The numpy view is made again only
        when llama.cpp moved its output buffer (it reallocates it only to grow): between two decode
        steps the second thread waits at ggml's barrier for this serial Python."""
        ptr = self._lc.llama_get_logits_ith(self.ctx.ctx, -1)
        addr = ctypes.cast(ptr, ctypes.c_void_p).value
        if addr != self._logits_addr:
            self._logits = self._np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))
            self._logits_addr = addr
        return int(self._logits.argmax())

    def prefill(self, tokens: list[int]) -> int:
        if not tokens:
            raise RuntimeError_("prefill needs at least one token")
        return self._eval(tokens)

    def decode(self, token: int) -> int:
        """One token: the batch's first slot written directly (``set_batch``'s loop, for one)."""
        b = self.batch.batch
        b.n_tokens = 1
        b.token[0], b.pos[0], b.n_seq_id[0], b.logits[0] = token, self.n_past, 1, True
        b.seq_id[0][0] = 0
        rc = self._lc.llama_decode(self.ctx.ctx, b)
        if rc != 0:
            raise RuntimeError_(f"llama_decode returned {rc} at position {self.n_past}")
        self.n_past += 1
        return self._argmax()

    def perf(self) -> dict[str, Any]:
        d = self._lc.llama_perf_context(self.ctx.ctx)
        return {"t_p_eval_ms": d.t_p_eval_ms, "n_p_eval": d.n_p_eval, "t_eval_ms": d.t_eval_ms,
                "n_eval": d.n_eval, "t_load_ms": d.t_load_ms}

    def close(self) -> None:
        pool, ctx = getattr(self, "pool", None), getattr(self, "ctx", None)
        if pool is not None and ctx is not None:
            pool.detach(ctx.ctx)
        for obj in ("batch", "ctx", "model"):
            x = getattr(self, obj, None)
            if x is not None:
                x.close()
        if pool is not None:  # after the context (llama-bench: llama_free, then ggml_threadpool_free)
            pool.free()


def _gpu_layers(requested: int, llama_cpp) -> tuple[int, str | None]:
    """(layers that will run on a GPU, warning): a llama.cpp build without GPU offload (the CPU
    wheel) accepts ``-ngl 99`` and runs every layer on the CPU, so the row records 0 GPU layers
    and provider ``cpu`` (what ran, as for threads) and says why."""
    if not requested or llama_cpp.llama_supports_gpu_offload():
        return int(requested), None
    return 0, (f"-ngl {requested} asked for {requested} GPU layers, but this llama.cpp build (llama-cpp-python "
               f"{_version()}) has no GPU offload (llama_supports_gpu_offload() is false): the case ran on the CPU; "
               f"install a CUDA, Metal or Vulkan build of llama-cpp-python to offload")


def _resolve_repack(requested: str, llama_cpp) -> tuple[str, str]:
    """Weight repacking ("extra buffer types": AMX, AVX repack) — llama-bench's ``--repack``.

    ``auto`` turns it off where ggml's AMX path is compiled in: on Sapphire-Rapids-class CPUs it
    segfaults in ``ggml_backend_amx_mul_mat`` (llama.cpp issue #20824, reproduced here with
    SmolLM2 Q4_1 on llama-cpp-python 0.3.36), otherwise on, as llama.cpp's default.
    """
    if requested in ("on", "off"):
        return requested, "as requested"
    if requested != "auto":
        raise RuntimeError_(f"--repack must be on, off or auto, not {requested!r}")
    sysinfo = llama_cpp.llama_print_system_info().decode("utf-8", "replace")
    if "AMX_INT8 = 1" in sysinfo:
        return "off", "auto: off because this llama.cpp build uses AMX, whose mul_mat segfaults (llama.cpp#20824)"
    return "on", "auto: on (llama.cpp default)"


def _version() -> str:
    from importlib import metadata  # not at the top: --help reads OPTIONS from this module

    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"


def load(artifact: dict[str, Any], placement: Placement, n_ctx: int) -> LlamaCppEngine:
    return LlamaCppEngine(artifact["path"], placement, n_ctx)
