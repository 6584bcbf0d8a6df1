"""Fixtures for tests/faults. The helpers (faultkit.py: the CLI in a subprocess and what a user
sees; opens.py: inotify; the fixture trees of tests/fixtures/boards.py) are loaded by file path under private module names, as the suite runs
with ``--import-mode=importlib``; test modules then ``from faultkit import ...``."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
for _name, _path in (("faultkit", _HERE / "faultkit.py"), ("opens", _HERE / "opens.py"),
                     ("fx_boards", _HERE.parent / "fixtures" / "boards.py")):  # the name tests/devices uses too
    if _name not in sys.modules:
        _spec = importlib.util.spec_from_file_location(_name, _path)
        _mod = importlib.util.module_from_spec(_spec)
        sys.modules[_name] = _mod
        _spec.loader.exec_module(_mod)


@pytest.fixture()
def home(tmp_path, seeded) -> Path:
    """An EDGEPROF_HOME of the test's own (history, hash cache), holding the machine's probe."""
    return seeded(tmp_path / "home")
