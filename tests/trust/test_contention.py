"""A busy machine says so: the idle baseline under busy cores warns; a case's row and the table
header carry what other processes used; recorded rows from this busy machine read as contended.

The busy load is real: a child process spinning on the CPU (``busy``), not a faked reading."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgeprof.engine import contention
from edgeprof.engine.baseline import measure_idle
from edgeprof.engine.config import Settings
from edgeprof.engine.device_choice import open_devices, power_source
from edgeprof.engine.sampler import Sampler
from edgeprof.results.jsonl import read_records
from edgeprof.results.printers import load_header, machine_cell, markdown

RUNS = Path(__file__).resolve().parents[1] / "fixtures" / "runs"


@pytest.fixture
def busy():
    """A process spinning on one core for the duration of the test (one is enough to exceed the
    contention limit of a fifth of a core, and it leaves the other tenants of a shared box a core)."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"])]
    time.sleep(0.3)  # let them get scheduled
    yield procs
    for p in procs:
        p.kill()
        p.wait()


def test_idle_baseline_on_busy_cores_warns(busy, tmp_path):
    dev = next(d for d in open_devices(Path("/")) if d.info().kind == "cpu")
    with Sampler(dev.sensors(), 20) as sampler:
        b = measure_idle(sampler, power_source(dev), dev.info().id, Settings(idle_s=0.6))
    dev.close()
    assert b["load"]["other_cpu_cores"] > 0.5, b["load"]  # our spinner, measured from /proc/stat
    assert b["warning"] and "idle baseline taken on a busy machine" in b["warning"]
    assert "energy_net_j understates" in b["warning"] and "process_energy_j" in b["warning"]


def test_judging_recorded_windows():
    quiet = {"window_s": 0.5, "busy_fraction": 0.05, "other_cpu_cores": 0.04, "own_cpu_cores": 0.01,
             "steal_fraction": 0.0, "loadavg_1m": 0.2, "logical_cores": 2}
    busy_w = dict(quiet, busy_fraction=1.0, other_cpu_cores=1.68, loadavg_1m=5.25)
    assert contention.baseline_warning(quiet, 1.2) is None
    assert "12.00 W" in contention.baseline_warning(busy_w, 12.0)
    during = contention.without_worker(dict(busy_w, other_cpu_cores=1.9), worker_cpu_s=0.5 * 0.5)
    assert during["worker_cpu_cores"] == pytest.approx(0.5) and during["other_cpu_cores"] == pytest.approx(1.4)
    load = contention.assess(quiet, during)
    assert load["status"] == "contended" and load["before_status"] == "quiet" and load["during_status"] == "contended"
    assert "measured on contended cores" in contention.case_warning(load)
    calm = contention.assess(quiet, contention.without_worker(dict(quiet, other_cpu_cores=0.9), 0.45))
    assert calm["status"] == "quiet" and contention.case_warning(calm) is None  # the worker is not "others"


def test_the_verdict_is_devices_load_judge_on_every_window_shape():
    """contention uses devices.load (no stand-in): the meter reads /proc/stat, and a window written
    without ``logical_cores`` (an older baseline.json) is still judged, on the small-machine limit."""
    from edgeprof.devices.load import LoadMeter, ProcStat

    meter = contention.new_meter()
    assert isinstance(meter, LoadMeter) and isinstance(meter.stat, ProcStat)
    w = meter.between(meter.snapshot(), meter.snapshot())
    assert set(w) >= {"window_s", "busy_fraction", "other_cpu_cores", "steal_fraction", "logical_cores"}
    old = {"window_s": 1.0, "other_cpu_cores": 0.5}
    assert contention.assess(old, None)["status"] == "contended"
    assert "limit 0.20" in contention.assess(old, None)["why"]
    assert contention.assess(dict(old, other_cpu_cores=0.1), None)["status"] == "quiet"


def test_recorded_rows_from_this_busy_machine_say_so():
    recs = read_records(RUNS / "same-A" / "records.jsonl")
    r = recs[0]
    assert r.get("load")["status"] == "contended" and machine_cell(r).startswith("CONTENDED others")
    assert any(w.startswith("measured on contended cores") for w in r.warnings)
    assert any(w.startswith("idle baseline taken on a busy machine") for w in r.warnings)
    head = load_header(recs)
    assert head.startswith("Machine load (2 logical cores): before the run other processes used")
    md = markdown(recs)
    assert md.splitlines()[0] == head and "| machine |" in md and "CONTENDED others" in md
    assert "warning (" in md and "idle baseline taken on a busy machine" in md  # the legend


@pytest.mark.slow
def test_bench_under_a_busy_machine_says_so_in_the_table_and_the_row(busy, smollm2_gguf, tmp_path, seeded):
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    out = tmp_path / "run"
    env = dict(os.environ, EDGEPROF_HOME=str(tmp_path / "home"), EDGEPROF_HISTORY=str(tmp_path / "h.sqlite"))
    proc = subprocess.run([sys.executable, "-m", "edgeprof", "bench", str(smollm2_gguf), "-p", "8", "-n", "4",
                           "--reps", "1", "--warmup", "0", "--min-seconds", "0", "--idle-seconds", "0.3", "-t", "1",
                           "--out", str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = json.loads((out / "records.jsonl").read_text().splitlines()[0])
    assert row["load"]["status"] == "contended" and row["load"]["during"]["other_cpu_cores"] > 0.5
    assert any("measured on contended cores" in w for w in row["warnings"])
    assert "measured on a busy machine" in proc.stdout.splitlines()[0] and "CONTENDED others" in proc.stdout
