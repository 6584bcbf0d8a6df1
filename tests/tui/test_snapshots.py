"""Snapshots (SVG, and the same screen as text for a readable diff) of the main screens at the
sizes people use — 80×24, 120×36 and 200×50 — drawn from the recorded event stream, so they are
the same on every run.

A change to a screen fails here until the snapshots are remade on purpose:

    EDGEPROF_UPDATE_SNAPSHOTS=1 python -m pytest tests/tui/test_snapshots.py
"""
from __future__ import annotations

import asyncio
import difflib
import os
from pathlib import Path

import pytest

from edgeprof.views.tui.replay import replay_app
from tests.tui.conftest import DATA, EVENTS, screen_text

SNAPS = Path(__file__).parent / "snapshots"
UPDATE = bool(os.environ.get("EDGEPROF_UPDATE_SNAPSHOTS"))
SCREENS = {
    "live-mid": dict(upto=0.55, keys=()),
    "live-done": dict(upto=None, keys=()),
    "detail": dict(upto=None, keys=("up", "enter")),
    "sensors": dict(upto=0.55, keys=("d",)),
    "references": dict(upto=None, keys=("r",)),
    "help": dict(upto=0.55, keys=("question_mark",)),
}
SIZES = ((80, 24), (120, 36), (200, 50))


def draw(name: str, size: tuple[int, int], theme: str = "textual-dark") -> tuple[str, str]:
    spec = SCREENS[name]
    app = replay_app(EVENTS, reference_dir=DATA, upto=spec["upto"], theme=theme)
    out: dict[str, str] = {}

    async def go() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            app.tick()
            for k in spec["keys"]:
                await pilot.press(k)
                await pilot.pause()
                app.tick()
            await pilot.pause(0.05)
            out["svg"], out["text"] = app.export_screenshot(), screen_text(app)

    asyncio.run(go())
    return out["svg"], out["text"]


def check(stem: str, svg: str, text: str) -> None:
    files = {SNAPS / f"{stem}.txt": text, SNAPS / f"{stem}.svg": svg}
    if UPDATE:
        SNAPS.mkdir(exist_ok=True)
        for path, content in files.items():
            path.write_text(content)
        return
    missing = [p.name for p in files if not p.exists()]
    assert not missing, f"no snapshot {missing}: make it with EDGEPROF_UPDATE_SNAPSHOTS=1 (and look at it)"
    want = (SNAPS / f"{stem}.txt").read_text()
    if text != want:
        diff = "\n".join(difflib.unified_diff(want.splitlines(), text.splitlines(), "snapshot", "now", lineterm=""))
        pytest.fail(f"{stem}: the screen changed\n{diff}")
    assert svg == (SNAPS / f"{stem}.svg").read_text(), f"{stem}: same text, different colours or styles"


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(SCREENS))
def test_screen_snapshot(name, size, quiet_home):
    svg, text = draw(name, size)
    check(f"{name}-{size[0]}x{size[1]}", svg, text)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_home_snapshot(size, quiet_home, monkeypatch):
    """The new-run screen on a fixture Jetson, nothing downloaded: the same on every machine.
    The device line is the fixture board's alone: NVML is the host's library (CONTRACTS: not
    re-rooted by EDGEPROF_SYSROOT), so on a machine with an NVIDIA GPU that GPU would join the
    board with its own sensors; CUDA_VISIBLE_DEVICES="" hides it, as it hides it from CUDA. The
    screen is taken once the device, the reference sets and the model list are all in (each
    comes from a thread: seconds on a loaded machine) and drawn alike three frames running (the
    footer is composed again as the focus and the width settle, blank for a frame), never after a
    fixed number of pauses."""
    from edgeprof.views.tui.app import EdgeprofApp
    from tests.fixtures.boards import build
    from tests.tui.conftest import until

    monkeypatch.setenv("EDGEPROF_SYSROOT", str(build(quiet_home / "root", "orin-nano-jp6")))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    app = EdgeprofApp(clock=(0, "12:00:00"))
    out = {}

    async def go() -> None:
        async with app.run_test(size=size) as pilot:
            seen: list[str] = []

            def settled() -> bool:   # what the threads brought, in its widgets, drawn alike three frames running
                seen.append(screen_text(app))
                device, plan = (str(app.screen.query_one(w).render()) for w in ("#device", "#plan"))
                return bool(app.device_hint and app.sets is not None and app.screen.choices
                            and "sensor(s) unavailable" in device and plan.startswith("reference")
                            and seen[-1].splitlines()[-1].strip() and len(seen) >= 3 and len(set(seen[-3:])) == 1)
            await until(pilot, app, settled, what="the device, the reference sets, the model list and the footer")
            out["svg"], out["text"] = app.export_screenshot(), screen_text(app)

    asyncio.run(go())
    assert "Jetson Orin Nano" in out["text"] and "smollm2-135m-instruct" in out["text"]
    check(f"home-{size[0]}x{size[1]}", out["svg"], out["text"])


def test_light_theme_snapshot(quiet_home):
    svg, text = draw("live-done", (120, 36), theme="textual-light")
    check("live-done-light-120x36", svg, text)
    dark, _ = draw("live-done", (120, 36))
    assert svg != dark
