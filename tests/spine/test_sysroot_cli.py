"""``EDGEPROF_SYSROOT=<fixture tree> edgeprof devices --json`` names the board and lists every
sensor with provenance and status (trees from tests/fixtures/boards.py; sources in its README)."""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "boards.py"
spec = importlib.util.spec_from_file_location("fx_boards_cli", FIX)
boards = importlib.util.module_from_spec(spec)
spec.loader.exec_module(boards)

EXPECT = {  # board -> (device kind, name fragment, total sensor source or None when the board has no input rail)
    "orin-nano-jp6": ("jetson", "Orin Nano", "ina3221:VDD_IN"),
    "agx-orin-jp5": ("jetson", "AGX Orin", None),
    "xavier-nx-jp4": ("jetson", "Xavier NX", "ina3221:VDD_IN"),
    "nano-jp4": ("jetson", "Jetson Nano", "ina3221:POM_5V_IN"),
    "rapl-2socket": ("cpu", "8481C", "rapl"),
    "amd-rx7900": ("amd", "", None),
}


@pytest.mark.parametrize("board", sorted(EXPECT))
def test_devices_under_a_fixture_root(tmp_path, board):
    root = boards.build(tmp_path / "root", board)
    env = dict(os.environ, EDGEPROF_SYSROOT=str(root), EDGEPROF_HOME=str(tmp_path / "home"))
    p = subprocess.run([sys.executable, "-m", "edgeprof", "devices", "--json"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    desc = json.loads(p.stdout)
    kind, name, total = EXPECT[board]
    dev = next(d for d in desc if d["device"]["kind"] == kind)
    assert name in dev["device"]["name"]
    for s in dev["sensors"]:
        assert s["source"] and s["scope"] and s["kind"] in ("measured", "estimated", "derived", "spec")
        if s["status"] == "available":
            for r in s.get("readings", []):
                assert r["value"] is not None or r["reason"], s  # never a silent zero / blank
        else:
            assert s["reason"], s
    totals = [s for s in dev["sensors"] if s["total"]]
    if total is None and kind == "jetson":
        assert not totals  # AGX boards have no input rail: no fake total is invented
    elif total is not None:
        assert [s["source"] for s in totals] == [total]
    else:
        assert len(totals) == 1
