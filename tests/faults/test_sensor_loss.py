"""A power sensor that disappears in the middle of a real case (the RAPL ``energy_uj`` file of a
fixture tree is removed while llama.cpp runs): its readings are absent from then on, the row
says when it vanished, and energy is partial (with a provenance note) or omitted — never silent,
and the printed legend says so. llama.cpp, the worker, the sampler and the files are real."""
from __future__ import annotations

import csv
import importlib.util
import sys
import threading
import time
from pathlib import Path

import pytest

from edgeprof.engine import events as ev
from edgeprof.engine.config import Settings
from edgeprof.engine.device_choice import bench_device, open_devices
from edgeprof.engine.fanout import Fanout
from edgeprof.engine.plan import Axes, build_cases
from edgeprof.engine.sweep import Sweep
from edgeprof.models.artifacts import gguf_artifact
from edgeprof.results.printers import markdown
from edgeprof.results.schema import Record

pytestmark = pytest.mark.slow
BOARDS = Path(__file__).resolve().parents[1] / "fixtures" / "boards.py"
ZONE = "intel-rapl:0"


def _boards():
    if "fx_boards" not in sys.modules:
        spec = importlib.util.spec_from_file_location("fx_boards", BOARDS)
        mod = importlib.util.module_from_spec(spec)
        sys.modules["fx_boards"] = mod
        spec.loader.exec_module(mod)
    return sys.modules["fx_boards"]


def _run_losing_rapl(tmp_path, gguf, when) -> tuple[dict, Path]:
    """One case on the fixture RAPL tree; ``when(event)`` says at which event package-0's
    energy_uj is removed (the advancing thread removes it and stops writing)."""
    fx = _boards()
    root = fx.build(tmp_path / "root", "rapl-2socket")
    energy = root / "sys/devices/virtual/powercap/intel-rapl" / ZONE / "energy_uj"
    vanish, stop = threading.Event(), threading.Event()

    def advance() -> None:
        t0 = time.monotonic()
        while not stop.wait(0.005):
            if vanish.is_set():
                energy.unlink(missing_ok=True)
                return
            el = time.monotonic() - t0
            fx.set_energy(root, ZONE, int(5_000_000 + 20e6 * el))
            fx.set_energy(root, "intel-rapl:1", int(7_000_000 + 10e6 * el))

    thread = threading.Thread(target=advance, daemon=True)
    thread.start()
    found = open_devices(root)
    fan = Fanout()
    fan.add(lambda e: vanish.set() if when(e) else None)
    case = build_cases([gguf_artifact(gguf)], Axes(prompt=[16], gen=[16], threads=[1]),
                       device_for=lambda rt, pl: bench_device(found, pl).info().id, host="h")
    sweep = Sweep(tmp_path / "run", "t", found, Settings(reps=3, warmup=1, min_seconds=0, idle_s=0.3, sample_hz=50),
                  fan)
    try:
        rec = sweep.run(case)[0].to_dict()
    finally:
        stop.set()
        for d in found:
            d.close()
    return rec, tmp_path / "run" / "samples" / f"{rec['case_id']}.csv"


def _after_loss_cells(samples_csv: Path) -> list[str]:
    rows = list(csv.DictReader(samples_csv.open()))
    col = [r["rapl:package.energy_j"] for r in rows]
    first_gap = next(i for i, v in enumerate(col) if v == "")
    return col[first_gap:]


def test_energy_is_partial_when_the_sensor_vanishes_after_the_first_repetition(tmp_path, smollm2_gguf):
    rec, samples = _run_losing_rapl(tmp_path, smollm2_gguf, lambda e: isinstance(e, ev.PhaseEnded)
                                    and e.name == "repetition" and e.label == "measure" and e.rep == 0)
    assert rec["status"] == "ok", rec["error"]
    warn = [w for w in rec["warnings"] if "vanished" in w]
    assert len(warn) == 1 and "power sensor rapl:package vanished" in warn[0] and "s into the case" in warn[0]
    assert "energy is partial — from 1 of 3 repetitions" in warn[0]
    m = rec["metrics"]["energy_per_token_j"]
    assert m["n"] == 1 and m["provenance"]["kind"] == "measured"
    assert m["provenance"]["note"].endswith("partial: energy from 1 of 3 repetitions, measured before "
                                            "rapl:package vanished")
    assert rec["metrics"]["avg_power_w"]["median"] == pytest.approx(30.0, rel=0.25)  # 20 W + 10 W while it lasted
    assert set(_after_loss_cells(samples)) == {""}, "readings after the loss are absent, never invented"
    legend = markdown([Record.from_dict(rec)])
    assert "measured PARTIAL energy/power — source rapl" in legend and "vanished" in legend


def test_energy_is_omitted_with_the_reason_when_no_repetition_was_whole(tmp_path, smollm2_gguf):
    rec, samples = _run_losing_rapl(tmp_path, smollm2_gguf,
                                    lambda e: isinstance(e, ev.PhaseEnded) and e.name == "load")
    assert rec["status"] == "ok", rec["error"]
    assert not any(k in rec["metrics"] for k in ("energy_gross_j", "energy_per_token_j", "avg_power_w"))
    warn = [w for w in rec["warnings"] if "vanished" in w]
    assert len(warn) == 1 and "energy omitted — no repetition was measured whole before it vanished" in warn[0]
    assert rec["metrics"]["decode_tokens_per_s"]["n"] == 3  # everything else is still measured
    assert set(_after_loss_cells(samples)) == {""}
    assert "energy omitted" in markdown([Record.from_dict(rec)])
