"""Every screen is reached by keyboard, and each shows what it promises: the row detail with
provenance and a Markdown copy, a comparison of two rows, the history from the SQLite index, the
sensors of a fixture Jetson with the unavailable ones' reasons, a working screenshot key and a
theme switch. Driven by Textual's pilot over the recorded run (no hardware read)."""
from __future__ import annotations

import json

from edgeprof.views.tui.replay import replay_app
from tests.tui.conftest import DATA, EVENTS, drive, index_recorded, screen_text, until


async def press(pilot, app, *keys):
    for k in keys:
        await pilot.press(k)
        await pilot.pause()
        app.tick()
    await pilot.pause(0.05)


def test_every_screen_by_keyboard(quiet_home):
    seen = {}

    async def steps(pilot, app):
        for key, name in (("n", "HomeScreen"), ("l", "LiveScreen"), ("h", "HistoryScreen"),
                          ("r", "ReferencesScreen"), ("d", "SensorsScreen"), ("e", "ExportScreen")):
            if type(app.screen).__name__ == "HomeScreen":
                app.screen.focus_next()  # leave any text field (letters would type into it)
                app.set_focus(None)
            await press(pilot, app, key)
            seen[key] = type(app.screen).__name__
            assert seen[key] == name, (key, seen[key])
        await press(pilot, app, "l", "question_mark")
        seen["?"] = type(app.screen).__name__
        help_text = screen_text(app)
        await press(pilot, app, "escape", "up", "enter")
        seen["enter"] = type(app.screen).__name__
        await press(pilot, app, "escape")
        seen["escape"] = type(app.screen).__name__
        for k in ("pause", "skip", "cancel", "details", "compare 2 rows", "screenshot", "history", "theme"):
            assert k in help_text, k

    drive(replay_app(EVENTS, reference_dir=DATA), steps)
    assert seen["?"] == "HelpScreen" and seen["enter"] == "DetailScreen" and seen["escape"] == "LiveScreen"


def test_row_detail_shows_provenance_and_copies_markdown(quiet_home):
    out = {}

    async def steps(pilot, app):
        await press(pilot, app, "up", "enter", "y")
        out["clip"] = app.clipboard
        app.screen.query_one("VerticalScroll").scroll_end(animate=False)
        await pilot.pause(0.2)
        out["text"] = screen_text(app)

    app = replay_app(EVENTS, reference_dir=DATA)
    drive(app, steps)
    rec = app.current.state.finished[0]
    md = out["clip"]
    assert md.startswith(f"## {rec.model.id}") and "| metric | value | unit | n | p90 |" in md
    for name, m in rec.metrics.items():           # every metric, with its provenance source
        assert f"| {name} |" in md and m.provenance.source in md
    comp = rec.reference
    assert comp.kind == "exact" and comp.set_name in md and "edge÷server" in md
    assert "EXACT" in out["text"] and "estimated: tdp_model" in out["text"] and "0." in out["text"]


def test_compare_two_marked_rows(quiet_home):
    out = {}

    async def steps(pilot, app):
        await press(pilot, app, "up", "space", "down", "space", "c")
        out["screen"], out["text"] = type(app.screen).__name__, screen_text(app)

    drive(replay_app(EVENTS, reference_dir=DATA), steps)
    assert out["screen"] == "CompareScreen"
    # the two recorded cases differ in prompt length: compare pairs only equal workload keys
    assert "not paired" in out["text"] and "workload key" in out["text"]


def test_compare_pairs_rows_of_one_workload(quiet_home, recorded):
    from edgeprof.views.tui.screens.compare import compare_rows

    a = next(e.record for e in recorded if e.type == "case_finished")
    ref = json.loads((DATA / "earlier-run" / "records.jsonl").read_text().splitlines()[0])
    from edgeprof.results.schema import Record

    res = compare_rows(Record.from_dict(ref), a)
    metrics = {r.metric: r for r in res.rows}
    verdict = metrics["decode_tokens_per_s"].verdict
    assert verdict.split(":")[0] in ("faster", "slower", "no detectable difference", "inconclusive") \
        or verdict.startswith("equivalent within"), verdict
    m = res.margins["decode_tokens_per_s"]
    assert m.margin > 0 and m.basis


def test_history_lists_indexed_runs_and_trends(quiet_home, recorded):
    from edgeprof.results.schema import Record

    index_recorded(quiet_home, recorded, 3)   # three indexed runs of the recorded cases, as if run on this host
    out = {}

    async def steps(pilot, app):
        await press(pilot, app, "h")
        def listed() -> bool:    # the index is read in a worker; a loaded machine paints late
            out["rows"] = app.screen.query_one("#hist").row_count
            out["text"] = screen_text(app)
            return out["rows"] == 6 and "run2" in out["text"] and "3 runs" in out["text"]
        await until(pilot, app, listed, what="three indexed runs")
        await press(pilot, app, "enter")
        out["detail"] = type(app.screen).__name__

    drive(replay_app(EVENTS, reference_dir=DATA), steps)
    assert out["rows"] == 6 and "run2" in out["text"]
    assert "trend decode t/s" in out["text"] and "3 runs" in out["text"]
    assert out["detail"] == "DetailScreen"
    assert Record  # the index stores whole records; the detail opened from one


def test_unavailable_sensors_show_reason_and_fix(quiet_home, monkeypatch):
    from edgeprof.views.tui.app import EdgeprofApp
    from tests.fixtures.boards import build

    root = build(quiet_home / "root", "agx-orin-jp5")
    monkeypatch.setenv("EDGEPROF_SYSROOT", str(root))
    out = {}

    async def steps(pilot, app):
        await until(pilot, app, lambda: app.device_hint, what="the device")
        app.set_focus(None)
        await press(pilot, app, "d")
        # between runs the screen's monitor reads the sensors live
        await until(pilot, app, lambda: "live between runs" in screen_text(app), what="the live sensors")
        out["text"] = screen_text(app)

    drive(EdgeprofApp(sets=[]), steps, size=(160, 48))
    text = out["text"]
    assert "Jetson AGX Orin" in text and "nvpmodel MAXN" in text and "L4T 35.4.1" in text
    assert "✗ emc:clock" in text and "only in debugfs" in text and "run edgeprof as root" in text
    assert "live between runs" in text


def test_screenshot_key_writes_svg_and_theme_toggles(quiet_home):
    out = {}

    async def steps(pilot, app):
        out["before"] = app.theme
        await press(pilot, app, "t")
        out["after"] = app.theme
        await press(pilot, app, "i")

    drive(replay_app(EVENTS, reference_dir=DATA), steps)
    shots = list(quiet_home.glob("edgeprof-live-*.svg"))
    assert len(shots) == 1 and "<svg" in shots[0].read_text()[:200]
    assert {out["before"], out["after"]} == {"textual-dark", "textual-light"}


def test_a_model_that_cannot_be_resolved_is_one_line_on_the_form(quiet_home):
    from textual.widgets import Input

    from edgeprof.views.tui.app import EdgeprofApp

    out = {}

    async def steps(pilot, app):
        await until(pilot, app, lambda: app.screen.choices, what="the model list")
        app.screen.query_one("#path", Input).value = "no-such-model.gguf"
        await press(pilot, app, "ctrl+r")
        # the run resolves the model on its own thread (imports and all: seconds on a loaded machine)
        await until(pilot, app, lambda: app.current and app.current.stage in ("failed", "done"), what="the run")
        await until(pilot, app, lambda: "could not start" in screen_text(app), 30, "the form's status line")
        out["text"], out["screen"] = screen_text(app), type(app.screen).__name__

    drive(EdgeprofApp(sets=[]), steps)
    assert out["screen"] == "HomeScreen"          # the form stays, with the reason; nothing was written
    assert "could not start" in out["text"] and "no-such-model.gguf: no such file" in out["text"]
    assert not (quiet_home / "edgeprof-runs").exists()


def test_export_page_needs_a_scheme_and_groups_targets(quiet_home):
    from textual.widgets import SelectionList

    from edgeprof.views.tui.screens.export import targets

    assert targets(["onnx:fp32", "gguf:q8_0", "onnx:int4"]) == ["onnx:fp32,int4", "gguf:q8_0"]
    out = {}

    async def steps(pilot, app):
        await press(pilot, app, "e")
        app.screen.query_one("#schemes", SelectionList).deselect_all()
        await press(pilot, app, "ctrl+r")
        out["text"] = screen_text(app)

    drive(replay_app(EVENTS, reference_dir=DATA), steps)
    assert "give a source and pick at least one scheme" in out["text"]


def test_a_run_becomes_a_reference_set_by_one_key(quiet_home, recorded):
    """``a`` on the references screen writes the run the view shows as a set (as ``edgeprof
    reference add`` does) and the sets reload with it; a second ``a`` is refused in one line."""
    run = quiet_home / "edgeprof-runs" / "demo"        # the recorded stream's run directory
    run.mkdir(parents=True)
    with open(run / "records.jsonl", "w") as fh:
        for e in recorded:
            if e.type == "case_finished":
                fh.write(json.dumps(e.record.to_dict()) + "\n")
    out = {}

    async def steps(pilot, app):
        await press(pilot, app, "r", "a")
        await until(pilot, app, lambda: app.sets and any(s.name == "run-demo" for s in app.sets), what="run-demo")
        out["sets"] = [s.name for s in app.sets or []]
        out["text"] = screen_text(app)
        await press(pilot, app, "a")
        out["notes"] = [n.message for n in app._notifications]

    drive(replay_app(EVENTS, reference_dir=DATA), steps)
    assert "run-demo" in out["sets"] and "run-demo" in out["text"]
    assert (quiet_home / "home" / "reference" / "run-demo" / "reference.json").is_file()
    assert any("reference set 'run-demo' written" in n for n in out["notes"])
    assert any(n.startswith("not added:") and "run-demo" in n for n in out["notes"]), out["notes"]


def test_a_refilled_model_list_keeps_what_was_picked(quiet_home):
    """The list is refilled when the screen is shown again (and after a download): the user's
    picks survive it, even none at all; only the first fill takes the defaults."""
    from textual.widgets import SelectionList

    out = {}

    async def steps(pilot, app):
        await press(pilot, app, "n")
        await until(pilot, app, lambda: app.screen.choices, what="the model list")
        screen = app.screen
        lst = screen.query_one("#models", SelectionList)
        out["first"] = [screen.choices[i].arg for i in lst.selected]
        lst.deselect_all()
        lst.select(next(i for i, c in enumerate(screen.choices) if c.arg == "llama-3.2-1b-instruct-q4_k_m"))
        screen._fill_models(list(screen.choices))
        await pilot.pause()
        out["after"] = [screen.choices[i].arg for i in lst.selected]
        lst.deselect_all()
        screen._fill_models(list(screen.choices))
        await pilot.pause()
        out["none"] = list(lst.selected)

    drive(replay_app(EVENTS, reference_dir=DATA), steps)
    assert out["first"] == ["smollm2-135m-instruct"]
    assert out["after"] == ["llama-3.2-1b-instruct-q4_k_m"] and out["none"] == []
