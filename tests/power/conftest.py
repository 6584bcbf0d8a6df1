"""The ``orin`` fixture: a Jetson Orin Nano Super tree with the nvpmodel/jetson_clocks stand-ins
named in its EDGEPROF_HOME (powerkit.py)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from powerkit import Board, orin_board  # noqa: E402


@pytest.fixture
def orin(tmp_path) -> Board:
    return orin_board(tmp_path)
