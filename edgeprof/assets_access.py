"""Packaged data (``assets/`` in the repository, installed as ``edgeprof/assets/``: reference sets,
device specs, the model catalogue, prompt and evaluation text). setup.py maps the folder into the
wheel, so a source checkout and an installed edgeprof read the same files; nothing is ever written
there."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def assets_root() -> Path:
    import edgeprof.assets

    return Path(edgeprof.assets.__file__).resolve().parent


def asset(*parts: str) -> Path:
    return assets_root().joinpath(*parts)
