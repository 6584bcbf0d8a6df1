"""Stopping, damaging and resuming real runs through the real CLI (llama.cpp on the packaged
SmolLM2): a torn record, Ctrl-C to the process group, two resumes at once, a bad model in a list,
--retry-failed, a corrupt plan.json, --max-rss. Each ends with every case exactly once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from faultkit import BAD, FAST, cli, env, once_each, one_line_error, records

pytestmark = pytest.mark.slow


def test_a_torn_record_then_resume_runs_that_case_once(tmp_path, home, smollm2_gguf):
    out = tmp_path / "run"
    first = cli(["bench", smollm2_gguf, *FAST, "-n", "4,5,6", "--out", out, "-q"], home)
    assert first.returncode == 0, first.stderr[-2000:]
    whole = (out / "records.jsonl").read_bytes()
    cut = whole.rstrip(b"\n").rfind(b"\n") + 1 + 700
    (out / "records.jsonl").write_bytes(whole[:cut])  # the third record cut short, as a full disk did
    again = cli(["bench", "--resume", out, "-o", "json"], home)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "resuming" in again.stderr and "1 of 3 case(s) left" in again.stderr
    recs = once_each(out)
    assert [r["workload"]["gen_tokens"] for r in recs] == [4, 5, 6] and all(r["status"] == "ok" for r in recs)
    assert len(json.loads(again.stdout)) == 3
    assert (out / "records.jsonl.torn").read_bytes() == whole[cut - 700:cut] + b"\n"


def _as_from_a_terminal() -> None:
    """Ctrl-C's and a hang-up's default actions in the child, as a shell on a terminal gives them: a
    test run started in the background of a non-interactive shell inherits SIGINT ignored, one under
    nohup SIGHUP, and edgeprof rightly keeps a stop signal its caller ignores ignored (``nohup
    edgeprof bench … &``, tested below by ignoring it on purpose)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def _six_cases_past_the_first(out, home, smollm2_gguf) -> tuple[subprocess.Popen, float]:
    """A six-case bench in its own session, once its first record is written (and its deadline)."""
    proc = subprocess.Popen([sys.executable, "-m", "edgeprof", "bench", str(smollm2_gguf), *FAST,
                             "-n", "4,5,6,7,8,9", "--reps", "2", "--out", str(out)], env=env(home),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_as_from_a_terminal)
    rec = out / "records.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (rec.exists() and rec.read_bytes().count(b"\n") >= 1):
        time.sleep(0.05)
    time.sleep(0.5)
    return proc, deadline


def test_ctrl_c_prints_the_rows_and_the_resume_command_and_a_second_resume_is_refused(tmp_path, home, smollm2_gguf):
    out = tmp_path / "run"
    proc, deadline = _six_cases_past_the_first(out, home, smollm2_gguf)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the parent AND its worker
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr[-2000:]
    assert f"finish the run with: edgeprof bench --resume {out}" in stderr
    done = records(out)
    assert 1 <= len(done) < 6 and done[0]["status"] == "ok"
    assert all(r["status"] in ("ok", "cancelled") for r in done)
    assert stdout.count("| smollm2-135m-instruct |") == len(done)  # the finished rows are printed

    # two resumes at once: the second is refused with the first one's PID, nothing is run twice
    first = subprocess.Popen([sys.executable, "-m", "edgeprof", "bench", "--resume", str(out), "-q"], env=env(home),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = out / ".edgeprof.lock"
    while time.monotonic() < deadline + 60 and not lock.read_text().startswith(f"{first.pid} "):
        time.sleep(0.05)
    second = cli(["bench", "--resume", out], home, timeout=60)
    assert second.returncode == 1
    assert f"is in use by another edgeprof (pid {first.pid}" in one_line_error(second.stderr)
    f_out, f_err = first.communicate(timeout=300)
    assert first.returncode == 0, f_err[-2000:]
    recs = once_each(out)
    assert len(recs) == 6 and all(r["status"] == "ok" for r in recs)


def _in_session(sid: int) -> list[int]:
    """PIDs still alive in session ``sid`` (field 6 of /proc/PID/stat)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_kill_or_a_closed_terminal_stops_like_ctrl_c(tmp_path, home, smollm2_gguf, sig):
    """`kill PID`, a container stop (SIGTERM) or a dropped SSH session (SIGHUP) reach the parent
    alone: it stops its worker, keeps every row, prints them and the resume command, and leaves
    no worker behind; the resume finishes the run."""
    out = tmp_path / "run"
    proc, deadline = _six_cases_past_the_first(out, home, smollm2_gguf)
    os.kill(proc.pid, sig)  # the parent only, as kill(1) and a hang-up do
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr[-2000:]
    assert f"finish the run with: edgeprof bench --resume {out}" in stderr
    done = records(out)
    assert 1 <= len(done) < 6 and all(r["status"] in ("ok", "cancelled") for r in done)
    assert stdout.count("| smollm2-135m-instruct |") == len(done)
    gone = time.monotonic() + 10
    while _in_session(proc.pid) and time.monotonic() < gone:   # a loaded machine reaps late
        time.sleep(0.1)
    assert _in_session(proc.pid) == [], "a worker outlived its parent"
    again = cli(["bench", "--resume", out, "-q"], home)
    assert again.returncode == 0, again.stderr[-2000:]
    assert len(once_each(out)) == 6


def test_nohup_keeps_a_bench_running_through_a_hang_up(tmp_path, home, smollm2_gguf):
    """``nohup edgeprof bench ... &``: a hang-up the caller chose to ignore stays ignored."""
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "edgeprof", "bench", str(smollm2_gguf), *FAST, "-n", "4,5,6",
                             "--out", str(out), "-q"], env=env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    rec = out / "records.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (rec.exists() and rec.read_bytes().count(b"\n") >= 1):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGHUP)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-2000:]
    assert [r["status"] for r in once_each(out)] == ["ok", "ok", "ok"]


def test_a_bad_model_in_a_list_is_its_own_failed_row_and_retry_failed_replaces_it(tmp_path, home, smollm2_gguf):
    out = tmp_path / "run"
    bad = tmp_path / "cut.gguf"
    bad.write_bytes(smollm2_gguf.read_bytes()[:5_000_000])  # a download cut at 5 MB
    first = cli(["bench", smollm2_gguf, bad, *FAST, "-n", "4", "--out", out], home)
    assert first.returncode == 1 and "Traceback" not in first.stderr, first.stderr[-2000:]
    good, failed = records(out)
    assert good["status"] == "ok" and failed["status"] == "failed"
    assert failed["error"]["kind"] == "bad_model" and failed["error"]["phase"] == "preflight"
    assert "truncated GGUF" in failed["error"]["message"] and str(bad) in failed["error"]["message"]
    assert "| failed: " in first.stdout

    nothing = cli(["bench", "--resume", out], home)
    assert nothing.returncode == 1
    assert ("nothing left to run" in nothing.stderr and
            "1 failed or skipped, kept — pass --retry-failed to re-run them" in nothing.stderr)
    retry = cli(["bench", "--resume", out, "--retry-failed"], home)
    assert retry.returncode == 1 and "1 of 2 case(s) left (1 cancelled or failed, re-run and replaced)" in retry.stderr
    recs = once_each(out)
    assert [r["status"] for r in recs] == ["ok", "failed"]
    assert recs[1]["started_at"] != failed["started_at"]  # replaced by the re-run, not appended


def test_only_bad_models_is_bad_usage_and_writes_nothing(tmp_path, home):
    out = tmp_path / "run"
    res = cli(["bench", BAD / "truncated_data.gguf", BAD / "nested_array.gguf", *FAST, "-n", "4", "--out", out], home)
    assert res.returncode == 2 and "truncated GGUF" in one_line_error(res.stderr)
    assert not out.exists()


@pytest.mark.parametrize("plan", ['{"run_id": "x"', "[]", '{"run_id": 1, "cases": 5, "settings": {}}',
                                  '{"run_id": "x", "cases": [{"artifact": 3}], "settings": {}}',
                                  '{"run_id": "x", "cases": [], "settings": {"reps": "many"}}', "\x00\xff" * 40,
                                  "[" * 100000])
def test_a_corrupt_plan_is_one_line(tmp_path, home, plan):
    out = tmp_path / "run"
    out.mkdir()
    (out / "plan.json").write_bytes(plan.encode("latin-1"))
    res = cli(["bench", "--resume", out], home, timeout=60)
    assert res.returncode == 2
    line = one_line_error(res.stderr)
    assert "plan.json" in line and ("start a new run" in line or "--resume" in line)


def test_a_damaged_middle_record_stops_resume_with_the_line(tmp_path, home):
    out = tmp_path / "run"
    out.mkdir()
    (out / "plan.json").write_text('{"run_id": "x", "cases": [], "settings": {}}')
    (out / "records.jsonl").write_text('{"case_id": "a"}\n{"case_id": "b", "stat\n{"case_id": "c"}\n')
    res = cli(["bench", "--resume", out], home, timeout=60)
    assert res.returncode == 2 and "records.jsonl:2: invalid record" in one_line_error(res.stderr)


def test_max_rss_names_the_limit_and_the_peak(tmp_path, home, smollm2_gguf):
    out = tmp_path / "run"
    res = cli(["bench", smollm2_gguf, *FAST, "-n", "64", "--max-rss", "20M", "--out", out], home)
    assert res.returncode == 1
    (r,) = records(out)
    assert r["status"] == "failed" and r["error"]["kind"] == "max_rss"
    assert "over --max-rss 20.0 MiB" in r["error"]["message"] and "peaked at" in r["error"]["message"]


def test_error_kinds_are_readable():
    from edgeprof.engine.worker import _kind
    from edgeprof.runtimes.base import RuntimeError_

    assert _kind(RuntimeError_("x")) == "runtime_error"
    assert _kind(KeyboardInterrupt()) == "keyboard_interrupt"
    assert _kind(MemoryError()) == "memory_error"
    assert _kind(OSError()) == "os_error"



def test_every_front_end_stops_on_ctrl_c_with_the_resume_command(tmp_path):
    """bench, compare --interleave and reference build all end an interrupted session this way."""
    from pathlib import Path

    from edgeprof.engine.config import Settings
    from edgeprof.engine.session import RunSession
    from edgeprof.errors import Interrupted

    s = RunSession(tmp_path / "my run", "r", [], Settings(), [], Path("/"))
    s.check_interrupted([])  # not interrupted: nothing happens
    s.interrupted = True
    with pytest.raises(Interrupted) as exc:
        s.check_interrupted([])
    assert exc.value.exit_code == 130
    assert str(exc.value).endswith(f"finish the run with: edgeprof bench --resume '{tmp_path / 'my run'}'")
