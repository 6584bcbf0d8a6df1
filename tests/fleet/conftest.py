"""Fixtures of the fleet tests: real sshd "boards" and a real PostgreSQL cluster (services.py),
started by the tests and stopped after them. Helpers are loaded by file path under private module
names (the suite runs with ``--import-mode=importlib``); test modules then ``from services import ...``."""
from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
for _name, _path in (("services", _HERE / "services.py"), ("refdata", _HERE.parent / "reference" / "refdata.py"),
                     ("runtimes_fixtures", _HERE.parent / "runtimes" / "conftest.py")):
    if _name not in sys.modules:
        _spec = importlib.util.spec_from_file_location(_name, _path)
        _mod = importlib.util.module_from_spec(_spec)
        sys.modules[_name] = _mod
        _spec.loader.exec_module(_mod)

import runtimes_fixtures  # noqa: E402
import services  # noqa: E402

#: the runtime tests' tiny Llama (HF directory + its optimum ONNX export), built once per machine
tiny = runtimes_fixtures.tiny

ROOT = _HERE.parents[1]
_db_names = itertools.count()


@pytest.fixture(scope="session")
def pg_server():
    """One PostgreSQL cluster for the session (about a second to start); each test takes a database."""
    pg = services.pg_cluster()
    yield pg
    pg.stop()
    services.remove(pg.dir)


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh database of the session's cluster."""
    if not pg_server.running:
        pg_server.start()
    return pg_server.create_db(f"edgeprof_{os.getpid()}_{next(_db_names)}")


@pytest.fixture
def home(tmp_path, monkeypatch, probe_dir) -> Path:
    """A private EDGEPROF_HOME (with the machine's probe); no EDGEPROF_HISTORY from the caller's environment."""
    h = tmp_path / "home"
    if probe_dir.is_dir():
        import shutil

        shutil.copytree(probe_dir, h / "devices")
    monkeypatch.setenv("EDGEPROF_HOME", str(h))
    monkeypatch.delenv("EDGEPROF_HISTORY", raising=False)
    return h


@pytest.fixture
def cli_env(home) -> dict:
    """The environment of ``python -m edgeprof`` from this checkout, with the private home."""
    return dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                EDGEPROF_HOME=str(home))


@pytest.fixture(scope="module")
def shelf(tmp_path_factory, probe_dir):
    """Two boards (sshd on loopback ports) and a laptop HOME whose ~/.ssh knows them; stopped after
    the module."""
    root = tmp_path_factory.mktemp("shelf")
    laptop = root / "laptop"
    (laptop / ".ssh").mkdir(parents=True)
    key = services.keygen(laptop / ".ssh" / "id_ed25519", "laptop")
    boards = [services.Board(n, root / f"board-{n}").setup(key.with_suffix(".pub"), probe_dir) for n in "ab"]
    services.laptop_home(laptop, boards)
    try:
        for b in boards:
            b.start()
        yield laptop, boards
    finally:
        for b in boards:
            b.stop()


@pytest.fixture(scope="session")
def tiny_export(tiny, tmp_path_factory) -> Path:
    """The tiny Llama exported by edgeprof to ONNX fp32 (its weights in ``model.onnx.data``,
    external data) and int8: an export directory with a manifest and two artifacts (~10 s)."""
    from edgeprof import exporters

    out = tmp_path_factory.mktemp("fleet-export") / "tiny-export"
    return exporters.export(tiny["hf"], ["onnx:fp32,int8"], out, quality=False)
