"""Runtime registry: name -> "module:function" that loads an engine, resolved only on use, and
the artifact formats each runtime accepts — the one format→runtime table. Probed with
``find_spec`` (no import)."""
from __future__ import annotations

from importlib.util import find_spec

#: runtime name -> (loader target, import name of its library, artifact formats)
REGISTRY: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "llama.cpp": ("edgeprof.runtimes.llamacpp:load", "llama_cpp", ("gguf",)),
    "onnxruntime": ("edgeprof.runtimes.onnxruntime:load", "onnxruntime", ("onnx",)),
    "torch": ("edgeprof.runtimes.torch:load", "torch", ("hf",)),
}

FORMATS = tuple(f for _, _, fmts in REGISTRY.values() for f in fmts)


def default_for(fmt: str) -> str:
    """The runtime that runs an artifact format by default (the first registered for it)."""
    for name, (_, _, fmts) in REGISTRY.items():
        if fmt in fmts:
            return name
    raise KeyError(f"no runtime runs format {fmt!r}; known formats: {', '.join(FORMATS)}")


def available(name: str) -> bool:
    return name in REGISTRY and find_spec(REGISTRY[name][1]) is not None


def resolve(name: str):
    """The loader function of a runtime: ``load(artifact: dict, placement, n_ctx) -> Engine``."""
    import importlib

    if name in REGISTRY:
        target = REGISTRY[name][0]
    elif ":" in name:  # a "module:function" target: plug-in runtimes (and the crash tests) use it
        target = name
    else:
        raise KeyError(f"unknown runtime {name!r}; known: {', '.join(REGISTRY)}")
    mod, _, func = target.partition(":")
    return getattr(importlib.import_module(mod), func)
