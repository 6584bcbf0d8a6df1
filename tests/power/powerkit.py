"""Shared by the power tests (imported as ``powerkit``; the fixture ``orin`` is in conftest.py).

A Jetson Orin Nano Super fixture tree (tests/fixtures/boards.py) with the nvpmodel and
jetson_clocks stand-ins (tests/fixtures/jetson/standin.py) named under ``[commands]`` in
``$EDGEPROF_HOME/config.toml``, as a user of a fixture root would name them; and ``edgeprof`` run as a
command on it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
REPO = Path(__file__).resolve().parents[2]


sys.path[:0] = [str(FIXTURES), str(FIXTURES / "jetson")]
import boards  # noqa: E402  (tests/fixtures/boards.py)
import standin  # noqa: E402  (tests/fixtures/jetson/standin.py)


def tiny(min_seconds: float = 0) -> list[str]:
    """A tiny case: the figures are not the point here, the settings around them are."""
    return ["-p", "16", "-n", "8", "--reps", "2", "-t", "1", "--warmup", "0", "--min-seconds", str(min_seconds),
            "--idle-seconds", "0.3", "--power-cooldown", "2", "--sample-hz", "10"]


@dataclass
class Board:
    root: Path
    home: Path
    tmp: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "EDGEPROF_SYSROOT": str(self.root), "EDGEPROF_HOME": str(self.home),
                "EDGEPROF_HISTORY": str(self.tmp / "history.sqlite"), "PYTHONPATH": str(REPO)}

    def mode(self) -> str:
        return (self.root / "var/lib/nvpmodel/status").read_text().split()[0]

    def journal(self) -> Path:
        return self.home / "power-journal.json"

    def edgeprof(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "edgeprof", *args], env=self.env(), capture_output=True,
                              text=True, timeout=timeout)

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "edgeprof", *args], env=self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)


def orin_board(tmp: Path, deny: bool = False) -> Board:
    root = boards.build(tmp / "root", "orin-nano-jp6")
    home = tmp / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        "[commands]\n" + "".join(f"{tool} = {json.dumps(standin.argv(root, tool, deny))}\n"
                                 for tool in ("nvpmodel", "jetson_clocks")))
    return Board(root, home, tmp)
