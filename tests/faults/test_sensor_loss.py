"""A power sensor that disappears in the middle of a real case (the RAPL ``energy_uj`` file of a
fixture tree is removed while llama.cpp runs): its readings are absent from then on, the row
says when it vanished, and energy is partial (with a provenance note) or omitted — never silent,
and the printed legend says so. llama.cpp, the worker, the sampler and the files are real."""
from __future__ import annotations

import csv
import threading
import time
from pathlib import Path

import fx_boards as fx
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
ZONE = "intel-rapl:0"


def _run_losing_rapl(tmp_path, gguf, when) -> tuple[dict, Path, int]:
    """One case on the fixture RAPL tree; ``when(event)`` says at which event package-0's
    energy_uj is removed (the advancing thread removes it and stops writing). Returns the record,
    its samples CSV and the monotonic time (ns) at which the file was gone."""
    root = fx.build(tmp_path / "root", "rapl-2socket")
    energy = root / "sys/devices/virtual/powercap/intel-rapl" / ZONE / "energy_uj"
    vanish, stop = threading.Event(), threading.Event()
    gone_ns: list[int] = []

    def advance() -> None:
        t0 = time.monotonic()
        while not stop.wait(0.005):
            if vanish.is_set():
                energy.unlink(missing_ok=True)
                gone_ns.append(time.monotonic_ns())
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
    assert gone_ns, "the sensor was never removed"
    return rec, tmp_path / "run" / "samples" / f"{rec['case_id']}.csv", gone_ns[0]


def _after_loss_cells(samples_csv: Path, gone_ns: int) -> list[str]:
    """The package-energy cells of the samples read after the file was gone. A blank cell before
    that is no loss: each sensor is read on its own period, so a tick that only the worker's
    process tree was due at (after an overrun on a busy machine) leaves the RAPL cells blank —
    which is why the loss is located by the time of the removal, never by the first blank."""
    rows = list(csv.DictReader(samples_csv.open()))
    col = "rapl:package.energy_j"
    assert any(r[col] != "" for r in rows if int(r["t_ns"]) < gone_ns), "measured before the loss"
    after = [r[col] for r in rows if int(r["t_ns"]) > gone_ns]
    assert after, "the sampler went on reading after the loss"
    return after


def test_energy_is_partial_when_the_sensor_vanishes_mid_case(tmp_path, smollm2_gguf):
    """Removed when the second repetition ends: the first is surely measured whole (50 Hz
    samples span it), the second may be (a race with the removal), the third cannot be."""
    rec, samples, gone_ns = _run_losing_rapl(tmp_path, smollm2_gguf, lambda e: isinstance(e, ev.PhaseEnded)
                                    and e.name == "repetition" and e.label == "measure" and e.rep == 1)
    assert rec["status"] == "ok", rec["error"]
    m = rec["metrics"]["energy_per_token_j"]
    assert m["n"] in (1, 2) and m["provenance"]["kind"] == "measured"
    warn = [w for w in rec["warnings"] if "vanished" in w]
    assert len(warn) == 1 and "power sensor rapl:package vanished" in warn[0] and "s into the case" in warn[0]
    assert f"energy is partial — from {m['n']} of 3 repetitions" in warn[0]
    assert m["provenance"]["note"].endswith(f"partial: energy from {m['n']} of 3 repetitions, measured before "
                                            "rapl:package vanished")
    assert rec["metrics"]["avg_power_w"]["median"] == pytest.approx(30.0, rel=0.25)  # 20 W + 10 W while it lasted
    assert set(_after_loss_cells(samples, gone_ns)) == {""}, "readings after the loss are absent, never invented"
    legend = markdown([Record.from_dict(rec)])
    assert "measured PARTIAL energy/power — source rapl" in legend and "vanished" in legend


def test_energy_is_omitted_with_the_reason_when_no_repetition_was_whole(tmp_path, smollm2_gguf):
    rec, samples, gone_ns = _run_losing_rapl(tmp_path, smollm2_gguf,
                                             lambda e: isinstance(e, ev.PhaseEnded) and e.name == "load")
    assert rec["status"] == "ok", rec["error"]
    assert not any(k in rec["metrics"] for k in ("energy_gross_j", "energy_per_token_j", "avg_power_w"))
    warn = [w for w in rec["warnings"] if "vanished" in w]
    assert len(warn) == 1 and "energy omitted — no repetition was measured whole before it vanished" in warn[0]
    assert rec["metrics"]["decode_tokens_per_s"]["n"] == 3  # everything else is still measured
    assert set(_after_loss_cells(samples, gone_ns)) == {""}
    assert "energy omitted" in markdown([Record.from_dict(rec)])


def _trace(values: list[float | None]):
    """A pure trace: one reading of an energy counter every 0.1 s, and 3 repetitions of 0.25 s."""
    from edgeprof.devices.base import Reading
    from edgeprof.analysis.metrics import PowerSource, Trace
    from edgeprof.engine.sampler import Sample
    from edgeprof.results.schema import Provenance, Repetition

    s = [Sample(i * 100_000_000, (Reading("rapl:package", "energy_j", v, i * 100_000_000, "rapl", "cpu_package",
                                          reason=None if v is not None else "FileNotFoundError: energy_uj"),))
         for i, v in enumerate(values)]
    reps = [Repetition(rep=i, label="measure", prefill=(t, t + 50_000_000), n_prefill=8,
                       decode=(t + 50_000_000, t + 250_000_000), n_decode=7, n_generated=8)
            for i, t in enumerate((100_000_000, 400_000_000, 700_000_000))]
    power = PowerSource("rapl:package", "energy_j", Provenance("measured", "rapl", "cpu_package"))
    return Trace(reps=reps, samples=s, power=power, sample_hz=10, t0_ns=0)


def test_a_sensor_gone_before_the_case_is_omitted_with_the_reason():
    from edgeprof.analysis.metrics import energy_metrics

    tr = _trace([None] * 11)
    assert "energy_gross_j" not in energy_metrics(tr)
    assert tr.warnings == ["power sensor rapl:package gave no reading that covers a repetition "
                           "(FileNotFoundError: energy_uj); energy omitted"]


def test_a_sensor_that_comes_back_is_not_interpolated_across_its_gap():
    from edgeprof.analysis.metrics import energy_metrics

    tr = _trace([0.0, 1.0, 2.0, 3.0, 4.0, None, None, 7.0, 8.0, 9.0, 10.0])  # 10 W, missing 0.5-0.7 s
    m = energy_metrics(tr)
    assert m["energy_gross_j"].n == 2  # rep 2 (0.4-0.65 s) touches the gap: not invented
    assert m["avg_power_w"].median == pytest.approx(10.0)
    assert "vanished 0.5 s into the case, back at 0.7 s" in tr.warnings[0]
    assert "partial: energy from 2 of 3 repetitions" in m["energy_gross_j"].provenance.note
