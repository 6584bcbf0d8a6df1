"""Shared by the TUI tests: the recorded stream of a real run (``tests/tui/data``, made by
``scripts/tui_screenshot.py record``), its reference set, and a pilot helper.

The recording is a real two-case SmolLM2 run on one CPU thread (prompt 32 and 64, 64 generated
tokens, 3 repetitions) whose first case has an exact reference row (``earlier-run``: an earlier
run of the same workload made into a reference set) and whose second has none."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
EVENTS = DATA / "events.jsonl"


@pytest.fixture(scope="session")
def recorded():
    from edgeprof.engine import events as ev

    return [ev.from_dict(json.loads(x)) for x in EVENTS.read_text().splitlines() if x.strip()]


@pytest.fixture(scope="session")
def refsets():
    from edgeprof.compare.reference import load_sets

    return load_sets(user_dir=DATA)


@pytest.fixture
def quiet_home(tmp_path, monkeypatch, seeded):
    """A private EDGEPROF_HOME (holding the machine's probe: a run starts measuring at once) and
    history, and a working directory of our own."""
    monkeypatch.setenv("EDGEPROF_HOME", str(seeded(tmp_path / "home")))
    monkeypatch.setenv("EDGEPROF_HISTORY", str(tmp_path / "home" / "history.sqlite"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def screen_text(app) -> str:
    """The screen as plain text (what a person reads), from the same render as the SVG."""
    import io

    from rich.console import Console

    w, h = app.size
    console = Console(width=w, height=h, file=io.StringIO(), force_terminal=True, color_system="truecolor",
                      record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def until(pilot, app, cond, timeout_s: float = 120.0, what: str = "") -> None:
    """Pause (ticking the app) until ``cond()`` holds; after ``timeout_s`` fail with the screen.
    Polled by the clock, never a fixed number of pauses: a worker thread (device detection, the
    model list, a run resolving its model) takes seconds on a loaded 2-core machine, and a
    condition not met must fail here rather than let the test read a screen half drawn."""
    import time

    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout_s:
            pytest.fail(f"waited {timeout_s:.0f} s for {what or 'the TUI'}; the screen:\n{screen_text(app)}")
        await pilot.pause(0.05)
        app.tick()


def drive(app, steps, size=(160, 48)) -> None:
    """Run ``steps(pilot, app)`` (an async function) against the app, headless, at ``size``."""
    import asyncio

    async def go():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            app.tick()
            await steps(pilot, app)
    asyncio.run(go())


def index_recorded(quiet_home, recorded, n_runs: int, device_name: str | None = None) -> None:
    """``n_runs`` runs of the recorded cases indexed in the private history, as if run on this
    host on consecutive days (``device_name``: a longer device name, as real ones are)."""
    import socket

    from edgeprof.results.history import index_run

    for i in range(n_runs):
        d = quiet_home / f"run{i}"
        d.mkdir()
        with open(d / "records.jsonl", "w") as fh:
            for e in recorded:
                if e.type == "case_finished":
                    r = e.record.to_dict()
                    r.update(host=socket.gethostname(), run_id=f"run{i}", started_at=f"2026-11-2{i}T10:00:00+00:00")
                    if device_name:
                        r["device"]["name"] = device_name
                    fh.write(json.dumps(r) + "\n")
        index_run(d, quiet_home / "home" / "history.sqlite")
