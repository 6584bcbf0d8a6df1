"""``bench --host`` against real sshd boards started by the test (services.py): live events over the
SSH channel, the run copied back and tagged, a model sent once and never again, an unknown or
changed host key refused, a model path full of shell metacharacters benched (not executed), and
paths coming back from a board kept inside the run directory."""
from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path, PurePosixPath

import pytest
import services
from services import cli, laptop_env

from edgeprof.engine import events as ev
from edgeprof.engine.fanout import Fanout
from edgeprof.fleet import transfer
from edgeprof.fleet.remote import BoardSpec, RemoteRun
from edgeprof.fleet.ssh import SshOptions, Target

TINY = ["-p", "8", "-n", "8", "--reps", "2", "--warmup", "0", "--min-seconds", "0", "--idle-seconds", "0.2", "-t", "1"]


def test_a_remote_bench_streams_live_events_and_copies_the_run(shelf, tmp_path, smollm2_gguf, home):
    laptop, (a, _) = shelf
    ssh = SshOptions(identity=(str(laptop / ".ssh" / "id_ed25519"),), known_hosts=str(laptop / ".ssh" / "known_hosts"))
    seen: list[tuple[float, ev.Event]] = []
    fan = Fanout([lambda e: seen.append((time.monotonic(), e))])
    out = tmp_path / "run"
    # 48 tokens: a decode long enough for the worker's token progress (every 250 ms) on most machines
    argv = [*TINY[:2], "-n", "48", *TINY[4:]]
    run = RemoteRun(BoardSpec("a", Target.parse(a.target), ssh), out, argv=argv, models=[str(smollm2_gguf)],
                    fanout=fan, samples=True)
    ended = asyncio.run(run.run())
    assert ended.state == "done" and ended.exit_code == 0, ended
    kinds = [type(e).__name__ for _, e in seen]
    for k in ("RunStarted", "CaseScheduled", "CaseStarted", "Loaded", "PhaseStarted", "SampleEvent", "CaseFinished",
              "RunFinished"):
        assert k in kinds, (k, sorted(set(kinds)))
    # live: sensor samples arrived while the case ran, before its record
    first_sample = kinds.index("SampleEvent")
    finished = next(i for i, (_, e) in enumerate(seen) if isinstance(e, ev.CaseFinished) and e.record is not None)
    assert first_sample < finished
    # and token progress, wherever a decode lasted past the worker's progress period (a fast machine
    # decodes 47 tokens of a 135M model in less: then no progress event is due, none is asserted)
    from edgeprof.engine.worker import PROGRESS_PERIOD_NS

    starts = {(e.case_id, e.rep): e.t_ns for _, e in seen if isinstance(e, ev.PhaseStarted) and e.name == "decode"}
    long = [k for _, e in seen if isinstance(e, ev.PhaseEnded) and e.name == "decode"
            and (k := (e.case_id, e.rep)) in starts and e.t_ns - starts[k] > 2 * PROGRESS_PERIOD_NS]
    if long:
        assert "TokenProgress" in kinds and kinds.index("TokenProgress") < finished, sorted(set(kinds))
    started = next(e for _, e in seen if isinstance(e, ev.RunStarted))
    assert started.run_dir == str(out)   # the views see the local copy, not the board's path
    # the copied run: every file of a run directory, the board's bytes, tagged with the board
    for name in ("plan.json", "env.json", "baseline.json", "records.jsonl", "remote.json"):
        assert (out / name).is_file(), name
    remote_dir = Path(json.loads((out / "remote.json").read_text())["remote_dir"])
    case = json.loads((out / "records.jsonl").read_text())["case_id"]
    assert (out / "samples" / f"{case}.csv").read_bytes() == (remote_dir / "samples" / f"{case}.csv").read_bytes()
    rec = json.loads((out / "records.jsonl").read_text())
    assert rec["status"] == "ok" and rec["metrics"]["decode_tokens_per_s"]["value"] > 0
    assert rec["board"]["name"] == "a" and rec["board"]["target"] == a.target and rec["board"]["machine_id"]
    assert rec["artifact"]["path"].startswith(str(a.edgeprof_home / "models" / "by-sha256"))
    info = json.loads((out / "remote.json").read_text())
    assert info["state"] == "done" and info["board"]["edgeprof"] and info["board"]["kind"] == "cpu"
    # the model was sent once; a second bench finds it by sha256 and size and sends nothing
    notices = [e.message for _, e in seen if isinstance(e, ev.RunNotice)]
    assert any(m.startswith("sending SmolLM2") for m in notices)
    seen.clear()
    again = RemoteRun(BoardSpec("a", Target.parse(a.target), ssh), tmp_path / "run2", argv=TINY,
                      models=[str(smollm2_gguf)], fanout=fan)
    assert asyncio.run(again.run()).state == "done"
    assert not any(isinstance(e, ev.RunNotice) and e.message.startswith("sending") for _, e in seen)
    staged = list((a.edgeprof_home / "models" / "by-sha256").rglob("*"))
    assert not [p for p in staged if p.name.endswith(".part")]


def test_bench_host_from_the_command_line_with_shell_metacharacters_in_the_model_path(shelf, tmp_path,
                                                                                       smollm2_gguf, home):
    """The name travels as one argv element inside JSON: it is benched, never executed."""
    laptop, (_, b) = shelf
    weird = tmp_path / "models" / "a b'c\"d;$(touch PWNED)`touch PWNED2`\nx & y | z.gguf"
    weird.parent.mkdir()
    os.link(smollm2_gguf, weird)
    out = tmp_path / "run"
    res = cli("bench", "--host", b.target, str(weird), *TINY, "--out", str(out), "-o", "json",
              env=laptop_env(laptop, home), cwd=tmp_path)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-3000:]
    rows = json.loads(res.stdout)
    assert len(rows) == 1 and rows[0]["status"] == "ok"
    assert rows[0]["artifact"]["path"].endswith("a b'c\"d;$(touch PWNED)`touch PWNED2`\nx & y | z.gguf")
    for where in (b.home, b.edgeprof_home, b.dir, tmp_path, laptop):
        assert not list(where.rglob("PWNED*")), where
    # the run is indexed with where it was measured
    listed = json.loads(cli("history", "-o", "json", env=laptop_env(laptop, home)).stdout)
    assert [r["origin"] for r in listed] == [b.target]


def test_an_unknown_or_changed_host_key_is_refused(shelf, tmp_path, smollm2_gguf, home):
    laptop, (a, b) = shelf
    env = laptop_env(laptop, home)
    kh = laptop / ".ssh" / "known_hosts"
    saved = kh.read_text()
    try:
        kh.write_text(b.known_hosts_line())           # a is unknown
        res = cli("bench", "--host", a.target, str(smollm2_gguf), *TINY, "--out", str(tmp_path / "r1"), env=env)
        assert res.returncode == 2 and "unknown host key (SHA256:" in res.stderr and "--accept-new-host-key" in \
            res.stderr, res.stderr
        assert "Traceback" not in res.stderr and not (tmp_path / "r1").exists()
        # a key that CHANGED is refused even with --accept-new-host-key (b's key written for a's port)
        kh.write_text(b.known_hosts_line().replace(str(b.port), str(a.port)))
        res = cli("bench", "--host", a.target, "--accept-new-host-key", str(smollm2_gguf), *TINY, "--out",
                  str(tmp_path / "r2"), env=env)
        assert res.returncode == 2 and "host key CHANGED" in res.stderr and "ssh-keygen -R" in res.stderr, res.stderr
        assert not (tmp_path / "r2").exists()
        # an unknown key with --accept-new-host-key: recorded in known_hosts, then benched
        kh.write_text(b.known_hosts_line())
        res = cli("bench", "--host", a.target, "--accept-new-host-key", str(smollm2_gguf), *TINY, "--out",
                  str(tmp_path / "r3"), "-q", env=env)
        assert res.returncode == 0, res.stderr[-2000:]
        assert a.known_hosts_line().split()[2] in kh.read_text()
        # 'fleet status' is where a new user meets the unknown key first: it takes the flag too
        kh.write_text(b.known_hosts_line())
        fleet = tmp_path / "FLEET.toml"
        fleet.write_text(f'[[host]]\nname = "a"\ntarget = "{a.target}"\n')
        res = cli("fleet", "status", str(fleet), env=env)
        assert res.returncode == 1 and "--accept-new-host-key" in res.stdout, res.stdout
        res = cli("fleet", "status", str(fleet), "--accept-new-host-key", "-o", "json", env=env)
        assert res.returncode == 0 and json.loads(res.stdout)[0]["state"] == "ok", res.stdout + res.stderr
        assert a.known_hosts_line().split()[2] in kh.read_text()
    finally:
        kh.write_text(saved)


def test_a_missing_edgeprof_or_a_closed_port_is_one_line(shelf, tmp_path, home):
    laptop, (a, _) = shelf
    env = laptop_env(laptop, home)
    res = cli("bench", "--host", f"root@127.0.0.1:{services.free_port()}", "-p", "8", "--out", str(tmp_path / "r"),
              env=env)
    assert res.returncode == 1 and "cannot connect" in res.stderr and "Traceback" not in res.stderr, res.stderr
    fleet = tmp_path / "FLEET.toml"
    fleet.write_text(f'[[host]]\nname = "a"\ntarget = "{a.target}"\ncommand = ["edgeprof-not-here"]\n')
    res = cli("fleet", "status", str(fleet), env=env)
    assert res.returncode == 1 and "edgeprof is not installed on the board" in res.stdout, res.stdout
    assert "pip install" in res.stdout


@pytest.mark.parametrize("bad", ["../escape.csv", "/etc/passwd", "samples/../../x.csv", "samples/a/b.csv",
                                 "samples/.hidden", "other.json", "samples\\..\\x.csv", "records.jsonl\x00x"])
def test_paths_from_a_board_are_untrusted(bad):
    with pytest.raises(transfer.UntrustedPath):
        transfer.safe_relpath(bad)


def test_a_link_planted_in_the_run_directory_is_never_followed(tmp_path):
    run, outside = tmp_path / "run", tmp_path / "outside"
    run.mkdir()
    outside.mkdir()
    (run / "samples").symlink_to(outside)
    with pytest.raises(transfer.UntrustedPath, match="is a link"):
        transfer.write_into(run, PurePosixPath("samples/x.csv"), b"t_ns\n")
    (run / "samples").unlink()
    (run / "env.json").symlink_to(outside / "victim")
    transfer.write_into(run, transfer.safe_relpath("env.json"), b"{}")
    assert not (outside / "victim").exists() and (run / "env.json").read_bytes() == b"{}"
    assert not (run / "env.json").is_symlink()


def test_ctrl_c_stops_a_remote_bench_cleanly_and_resume_finishes_it_on_its_board(shelf, tmp_path, smollm2_gguf,
                                                                                   home):
    import signal
    import subprocess
    import sys
    import time

    laptop, (a, _) = shelf
    if a.proc is None:
        a.start()
    env = laptop_env(laptop, home)
    out = tmp_path / "run"
    argv = ["-p", "8", "-n", "4,8,12", "--reps", "3", "--warmup", "0", "--min-seconds", "0", "--idle-seconds", "0.2",
            "-t", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "edgeprof", "bench", "--host", a.target, str(smollm2_gguf), *argv,
                             "--out", str(out), "-o", "json"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            # Ctrl-C's default action, as from a terminal: a suite run in a background
                            # shell job inherits SIGINT ignored, which edgeprof keeps ignored (nohup)
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    records = out / "records.jsonl"
    try:
        end = time.monotonic() + 240
        while not (records.is_file() and records.read_text().count("\n") >= 1) and time.monotonic() < end:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "Traceback" not in stderr, stderr[-3000:]
    assert f"edgeprof bench --resume {out}" in stderr
    rows = json.loads(stdout)
    statuses = [r["status"] for r in rows]
    assert statuses in (["ok"], ["ok", "cancelled"]), statuses    # the running case (if any) recorded as cancelled
    # the board stopped too: no process of this run is left there
    end = time.monotonic() + 10
    while a.session_pids() and time.monotonic() < end:
        time.sleep(0.1)
    assert not a.session_pids()
    res = cli("bench", "--resume", str(out), "-o", "json", env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    final = json.loads(res.stdout)
    assert [r["status"] for r in final] == ["ok"] * 3
    assert sorted(r["workload"]["gen_tokens"] for r in final) == [4, 8, 12]
    assert len({r["case_id"] for r in final}) == 3 == len(records.read_text().splitlines())


def test_an_event_line_longer_than_the_ssh_window_arrives_whole(shelf):
    """asyncssh's readline returns part of a line longer than the channel's 2 MiB window; a record
    of thousands of repetitions (a tiny ONNX model's case) is such a line and was cut in two."""
    import shlex
    import sys

    from edgeprof.fleet.ssh import AgentChannel, connect

    laptop, (a, _) = shelf
    if a.proc is None:
        a.start()
    ssh = SshOptions(identity=(str(laptop / ".ssh" / "id_ed25519"),), known_hosts=str(laptop / ".ssh" / "known_hosts"))
    code = ("import sys; from edgeprof.engine import events as ev; from edgeprof.fleet.protocol import encode; "
            "[sys.stdout.buffer.write(encode(ev.RunNotice(t_ns=i, message=str(i) * 5_000_000))) for i in range(1, 3)]")

    async def go() -> list:
        async with await connect(Target.parse(a.target), ssh) as conn:
            proc = await conn.create_process(shlex.join([sys.executable, "-c", code]), encoding=None)
            chan = AgentChannel(proc, "python")
            return [x async for x in chan.lines()]
    got = asyncio.run(go())
    assert [(type(e).__name__, e.t_ns, len(e.message), set(e.message)) for e in got] == \
        [("RunNotice", 1, 5_000_000, {"1"}), ("RunNotice", 2, 5_000_000, {"2"})]
