"""Packaged data (``edgeprof/assets/``: reference sets, device specs, the model catalogue, prompt and
evaluation text). It sits inside the package so the wheel carries it by discovery and a source
checkout reads the same files; nothing is ever written there."""
from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"


def assets_root() -> Path:
    return ASSETS


def asset(*parts: str) -> Path:
    return ASSETS.joinpath(*parts)
