"""Fixtures for tests/reference. The helpers in refdata.py and hubserver.py are loaded by file path under the
private module name ``refdata`` (the suite runs with ``--import-mode=importlib``, so test
directories are not on sys.path); test modules then ``from refdata import ...``."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

for _name in ("refdata", "hubserver"):
    if _name not in sys.modules:
        _spec = importlib.util.spec_from_file_location(_name, Path(__file__).with_name(f"{_name}.py"))
        _mod = importlib.util.module_from_spec(_spec)
        sys.modules[_name] = _mod
        _spec.loader.exec_module(_mod)


@pytest.fixture
def home(tmp_path, monkeypatch):
    h = tmp_path / "home"
    monkeypatch.setenv("EDGEPROF_HOME", str(h))
    monkeypatch.delenv("EDGEPROF_HISTORY", raising=False)
    return h
