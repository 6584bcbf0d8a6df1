"""A worker that crashes, is killed, raises or hangs becomes a failed row; the sweep goes on; a
parent killed mid-sweep leaves valid JSONL and no orphaned worker."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgeprof.devices.cpu import HostCpu, TdpSpec
from edgeprof.engine import events as ev
from edgeprof.models.artifacts import gguf_artifact
from dataclasses import replace

from edgeprof.engine.config import Settings
from edgeprof.engine.fanout import Fanout
from edgeprof.engine.plan import Axes, build_cases
from edgeprof.engine.sweep import Sweep

HERE = Path(__file__).parent
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def art(smollm2_gguf):
    return gguf_artifact(smollm2_gguf)


def _bench(tmp_path, listeners=(), **settings):
    sys.path.insert(0, str(HERE))  # the spawned worker inherits sys.path and finds crash_runtime
    dev = HostCpu.open("/", tdp=TdpSpec(10.0, None, 0.1, "test"))
    s = Settings(**{"reps": 2, "warmup": 0, "min_seconds": 0, "idle_s": 0.2, **settings})
    return Sweep(tmp_path, "test-run", [dev], s, Fanout(list(listeners)))


def _run(bench, cases) -> list[dict]:
    return [r.to_dict() for r in bench.run(cases)]


def _cases(art, modes, **crash):
    cases = []
    for mode in modes:
        a = replace(art, extra={**art.extra, "crash_mode": mode, **crash}) if mode else art
        runtime = "crash_runtime:load" if mode else "llama.cpp"
        c = build_cases([a], Axes(prompt=[8], gen=[6], threads=[1]), device_for=lambda rt, pl: "cpu0", host="h",
                        runtime=runtime)[0]
        cases.append(replace(c, case_id=f"{c.case_id[:10]}-{mode or 'ok'}"))
    return cases


def test_segfault_sigkill_and_exception_become_failed_rows(tmp_path, art):
    bench = _bench(tmp_path)
    recs = _run(bench, _cases(art, ["segfault", None, "sigkill", "raise", None]))
    assert [r["status"] for r in recs] == ["failed", "ok", "failed", "failed", "ok"]
    seg, kill, exc = recs[0]["error"], recs[2]["error"], recs[3]["error"]
    assert seg["signal"] == "SIGSEGV" and seg["phase"] == "decode" and seg["exit_code"] == -11
    assert kill["signal"] == "SIGKILL" and "out of memory" in kill["message"]
    assert exc["kind"] == "memory_error" and exc["phase"] == "decode" and "simulated" in exc["message"]
    assert recs[1]["metrics"]["decode_tokens_per_s"]["value"] > 0
    lines = (tmp_path / "records.jsonl").read_text().splitlines()
    assert [json.loads(x)["status"] for x in lines] == [r["status"] for r in recs]


def test_killed_from_outside_and_timeout(tmp_path, art):
    """A worker SIGKILLed by someone else mid-decode, and one that hangs past --timeout."""
    killed = {}

    def killer(e):
        if isinstance(e, ev.CaseStarted) and not killed:
            killed["pid"] = e.pid
        if isinstance(e, ev.PhaseStarted) and e.name == "decode" and killed.get("pid") and "done" not in killed:
            os.kill(killed["pid"], signal.SIGKILL)
            killed["done"] = True

    bench = _bench(tmp_path, listeners=[killer], timeout_s=20)
    cases = _cases(art, [None, "hang", None])
    t0 = time.monotonic()
    recs = _run(bench, cases)
    assert [r["status"] for r in recs] == ["failed", "failed", "ok"]
    assert recs[0]["error"]["signal"] == "SIGKILL"
    assert recs[1]["error"]["kind"] == "timeout" and "--timeout" in recs[1]["error"]["message"]
    assert time.monotonic() - t0 < 120


def test_partial_repetitions_survive_a_crash(tmp_path, art):
    c = _cases(art, ["segfault"], crash_after=13)  # 5 decode steps per rep: dies in rep 3 (no warm-up)
    bench = _bench(tmp_path, reps=5)
    rec = _run(bench, c)[0]
    assert rec["status"] == "failed" and rec["error"]["partial_reps"] == 2
    assert rec["metrics"]["decode_tokens_per_s"]["n"] == 2  # measured repetitions are kept


def test_records_stay_valid_when_the_parent_is_killed(tmp_path, smollm2_gguf, seeded):
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    out = tmp_path / "run"
    env = dict(os.environ, EDGEPROF_HOME=str(tmp_path / "home"))
    proc = subprocess.Popen([sys.executable, "-m", "edgeprof", "bench", str(smollm2_gguf), "-p", "8,9,10,11,12,13",
                             "-n", "4", "--reps", "1", "--min-seconds", "0", "--idle-seconds", "0.2", "-t", "1",
                             "--out", str(out), "-q"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    rec = out / "records.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (rec.exists() and rec.read_text().count("\n") >= 2):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    records = [json.loads(x) for x in rec.read_text().splitlines()]
    assert 2 <= len(records) < 6 and all(r["status"] == "ok" for r in records)
    time.sleep(1.5)
    import psutil

    orphans = [p for p in psutil.process_iter(["cmdline"]) if "multiprocessing.spawn" in " ".join(p.info["cmdline"] or [])
               and p.ppid() == 1]
    assert not orphans, "a worker outlived its parent"
    # and --resume finishes the rest without repeating what is done
    done = subprocess.run([sys.executable, "-m", "edgeprof", "bench", "--resume", str(out), "-o", "json", "-q"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-1500:]
    final = [json.loads(x) for x in rec.read_text().splitlines()]
    assert len(final) == 6 and len({r["case_id"] for r in final}) == 6
