"""Access to packaged data in ``assets/`` (installed as ``edgeprof.assets``), readable after a
plain ``pip install .`` and from a source checkout alike."""
from __future__ import annotations

from pathlib import Path


def assets_root() -> Path:
    try:
        from importlib.resources import files

        p = Path(str(files("edgeprof.assets")))
        if p.is_dir():
            return p
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parent.parent / "assets"


def asset(*parts: str) -> Path:
    return assets_root().joinpath(*parts)
