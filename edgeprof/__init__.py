"""edgeprof: HOW a model is measured and shown — runtimes, bench engine, metrics, reference,
result sinks, CLI and TUI. Imports ``devices`` and ``exporters``; never the reverse.

Importing this package is cheap: heavy libraries are imported inside the code that needs them.
The Python face (``edgeprof.load``, ``edgeprof.load_samples``, ``edgeprof.history``) is resolved on
first use (PEP 562), by name, like the CLI's subcommands: ``import edgeprof`` imports no pandas and
no other edgeprof module.
"""
__version__ = "0.1.0"

#: public name -> module that defines it (imported on first access)
_LAZY = {"load": "edgeprof.results.frames", "load_samples": "edgeprof.results.frames",
         "history": "edgeprof.results.frames"}
__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edgeprof' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
