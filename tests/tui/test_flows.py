"""Whole flows with real components: ``edgeprof tui`` on a pseudo-terminal (``q`` asks during a
run, ``n`` keeps it, Ctrl-C ends it as bench's does: exit 130, the rows printed, the resume
command); the export page exporting a tiny model for real and "bench these" benching that export,
not the previous pick; a model that needs a download, offline, saying how to supply it."""
from __future__ import annotations

import json
import os
import signal
import sys
import time

import pytest

from tests.exporters.conftest import (converter_cache, download_cache, smollm2_tokenizer_dir,  # noqa: F401
                                      tiny_llama_dir, xdg_cache_home)
from tests.tui.conftest import Terminal, drive, screen_text

pytestmark = pytest.mark.slow


def test_q_asks_during_a_run_and_ctrl_c_ends_it_like_bench(tmp_path, smollm2_gguf, seeded):
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    env = {**os.environ, "EDGEPROF_HOME": str(tmp_path / "home"), "TERM": "xterm-256color",
           "EDGEPROF_HISTORY": str(tmp_path / "home" / "history.sqlite")}
    term = Terminal([sys.executable, "-m", "edgeprof", "tui", str(smollm2_gguf), "-p", "8", "-n", "1024", "--reps",
                     "3", "--min-seconds", "0", "--idle-seconds", "0.2", "-t", "1", "--out", "run"],
                    cwd=tmp_path, env=env)
    try:
        at = term.wait_for("decode ▕".encode(), 120)     # the token bar: a case is decoding
        term.key(b"q")
        at = term.wait_for(b"(case 1/1). Quit?", 30, at)
        term.key(b"n")                                 # keep running: the run goes on, the screen too
        at = term.wait_for(b"elapsed", 30, at + 1)
        assert term.proc.poll() is None
        term.key(b"\x03")                              # Ctrl-C, as a terminal in raw mode sends it
        term.proc.wait(timeout=120)
        stdout = term.proc.stdout.read().decode()
        time.sleep(0.2)                                # the last lines the pty holds
    finally:
        if term.proc.poll() is None:
            term.proc.kill()
        os.close(term.master)
    screen = term.out.decode("utf-8", "replace")
    assert term.proc.returncode == 130
    assert "finish the run with: edgeprof bench --resume" in screen and "interrupted: 0 of 1" in screen
    recs = [json.loads(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert [r["status"] for r in recs] == ["cancelled"]
    assert "cancelled" in stdout and "| model" in stdout          # the rows printed, as bench prints them


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_kill_or_a_closed_terminal_stops_it_like_bench(tmp_path, smollm2_gguf, seeded, sig):
    """``kill PID`` (SIGTERM) or a hang-up (SIGHUP) sent to the TUI alone, mid-case: as bench, the
    running case is recorded as cancelled, the screen is left (the terminal restored: alternate
    screen off) and only then are the rows and the resume command printed; exit 130, no worker
    left behind. It used to die at once: the terminal left raw, the case lost."""
    seeded(tmp_path / "home")
    env = {**os.environ, "EDGEPROF_HOME": str(tmp_path / "home"), "TERM": "xterm-256color",
           "EDGEPROF_HISTORY": str(tmp_path / "home" / "history.sqlite")}
    term = Terminal([sys.executable, "-m", "edgeprof", "tui", str(smollm2_gguf), "-p", "8", "-n", "1024", "--reps",
                     "3", "--min-seconds", "0", "--idle-seconds", "0.2", "-t", "1", "--out", "run", "-o", "json"],
                    cwd=tmp_path, env=env, session=True)
    try:
        term.wait_for("decode ▕".encode(), 180)         # the token bar: a case is decoding in its worker
    finally:
        stdout, screen, left = term.stop_with(sig)
    assert term.proc.returncode == 130, screen[-2000:]
    assert "Traceback" not in screen
    restored = screen.rfind("\x1b[?1049l")                # Textual leaves the alternate screen
    said = screen.find("finish the run with: edgeprof bench --resume")
    assert 0 <= restored < said and "interrupted: 0 of 1" in screen[restored:], screen[-2000:]
    recs = [json.loads(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert [r["status"] for r in recs] == ["cancelled"]
    assert [r["status"] for r in json.loads(stdout)] == ["cancelled"]    # the rows printed, as bench prints them
    assert left == [], f"still running after the TUI exited: {left}"


def test_bench_these_benches_the_export_just_made(quiet_home, monkeypatch, tiny_llama_dir, converter_cache,
                                                   xdg_cache_home):
    """Export a tiny model to gguf f16 from the page (quality off), export it again without and
    then with the overwrite tick; "bench these" picks that export alone (not the default model
    the form had ticked) and the run started from the form benches its artifact."""
    from textual.widgets import Input

    from edgeprof.engine.config import BenchOptions
    from edgeprof.models.exporting import converter_cache as home_converter
    from edgeprof.views.tui import homeform
    from edgeprof.views.tui.app import EdgeprofApp

    monkeypatch.setenv("XDG_CACHE_HOME", str(xdg_cache_home))
    extracted = home_converter()
    extracted.parent.mkdir(parents=True)
    extracted.symlink_to(converter_cache)                  # this home's copy of the converter, not re-extracted
    out_dir = quiet_home / "my-export"
    base = BenchOptions(prompt=[8], gen=[8], reps=1, warmup=0, min_seconds=0.0, idle_seconds=0.2, threads=[1])
    app = EdgeprofApp(sets=[], home_defaults=homeform.defaults_from(base))
    out = {}

    async def until(pilot, cond, timeout_s):
        t0 = time.monotonic()
        while not cond():
            assert time.monotonic() - t0 < timeout_s, screen_text(app)
            await pilot.pause(0.1)
            app.tick()

    async def export(pilot, screen):
        await pilot.press("ctrl+r")
        await pilot.pause(0.2)
        await until(pilot, lambda: not screen.busy, 300)
        app.tick()
        await pilot.pause()

    async def steps(pilot, app):
        await until(pilot, lambda: bool(app.screen.choices), 30)
        out["first_pick"] = [app.screen.choices[i].arg for i in app.screen.query_one("#models").selected]
        await pilot.press("e")
        await until(pilot, lambda: type(app.screen).__name__ == "ExportScreen", 10)
        screen = app.screen
        screen.query_one("#source", Input).value = str(tiny_llama_dir)
        screen.query_one("#out", Input).value = str(out_dir)
        screen.query_one("#quality").value = False
        schemes = screen.query_one("#schemes")
        schemes.deselect_all()
        schemes.select("gguf:f16")
        await export(pilot, screen)
        out["made"] = (screen.error, dict(screen.steps), screen_text(app))
        await export(pilot, screen)                        # again: the directory exists
        out["again"] = screen.error
        screen.query_one("#overwrite").value = True
        await export(pilot, screen)
        out["overwritten"] = (screen.error, screen.manifest is not None)
        app.set_focus(None)
        await pilot.press("b")
        await until(pilot, lambda: type(app.screen).__name__ == "HomeScreen" and app.pending_pick is None, 30)
        await pilot.pause(0.2)
        home = app.screen
        out["picked"] = [c.arg for c in home.picked()]
        await pilot.press("ctrl+r")
        await until(pilot, lambda: app.current is not None and app.current.state.case is not None, 120)
        out["case"] = app.current.state.case
        out["paths"] = [str(c.artifact.path) for c in app.current.session.cases]
        await pilot.press("x")
        await until(pilot, lambda: app.current.stage in ("done", "failed"), 120)

    drive(app, steps, size=(120, 36))
    error, steps_seen, text = out["made"]
    assert error is None and (out_dir / "manifest.json").is_file(), error
    assert steps_seen["prepare"].status == "done" and all(s.status in ("done", "skipped", "info")
                                                           for s in steps_seen.values()), steps_seen
    assert "prepare" in text and "started" not in text, text
    assert "already exists" in out["again"] and "tick 'overwrite an existing export directory'" in out["again"]
    assert out["overwritten"] == (None, True)
    assert out["first_pick"] == ["smollm2-135m-instruct"]
    assert out["picked"] == [str(out_dir)]
    case = out["case"]
    assert case.model.get("id") == tiny_llama_dir.name and case.artifact.get("quant") == "f16", (case.model, case.artifact)
    assert out["paths"] and all(p.startswith(str(out_dir)) for p in out["paths"]), out["paths"]


def test_offline_a_download_says_how_to_supply_the_file(quiet_home, monkeypatch):
    """A hub model with the hub unreachable (a closed local port): the form says the download
    failed, and the file to get, its size, where it is published and the path field."""
    import socket

    from textual.widgets import SelectionList

    from edgeprof.views.tui.app import EdgeprofApp

    with socket.socket() as s:                           # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    out = {}

    async def steps(pilot, app):
        for _ in range(200):
            await pilot.pause(0.05)
            if app.screen.choices:
                break
        lst = app.screen.query_one("#models", SelectionList)
        lst.deselect_all()
        lst.select([c.arg for c in app.screen.choices].index("llama-3.2-1b-instruct-q4_k_m"))
        await pilot.press("ctrl+r")
        for _ in range(600):
            await pilot.pause(0.05)
            app.tick()
            if app.current is not None and app.current.stage == "failed":
                break
        await pilot.pause(0.1)
        app.tick()
        await pilot.pause(0.1)
        out["text"] = str(app.screen.query_one("#status").render())

    drive(EdgeprofApp(sets=[]), steps, size=(120, 36))
    text = out["text"]
    assert "could not start" in text and "could not reach" in text, text
    assert "Llama-3.2-1B-Instruct-Q4_K_M.gguf" in text and "0.81 GB" in text and "sha256" in text
    assert "huggingface.co/bartowski/Llama-3.2-1B-Instruct-GGUF" in text and "path field" in text
