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

#: runtime name -> loader of its inference engine (models that are not causal LMs: encoders, vision,
#: audio): ``load(artifact: dict, placement) -> engine`` with ``prepare(feed)``, ``run()``, ``close()``
INFERENCE: dict[str, str] = {
    "onnxruntime": "edgeprof.runtimes.ort_inference:load",
    "torch": "edgeprof.runtimes.torch_inference:load",
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


def resolve_inference(name: str):
    """The inference loader of a runtime; a one-line error naming those that have one."""
    import importlib

    target = INFERENCE.get(name) or (name if ":" in name else None)
    if target is None:
        raise KeyError(f"runtime {name!r} runs only causal LMs; models that are not (encoders, vision, audio) run on "
                       f"{', '.join(INFERENCE)}")
    mod, _, func = target.partition(":")
    return getattr(importlib.import_module(mod), func)


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


def options() -> list:
    """Every registered runtime's options (``OPTIONS`` of its module, runtimes/knobs.py), in
    registry order, each name once (a knob two runtimes read is declared by the first)."""
    import importlib

    out, seen = [], set()
    for target, _, _ in REGISTRY.values():
        for knob in getattr(importlib.import_module(target.partition(":")[0]), "OPTIONS", ()):
            if knob.name not in seen:
                seen.add(knob.name)
                out.append(knob)
    return out
