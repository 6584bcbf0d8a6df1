"""Issue 21 item 3: a worker that stops running mid-repetition (SIGSTOP, Ctrl-Z, a paused VM) never
gives a plain ``ok`` row with its stall inside the timings: the repetition is dropped with the
reason, and a case with no repetition left is a ``stalled`` failure."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from faultkit import FAST, ROOT, env

from edgeprof.analysis.stalls import dropped_warnings, screen, stall_reason
from edgeprof.results.schema import Repetition

S = 1_000_000_000


def _rep(i: int, steps_ms: list[float], stalls=None) -> Repetition:
    t0 = 10 * S * (i + 1)
    dec = int(sum(steps_ms) * 1e6)
    return Repetition(rep=i, prefill=(t0, t0 + S // 10), n_prefill=8, decode=(t0 + S // 10, t0 + S // 10 + dec),
                      n_decode=len(steps_ms), n_generated=len(steps_ms) + 1,
                      token_ns=tuple(int(x * 1e6) for x in steps_ms), extra={"stalls": stalls} if stalls else {})


def test_a_heartbeat_hole_or_a_token_gap_drops_the_repetition_with_its_reason():
    clean = _rep(0, [20.0] * 50)
    hole = _rep(1, [20.0] * 49 + [3000.0], stalls=[[21 * S, 24 * S, 0.001]])
    gap = _rep(2, [20.0] * 49 + [3000.0])
    small = _rep(3, [20.0] * 49 + [60.0])   # a slow token, not a stop
    brief = _rep(4, [20.0] * 50, stalls=[[50 * S + S // 5, 50 * S + S // 2, 0.0]])  # 0.5 s: under MIN_STALL_S
    assert stall_reason(clean) is None and stall_reason(small) is None and stall_reason(brief) is None
    assert "did not run for 3.0 s" in stall_reason(hole) and "SIGSTOP" in stall_reason(hole)
    assert "one decode step took 3.0 s, 150x the median step" in stall_reason(gap)
    kept, dropped = screen([clean, hole, gap, small])
    warnings = dropped_warnings(dropped)
    assert [r.rep for r in kept] == [0, 3] and [r.rep for r in dropped] == [1, 2]
    assert all(r.extra["dropped"] for r in dropped) and warnings[0].startswith("repetition 1 dropped")


def test_a_long_repetition_keeps_a_stall_too_small_to_move_it():
    long = _rep(0, [20.0] * 5000, stalls=[[10 * S + S // 5, 11 * S + S // 5, 0.0]])  # 1 s of 100 s
    assert stall_reason(long) is None


def test_the_heartbeat_sees_a_real_sigstop(tmp_path):
    """A busy process with the StallWatch running is stopped for 1.5 s: one hole of about that
    length, during which it used (almost) no CPU."""
    code = ("import json, time; from edgeprof.engine.stallwatch import StallWatch; w = StallWatch().start(); "
            "t0 = time.monotonic_ns(); print('go', flush=True)\n"
            "while time.monotonic_ns() - t0 < 4e9: sum(range(1000))\n"
            "print(json.dumps(w.within(t0, time.monotonic_ns())), flush=True)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.stdout.readline().strip() == "go"
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGSTOP)
    time.sleep(1.5)
    os.kill(proc.pid, signal.SIGCONT)
    holes = json.loads(proc.communicate(timeout=60)[0])
    assert len(holes) == 1
    (a, b, cpu), = holes
    assert 1.3 <= (b - a) / 1e9 <= 3.0 and cpu < 0.2


@pytest.mark.slow
def test_a_stopped_worker_is_a_stalled_row_not_an_ok_one(tmp_path, smollm2_gguf, seeded):
    """SIGSTOP the worker for 3 s inside its only repetition: not ok, kind ``stalled``, the
    repetition kept in the record and marked, no figures made from it."""
    import psutil

    out, home = tmp_path / "run", seeded(tmp_path / "home")
    proc = subprocess.Popen([sys.executable, "-m", "edgeprof", "bench", str(smollm2_gguf), *FAST, "-n", "600",
                             "--out", str(out), "-o", "json"], env=env(home), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline, worker = time.monotonic() + 180, None
    while time.monotonic() < deadline and proc.poll() is None:
        kids = [c for c in psutil.Process(proc.pid).children() if "spawn" in " ".join(c.cmdline())]
        if kids and sum(kids[0].cpu_times()[:2]) > 1.0:  # loaded and decoding (loading costs ~0.3 s)
            worker = kids[0]
            break
        time.sleep(0.05)
    assert worker is not None
    worker.suspend()
    time.sleep(3.0)
    worker.resume()
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr[-2000:]
    (row,) = json.loads(stdout)
    assert row["status"] == "failed" and row["error"]["kind"] == "stalled", row["error"]
    assert "did not run for" in row["error"]["message"] and "--retry-failed" in row["error"]["message"]
    (rep,) = row["reps"]
    assert rep["dropped"] and rep["stalls"] and "decode_tokens_per_s" not in row["metrics"]
