"""edgeprof: HOW a model is measured and shown — runtimes, bench engine, metrics, reference,
result sinks, CLI and TUI. ``edgeprof.devices`` (WHERE it runs) and ``edgeprof.exporters`` (WHAT
runs) are libraries of their own inside it: they never import the rest of ``edgeprof``.

Importing this package is cheap: heavy libraries are imported inside the code that needs them.
The Python face (``edgeprof.load``, ``edgeprof.load_samples``, ``edgeprof.history``) is resolved on
first use (PEP 562), by name, like the CLI's subcommands: ``import edgeprof`` imports no pandas and
no other edgeprof module.
"""
__version__ = "0.1.0"

#: installed subpackage -> the folder at the top of a source checkout that holds it (setup.py maps
#: the same folders into the wheel, so an installed edgeprof has them inside and skips this)
_CHECKOUT_FOLDERS = {"edgeprof.devices": "devices", "edgeprof.exporters": "exporters", "edgeprof.assets": "assets"}


def _find_checkout_folders() -> None:
    """In a source checkout (``python -m pytest`` imports ``edgeprof`` from the clone), find
    ``edgeprof.devices``, ``edgeprof.exporters`` and ``edgeprof.assets`` in the folders beside
    ``edgeprof/``: a narrow finder for those three names only, so nothing else at the top of the
    repository becomes importable under ``edgeprof``."""
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    top = os.path.dirname(here)
    if os.path.isdir(os.path.join(here, "devices")) or not os.path.isfile(os.path.join(top, "devices", "__init__.py")):
        return

    class _CheckoutFinder:
        @staticmethod
        def find_spec(name, path=None, target=None):
            folder = _CHECKOUT_FOLDERS.get(name)
            if folder is None:
                return None
            import importlib.util

            where = os.path.join(top, folder)
            return importlib.util.spec_from_file_location(name, os.path.join(where, "__init__.py"),
                                                          submodule_search_locations=[where])

    if not any(type(f).__name__ == "_CheckoutFinder" for f in sys.meta_path):
        sys.meta_path.insert(0, _CheckoutFinder())


_find_checkout_folders()

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
