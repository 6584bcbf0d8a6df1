"""Fixtures for the device adapter tests: fake trees (tests/fixtures/boards.py) and the fake NVML
(tests/fixtures/nvidia/fake_nvml.py), loaded by file path under private module names so they
never shadow a real package (``nvidia`` is a namespace package when CUDA wheels are installed)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _load(name: str, path: Path):
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


fx_boards = _load("fx_boards", FIXTURES / "boards.py")
fx_fake_nvml = _load("fx_fake_nvml", FIXTURES / "nvidia" / "fake_nvml.py")


@pytest.fixture
def board(tmp_path):
    """board("orin-nano-jp6") -> a root Path holding that board's tree."""
    def build(name: str) -> Path:
        root = tmp_path / name
        root.mkdir()
        return fx_boards.build(root, name)
    return build


@pytest.fixture
def powermetrics_bytes() -> bytes:
    return (FIXTURES / "apple" / "powermetrics_m2_macos14.plist").read_bytes()

