"""Real runs of the default model from the home screen, as a person would drive them: pick,
start, watch the phase, tokens and live tokens/s change, read the final row and the server panel
(an exact reference row); then a second run whose first case is skipped, which pauses before its
third case, resumes, and is cancelled — each written as headless bench writes it."""
from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
from dataclasses import replace

import pytest

from tests.tui.conftest import DATA, screen_text

pytestmark = pytest.mark.slow
HEAVY = ("torch", "onnxruntime", "transformers", "optimum")


@pytest.fixture
def home(tmp_path, monkeypatch, smollm2_gguf, seeded):
    h = seeded(tmp_path / "home")                               # the machine's probe: no 30-90 s probe first
    (h / "models").symlink_to(smollm2_gguf.parents[1])          # the fetched default model, not refetched
    shutil.copytree(DATA / "earlier-run", h / "reference" / "earlier-run")
    monkeypatch.setenv("EDGEPROF_HOME", str(h))
    monkeypatch.setenv("EDGEPROF_HISTORY", str(h / "history.sqlite"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def until(pilot, app, cond, timeout_s: float, seen=None):
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout_s, "timed out waiting on the TUI"
        await pilot.pause(0.1)
        app.tick()
        if seen is not None:
            seen(app)


def test_runs_from_the_home_screen(home):
    from textual.widgets import Input, SelectionList

    from edgeprof.engine.config import BenchOptions
    from edgeprof.views.tui import homeform
    from edgeprof.views.tui.app import EdgeprofApp

    before = set(sys.modules)
    base = BenchOptions(prompt=[32], gen=[64], reps=2, warmup=0, min_seconds=0.0, idle_seconds=0.3, threads=[1])
    app = EdgeprofApp(home_defaults=homeform.defaults_from(base))
    watched = {"phases": set(), "tokens": set(), "live": [], "text": ""}
    out = {}

    def watch(app):
        st = app.current.state if app.current else None
        if st and st.case:
            watched["phases"].add(st.case.phase)
            if st.case.tokens:
                watched["tokens"].add(st.case.tokens[0])
            if st.case.live_tps:
                watched["live"].append(st.case.live_tps)
                watched["text"] = watched["text"] or screen_text(app)

    def case(app, index, phase=None):
        c = app.current.state.case
        return c is not None and c.index == index and (phase is None or c.phase == phase)

    async def steps(pilot):
        await until(pilot, app, lambda: app.sets is not None and app.screen.choices and app.device_hint, 30)
        picked = app.screen.query_one("#models", SelectionList).selected
        assert [app.screen.choices[i].arg for i in picked] == ["smollm2-135m-instruct"]   # the default
        await pilot.press("ctrl+r")
        await until(pilot, app, lambda: app.current.stage == "done", 180, watch)
        await until(pilot, app, lambda: type(app.screen).__name__ == "LiveScreen", 5)
        app.tick()
        await pilot.pause(0.1)
        out["run1"] = screen_text(app)
        out["panel"] = app.screen.query_one("ServerPanel").border_title
        # run 2: three cases; skip the first, pause before the third, resume, cancel it
        await pilot.press("n")
        await pilot.pause()
        for name, v in (("prompt", "16,24,32"), ("gen", "48"), ("reps", "2")):
            app.screen.query_one(f"#{name}", Input).value = v
        await pilot.press("ctrl+r")
        await until(pilot, app, lambda: case(app, 1, "decode"), 120)
        await pilot.press("s")
        await until(pilot, app, lambda: case(app, 2), 60)
        await pilot.press("p")
        await until(pilot, app, lambda: app.current.state.case is None and app.current.state.paused, 60)
        await pilot.pause(1.0)
        app.tick()
        out["held"] = (app.current.state.case, len(app.current.state.finished))
        await pilot.press("p")
        await until(pilot, app, lambda: case(app, 3, "decode"), 60)
        await pilot.press("x")
        await until(pilot, app, lambda: app.current.stage == "done", 60)

    async def go():
        async with app.run_test(size=(160, 48)) as pilot:
            await steps(pilot)

    asyncio.run(go())
    # what a person saw
    # the phase moves (load can be shorter than a poll), tokens count up, a live rate shows
    assert {"prefill", "decode"} <= watched["phases"] and len(watched["phases"]) >= 3, watched["phases"]
    assert len(watched["tokens"]) >= 2 and watched["live"] and "live" in watched["text"] and "t/s" in watched["text"]
    assert "earlier-run (EXACT)" in out["panel"] and "×" in out["run1"] and "edge ÷ server = ratio" in out["run1"], out["run1"]
    assert out["held"] == (None, 2)
    # what was written: the same files as a headless bench, the rows with their statuses
    r1, r2 = (r.run_dir for r in app.runs)
    for d in (r1, r2):
        assert {"records.jsonl", "plan.json", "env.json", "baseline.json", "samples"} <= {p.name for p in d.iterdir()}
    rec1 = [json.loads(x) for x in (r1 / "records.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rec1] == ["ok"] and rec1[0]["reference"]["kind"] == "exact"
    rec2 = [json.loads(x) for x in (r2 / "records.jsonl").read_text().splitlines()]
    assert [r["status"] for r in rec2] == ["skipped", "ok", "cancelled"]
    assert rec2[0]["error"]["kind"] == "skipped" and rec2[2]["error"]["kind"] == "cancelled"
    assert [r["workload"]["prompt_tokens"] for r in rec2] == [16, 24, 32]
    # honest and light: a GGUF run imports no torch/onnxruntime into the TUI's process
    heavy = {m.split(".")[0] for m in set(sys.modules) - before} & set(HEAVY)
    assert not heavy, heavy


def test_the_model_with_server_rows_from_the_home_screen(home, monkeypatch, smollm2_gguf):
    """Pick LocalScore's tiny GGUF (not on disk), press "match reference": the suite becomes
    localscore and the plan says EXACT; start: it is downloaded (a local server with the hub's
    layout, serving the packaged GGUF's bytes) with its progress on the status line, then runs
    — cancelled at its first case here, recorded ``cancelled`` like any other."""
    sys.path.insert(0, str(DATA.parents[1] / "reference"))
    from hubserver import HubServer
    from textual.widgets import RadioSet, Select, SelectionList

    from edgeprof.engine.config import BenchOptions
    from edgeprof.models import catalogue
    from edgeprof.views.tui import homeform
    from edgeprof.views.tui.app import EdgeprofApp

    # the served bytes are the packaged SmolLM2, which contradicts what the catalogue publishes about
    # Llama (size, file type, parameter count) and would be refused: here the entry publishes none
    # of them, so the path (pick, pull with progress, run) is what is tested
    default, entries = catalogue.load()
    entries = [replace(x, raw=dict(x.raw, size_published=None, params_approx=None, quant=None))
               if x.id == "llama-3.2-1b-instruct-q4_k_m" else x for x in entries]
    monkeypatch.setattr(catalogue, "load", lambda: (default, entries))
    e = catalogue.get("llama-3.2-1b-instruct-q4_k_m")
    files = {f"{e.raw['repo']}/resolve/{e.raw['revision']}/{e.raw['file']}": smollm2_gguf.read_bytes()}
    models = home / "home" / "models"
    models.unlink()                                   # a home of its own: the pull writes into it
    models.mkdir()
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    base = BenchOptions(reps=1, warmup=0, min_seconds=0.0, idle_seconds=0.3, threads=[1])
    app = EdgeprofApp(home_defaults=homeform.defaults_from(base))
    seen = {}

    async def steps(pilot):
        await until(pilot, app, lambda: app.sets is not None and app.screen.choices and app.device_hint, 30)
        lst = app.screen.query_one("#models", SelectionList)
        lst.deselect_all()
        lst.select([c.arg for c in app.screen.choices].index(e.id))
        await pilot.pause()
        radios = app.screen.query_one(RadioSet).query("RadioButton")
        radios[homeform.PRESET_KEYS.index("reference")].value = True                  # "match reference"
        await until(pilot, app, lambda: app.screen.query_one("#suite", Select).value == "localscore", 30)
        seen["suite"] = app.screen.query_one("#suite", Select).value
        app.screen.refresh_view()
        seen["plan"] = str(app.screen.query_one("#plan").render())
        await pilot.press("ctrl+r")
        await until(pilot, app, lambda: app.current and app.current.state.case is not None
                    and app.current.state.case.phase in ("prefill", "decode"), 180)
        await pilot.press("x")
        await until(pilot, app, lambda: app.current.stage == "done", 120)

    async def go():
        async with app.run_test(size=(160, 48)) as pilot:
            await steps(pilot)

    with HubServer(files) as srv:
        monkeypatch.setenv("HF_ENDPOINT", srv.url)
        asyncio.run(go())
    assert app.current.error is None, app.current.error
    assert seen["suite"] == "localscore"
    assert "✓" in seen["plan"] and "suite localscore" in seen["plan"] and "localscore:" in seen["plan"], seen["plan"]
    notices = [n.message for n in app.current.state.notices]          # what the status line showed, in turn
    assert any(s.startswith("pulling bartowski/Llama-3.2-1B-Instruct-GGUF/") for s in notices), notices
    assert (models / e.id / "pull.json").is_file()
    (run,) = app.runs
    recs = [json.loads(x) for x in (run.run_dir / "records.jsonl").read_text().splitlines()]
    assert recs and recs[-1]["status"] == "cancelled" and recs[-1]["workload"].get("suite") == "localscore"
