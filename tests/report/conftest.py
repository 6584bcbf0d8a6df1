"""Fixtures of the report tests: the recorded runs under tests/fixtures/report (see its README)
and one real short run of the default model, shared by the module that needs it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "report"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def matrix_run() -> Path:
    return FIXTURES / "matrix"


@pytest.fixture(scope="session")
def suite_run() -> Path:
    return FIXTURES / "suite"


def _cli(*args: str, home: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python -m edgeprof ARGS`` from this checkout (its own code first on the path)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    if home is not None:
        env["EDGEPROF_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "edgeprof", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


@pytest.fixture(scope="session")
def real_run(tmp_path_factory, smollm2_gguf, test_home) -> Path:
    """A real short bench of the default model (2 repetitions, 1 thread); the test home keeps the
    bandwidth probe between sessions, so only the first run on a machine pays for it."""
    out = tmp_path_factory.mktemp("real") / "run"
    proc = _cli("bench", str(smollm2_gguf), "-p", "16", "-n", "16", "--reps", "2", "--min-seconds", "0",
               "--idle-seconds", "0.2", "-t", "1", "--out", str(out), "-q", home=test_home)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out


@pytest.fixture(scope="session")
def edgeprof_cli():
    """Run ``python -m edgeprof ARGS`` from this checkout: ``edgeprof_cli("report", DIR, home=...)``."""
    return _cli
