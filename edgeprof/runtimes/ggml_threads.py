"""A persistent ggml CPU threadpool attached to a llama.cpp context, as llama-bench attaches one.

Why (issue 20, item 8): llama-cpp-python binds no threadpool API, so a context it builds has none
and ggml makes a *disposable* pool for every graph it computes — one per decoded token. Where ggml
is built without OpenMP (its macOS default, many ARM builds) that pool starts ``threads - 1`` OS
threads per token and joins them again, a cost that grows with the thread count and that
llama-bench never pays: it creates one pool with ``ggml_threadpool_params_default`` (hybrid
polling 50, normal priority, no CPU mask) and attaches it for the context's life. Here the same
three calls are made through ctypes on the libraries llama-cpp-python already loaded, so both
tools compute on the same kind of pool. With OpenMP (the Linux wheels) ggml runs its graph in an
OpenMP team either way and the attached pool only holds state; the row records which one ran.

No struct layout is assumed: the params are written by ``ggml_threadpool_params_init`` into a
zeroed buffer larger than the struct and passed on unchanged (the defaults llama-bench uses); the
only field read back, ``n_threads`` after the 512-byte CPU mask, is a check of that assumption —
when it fails, nothing is attached and the row says why.
"""
from __future__ import annotations

import ctypes
import pathlib

#: ``GGML_MAX_N_THREADS``: the CPU mask (one bool per thread) that leads ``ggml_threadpool_params``
MASK_BYTES = 512
#: room for the params struct (528 bytes in ggml 0.9; a later, larger one still fits)
PARAMS_BYTES = 4096


def _symbol(llama_cpp, name: str):
    """``name`` from the libraries llama-cpp-python loaded: libllama, then ggml-cpu, ggml-base, ggml."""
    from llama_cpp import _ctypes_extensions as ext
    from llama_cpp import llama_cpp as bindings  # the module that loaded libllama

    libs = [bindings._lib]
    base = pathlib.Path(bindings._base_path)
    for stem in ("ggml-cpu", "ggml-base", "ggml"):
        try:
            libs.append(ext.load_shared_library(stem, base))
        except (RuntimeError, FileNotFoundError, OSError):
            continue
    for lib in libs:
        try:
            return getattr(lib, name)
        except AttributeError:
            continue
    raise AttributeError(f"{name} is not exported by this llama.cpp build")


class Threadpool:
    """One pool for one context: ``attach`` after the context is made, ``free`` after it is freed."""

    def __init__(self, llama_cpp, n_threads: int):
        self.handle = None
        self.note = ""
        self._free = None
        try:
            init = _symbol(llama_cpp, "ggml_threadpool_params_init")
            new = _symbol(llama_cpp, "ggml_threadpool_new")
            self._free = _symbol(llama_cpp, "ggml_threadpool_free")
            self._attach = _symbol(llama_cpp, "llama_attach_threadpool")
            self._detach = _symbol(llama_cpp, "llama_detach_threadpool")
        except AttributeError as exc:
            self.note = f"not attached: {exc}; ggml makes a disposable pool per graph"
            return
        init.argtypes, init.restype = [ctypes.c_void_p, ctypes.c_int], None
        new.argtypes, new.restype = [ctypes.c_void_p], ctypes.c_void_p
        self._free.argtypes, self._free.restype = [ctypes.c_void_p], None
        self._attach.argtypes, self._attach.restype = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p], None
        self._detach.argtypes, self._detach.restype = [ctypes.c_void_p], None
        params = ctypes.create_string_buffer(PARAMS_BYTES)
        init(params, int(n_threads))
        seen = ctypes.c_int.from_buffer(params, MASK_BYTES).value
        if seen != n_threads:
            self.note = (f"not attached: ggml_threadpool_params has an unexpected layout (n_threads read back as "
                         f"{seen}); ggml makes a disposable pool per graph")
            return
        self.handle = new(params)
        if not self.handle:
            self.note = "not attached: ggml_threadpool_new returned NULL; ggml makes a disposable pool per graph"
            return
        self.note = ("attached: one ggml threadpool for the context's life, llama-bench's defaults (hybrid polling 50, "
                     "normal priority, no CPU mask)")

    @property
    def attached(self) -> bool:
        return bool(self.handle)

    def attach(self, ctx) -> None:
        if self.handle:
            self._attach(ctx, self.handle, None)  # NULL batch pool: prefill uses the same one

    def detach(self, ctx) -> None:
        if self.handle and ctx:
            self._detach(ctx)

    def free(self) -> None:
        if self.handle and self._free is not None:
            self._free(self.handle)
        self.handle = None
