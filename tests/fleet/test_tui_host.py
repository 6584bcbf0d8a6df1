"""A run started from the TUI on a board over SSH, against real sshd boards started by the test
(services.py): from the new-run screen's host field (Textual pilot) the board's events stream into
the same live screen as a local run's (its case, live tokens/s, power readings, the finished row)
and the run is copied into the local run directory, tagged with the board; ``edgeprof tui --host``
on a pseudo-terminal runs on the board from the command line, and SIGTERM mid-case stops it as
``bench --host``'s Ctrl-C does (the board's running case cancelled and copied, the resume command,
exit 130, nothing left running here or on the board)."""
from __future__ import annotations

import json
import signal
import sys
import time

from services import laptop_env

from tests.tui.conftest import Terminal, drive, screen_text, until


def test_the_host_field_runs_on_the_board_into_the_same_live_screen(shelf, tmp_path, smollm2_gguf, home,
                                                                       monkeypatch):
    from textual.widgets import Input, SelectionList

    from edgeprof.engine.config import BenchOptions
    from edgeprof.fleet.ssh import SshOptions
    from edgeprof.views.tui import homeform
    from edgeprof.views.tui.app import EdgeprofApp

    laptop, (a, _) = shelf
    if a.proc is None:
        a.start()
    monkeypatch.chdir(tmp_path)                       # the form's run goes to ./edgeprof-runs/<time>
    base = BenchOptions(prompt=[8], gen=[8], reps=2, warmup=0, min_seconds=0.0, idle_seconds=0.2, threads=[1])
    ssh = SshOptions(identity=(str(laptop / ".ssh" / "id_ed25519"),), known_hosts=str(laptop / ".ssh" / "known_hosts"))
    app = EdgeprofApp(sets=[], home_defaults=homeform.defaults_from(base), ssh=ssh)
    seen: dict = {"tps": [], "readings": 0}

    def watch() -> bool:
        st = app.current.state
        if st.case is not None and st.case.live_tps:
            seen["tps"].append(st.case.live_tps)
            seen.setdefault("case_screen", screen_text(app))
        seen["readings"] = max(seen["readings"], len(st.readings))
        return app.current.stage in ("done", "failed")

    async def steps(pilot, app):
        await until(pilot, app, lambda: app.screen.choices, what="the model list")
        app.screen.query_one("#models", SelectionList).deselect_all()
        app.screen.query_one("#path", Input).value = str(smollm2_gguf)      # a local file: sent to the board
        app.screen.query_one("#host", Input).value = a.target
        await until(pilot, app, lambda: f"on {a.target}, over SSH" in screen_text(app), 30, "the host's device line")
        await pilot.press("ctrl+r")
        await until(pilot, app, lambda: app.current is not None and type(app.screen).__name__ == "LiveScreen",
                    240, "the live screen")
        seen["kind"] = type(app.current).__name__
        await until(pilot, app, watch, 300, "the run on the board")
        await pilot.pause(0.2)
        app.tick()
        await pilot.pause(0.1)
        seen["end"] = screen_text(app)

    drive(app, steps, size=(160, 48))
    run = app.current
    assert seen["kind"] == "HostRun" and run.stage == "done" and run.ended.state == "done", (run.stage, run.error)
    assert seen["tps"] and seen["readings"] > 0, seen          # live: tokens/s and sensor readings while it ran
    assert "case 1/1" in seen["case_screen"] and "p8 n8" in seen["case_screen"], seen["case_screen"]
    assert "ok" in seen["end"] and "smollm2" in seen["end"], seen["end"]
    (run_dir,) = list((tmp_path / "edgeprof-runs").iterdir())
    assert run_dir.resolve() == run.run_dir.resolve()
    recs = [json.loads(x) for x in (run_dir / "records.jsonl").read_text().splitlines()]
    assert [r["status"] for r in recs] == ["ok"] and recs[0]["board"]["target"] == a.target
    assert recs[0]["artifact"]["path"].startswith(str(a.edgeprof_home))      # measured there, not here
    assert json.loads((run_dir / "remote.json").read_text())["state"] == "done"
    assert (run_dir / "plan.json").is_file() and (run_dir / "env.json").is_file()


def test_tui_host_on_a_terminal_and_sigterm_stops_the_board_cleanly(shelf, tmp_path, smollm2_gguf, home):
    laptop, (_, b) = shelf
    if b.proc is None:
        b.start()
    env = {**laptop_env(laptop, home), "TERM": "xterm-256color"}
    term = Terminal([sys.executable, "-m", "edgeprof", "tui", "--host", b.target, str(smollm2_gguf), "-p", "8", "-n",
                     "1024", "--reps", "3", "--warmup", "0", "--min-seconds", "0", "--idle-seconds", "0.2", "-t", "1",
                     "--out", "run", "-o", "json"], cwd=tmp_path, env=env, session=True)
    try:
        term.wait_for("decode ▕".encode(), 240)         # the board's case decoding, on this screen
    finally:
        stdout, screen, left = term.stop_with(signal.SIGTERM)
    assert term.proc.returncode == 130 and "Traceback" not in screen, screen[-3000:]
    restored = screen.rfind("\x1b[?1049l")
    said = screen.find("finish the run with: edgeprof bench --resume run")   # bench --host's line, once restored
    assert 0 <= restored < said, screen[-3000:]
    recs = [json.loads(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert [r["status"] for r in recs] == ["cancelled"] and recs[0]["board"]["target"] == b.target
    assert [r["status"] for r in json.loads(stdout)] == ["cancelled"]
    assert left == [], f"still running here after the TUI exited: {left}"
    end = time.monotonic() + 15
    while b.session_pids() and time.monotonic() < end:
        time.sleep(0.1)
    assert not b.session_pids(), "the board still runs the cancelled bench"
