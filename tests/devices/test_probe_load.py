"""A probe you can trust: the load is measured before, during and after; a contended probe is
retried, then recorded as ``contended`` with the load it saw; a peak far under the published one
is flagged. Loads are either stated (an injected meter over a synthetic /proc/stat) or made (a
real busy process)."""
from __future__ import annotations

import subprocess
import sys

import pytest
from fx_boards import proc_stat

from edgeprof.devices import probe as probe_mod
from edgeprof.devices.load import QUIET, LoadMeter, ProcStat

SMALL = dict(array_bytes=1 << 20, matrix_n=64)


class ScriptedStat:
    """/proc/stat whose busy ticks grow by ``others`` CPU-seconds per snapshot pair, on a
    synthetic tree (each read writes the next state, then ProcStat parses it)."""

    def __init__(self, root, others_per_window):
        self.root, self.others, self.n = root, list(others_per_window), 0
        self.busy = 0
        self.stat = ProcStat(root)
        proc_stat(root, 0, 0, 0)

    def read(self):
        if self.n % 2 == 1:       # the end of a window: others ran meanwhile
            self.busy += int(self.others.pop(0) * 100)
        self.n += 1
        proc_stat(self.root, user=self.busy, system=0, idle=1000 * self.n)
        return self.stat.read()


def meter(tmp_path, others):
    clock = iter(range(0, 10**12, 1_000_000_000))      # every snapshot 1 s after the previous
    return LoadMeter(ScriptedStat(tmp_path, others), own=lambda: 0.0, clock=lambda: next(clock),
                     loadavg=lambda: (0.1, 0.1, 0.1), cores=2)


def test_quiet_machine_one_attempt(tmp_path):
    sleeps = []
    r = probe_mod.probe(**SMALL, meter=meter(tmp_path, [0.0] * 3), sleep=sleeps.append)
    assert r["quality"] == QUIET and r["load"]["attempts"] == 1 and sleeps == [0.5, 0.5]   # two load windows
    assert set(r["load"]) >= {"before", "during", "after", "attempts", "max_other_cores"}
    assert r["probe_version"] == 2 and r["measured_at"] and r["bandwidth"]["value"] > 0
    assert probe_mod.probe_label(r) == f"probe {r['measured_at'][:10]} (quiet)"


def test_contended_is_retried_then_recorded_with_the_least_disturbed_attempt(tmp_path):
    sleeps = []
    # three attempts x (before, during, after); others use 1.5, then 0.9, then 1.2 cores during
    others = [1.5, 1.5, 1.5, 0.9, 0.9, 0.9, 1.2, 1.2, 1.2]
    r = probe_mod.probe(**SMALL, retries=2, wait_s=7.0, meter=meter(tmp_path, others), sleep=sleeps.append)
    assert r["quality"] == "contended" and r["load"]["attempts"] == 3
    assert sleeps.count(7.0) == 2                                    # waited between attempts, not after
    assert r["load"]["during"]["other_cpu_cores"] == pytest.approx(0.9)
    assert "other processes used 0.90 cores" in r["quality_note"] and "attempt 2 of 3" in r["quality_note"]
    assert probe_mod.probe_label(r).endswith("(CONTENDED: others 0.90 cores)")


def test_a_real_busy_process_makes_the_probe_contended():
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        r = probe_mod.probe(**SMALL, retries=0, load_window_s=0.3)
    finally:
        spinner.kill()
        spinner.wait()
    assert r["quality"] == "contended", r["load"]
    assert max(r["load"][k]["other_cpu_cores"] for k in ("before", "during", "after")) >= 0.3


def test_old_probes_have_unknown_quality():
    assert probe_mod.probe_label({"measured_at": "2026-11-20T10:00:00+00:00"}) == \
        "probe 2026-11-20 (load not recorded: quality unknown)"


@pytest.mark.parametrize("measured, published, flagged", [(10.0, 25.0, True), (13.0, 25.0, False),
                                                          (30.0, 25.0, False), (None, 25.0, False),
                                                          (10.0, None, False)])
def test_below_spec(measured, published, flagged):
    msg = probe_mod.below_spec(measured, published, "memory bandwidth", "GB/s")
    assert (msg is not None) == flagged
    if flagged:
        assert "2.5x below the published 25 GB/s" in msg
