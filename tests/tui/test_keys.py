"""Keys and small flows, by Textual's pilot on the real app: a text field gets the text it accepts
and no letter acts while it has focus; Esc leaves it and the letters act again; ticks read
``[x]``/``[ ]``; the preset follows the fields ("custom" when they match none); the sensors screen
is live between runs (a fixture board's rail changes, the screen follows); a new run never shows
the previous run's rows; the hardware probe shows as a state, not a frozen screen."""
from __future__ import annotations

from textual.widgets import Input, RadioSet

from edgeprof.views.tui.replay import replay_app
from tests.tui.conftest import DATA, EVENTS, screen_text
from tests.tui.conftest import drive as drive_at
from tests.tui.conftest import until as wait_until


def drive(app, steps, size=(120, 36)):
    drive_at(app, steps, size)


async def until(pilot, app, cond, timeout_s: float = 120.0) -> bool:
    await wait_until(pilot, app, cond, timeout_s)
    return True


def home_app():
    from edgeprof.views.tui.app import EdgeprofApp

    return EdgeprofApp(sets=[], clock=(0, "12:00:00"))


def test_letters_in_a_field_never_act_and_esc_leaves_it(quiet_home):
    out = {}

    async def steps(pilot, app):
        assert await until(pilot, app, lambda: bool(app.screen.choices))
        depth = app.screen.query_one("#depth", Input)
        depth.focus()
        await pilot.press("end", "d", "b", "q", "1")          # d: sensors, q: quit — not here
        await pilot.pause()
        out["depth"], out["screen"] = depth.value, type(app.screen).__name__
        out["footer"] = screen_text(app).splitlines()[-1]
        await pilot.press("escape")
        await pilot.pause()
        out["focus"] = app.focused.id if app.focused else None
        await pilot.press("d")
        await until(pilot, app, lambda: type(app.screen).__name__ == "SensorsScreen")
        out["after"] = type(app.screen).__name__
        # the export page: "b" (bench these) is text in the directory field, and acts outside it
        await pilot.press("e")
        await until(pilot, app, lambda: type(app.screen).__name__ == "ExportScreen")
        field = app.screen.query_one("#out", Input)
        field.focus()
        await pilot.press(*"bd")
        await pilot.pause()
        out["out"], out["notes"] = field.value, [n.message for n in app._notifications]
        await pilot.press("escape", "b")
        await pilot.pause()
        out["notes_after"] = [n.message for n in app._notifications]

    drive(home_app(), steps)
    assert out["depth"] == "01" and out["screen"] == "HomeScreen"  # digits only: the letters were not typed
    assert "esc leave the field" in out["footer"] and "sensors" not in out["footer"], out["footer"]
    assert out["focus"] == "models" and out["after"] == "SensorsScreen"
    assert out["out"] == "bd" and not any("export first" in n for n in out["notes"])
    assert any("export first" in n for n in out["notes_after"]), out["notes_after"]


def test_ticks_read_as_text_and_the_preset_follows_the_fields(quiet_home):
    out = {}

    async def steps(pilot, app):
        assert await until(pilot, app, lambda: bool(app.screen.choices))
        out["list"] = screen_text(app)
        preset = app.screen.query_one("#preset", RadioSet)
        out["first"] = preset.pressed_index
        prompt = app.screen.query_one("#prompt", Input)
        prompt.focus()
        await pilot.press("end", "backspace", "backspace", "backspace", "6", "4")
        await until(pilot, app, lambda: preset.pressed_index == 4)
        out["typed"], out["text"] = preset.pressed_index, screen_text(app)
        await pilot.press("escape")
        preset.query("Radio").first().value = True                    # quick
        await until(pilot, app, lambda: prompt.value == "32")
        out["quick"] = (preset.pressed_index, prompt.value, app.screen.query_one("#reps", Input).value)

    drive(home_app(), steps)
    assert "[x] smollm2-135m-instruct" in out["list"] and "[ ] llama-3.2-1b-instruct-q4_k_m" in out["list"]
    assert "(•) default" in out["list"]
    assert out["first"] == 1 and out["typed"] == 4 and "(•) custom" in out["text"] and "( ) default" in out["text"]
    assert out["quick"] == (0, "32", "3")


def test_the_preset_of_command_line_values_is_custom(quiet_home):
    from edgeprof.engine.config import BenchOptions
    from edgeprof.views.tui import homeform
    from edgeprof.views.tui.app import EdgeprofApp

    out = {}

    async def steps(pilot, app):
        await pilot.pause(0.1)
        out["index"] = app.screen.query_one("#preset", RadioSet).pressed_index

    drive(EdgeprofApp(sets=[], home_defaults=homeform.defaults_from(BenchOptions(prompt=[64]))), steps)
    assert out["index"] == homeform.PRESET_KEYS.index("custom")


def test_sensors_are_live_between_runs(quiet_home, monkeypatch):
    """A fixture Orin Nano: VDD_IN reads 5.75 W (5064 mV × 1136 mA); the rail's current file is
    rewritten while the screen is shown and the screen follows, with no run anywhere."""
    from tests.fixtures.boards import build

    root = build(quiet_home / "root", "orin-nano-jp6")
    monkeypatch.setenv("EDGEPROF_SYSROOT", str(root))
    rail = "/sys/devices/platform/bus@0/c240000.i2c/i2c-1/1-0040/hwmon/hwmon1/curr1_input"
    out = {}

    def vdd_in(app) -> str:
        line = next((x for x in screen_text(app).splitlines() if x.startswith("◆ ina3221:VDD_IN")), "")
        return line

    async def steps(pilot, app):
        await pilot.press("d")
        assert await until(pilot, app, lambda: "5.75 W" in vdd_in(app)), screen_text(app)
        out["before"] = vdd_in(app)
        (root / rail.lstrip("/")).write_text("2000\n")                 # in place, as sysfs: 5064 mV × 2000 mA = 10.1 W
        assert await until(pilot, app, lambda: "10.1 W" in vdd_in(app)), screen_text(app)
        out["after"], out["text"] = vdd_in(app), screen_text(app)
        out["monitor"] = app.monitor is not None
        await pilot.press("n")
        await pilot.pause()
        out["left"] = app.monitor                                      # leaving the screen stops reading

    drive(home_app(), steps, size=(160, 60))      # the fixture's device notes are long: the rail on screen
    assert "measured" in out["after"] and "live between runs" in out["text"]
    assert out["monitor"] and out["left"] is None


def test_a_new_run_never_shows_the_previous_runs_rows(quiet_home):
    """The live screen is drawn from the current run before its first frame: a run just started
    from the form shows no row of the run before it (it used to for ~1.5 s)."""
    from edgeprof.views.tui.runner import Run

    out = {}

    async def steps(pilot, app):
        out["before"] = screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        fresh = Run()
        fresh.stage = "running"
        app.add_run(fresh)
        app.action_mode("live")
        await pilot.pause()                   # one frame, no timer tick
        out["after"] = screen_text(app)

    drive(replay_app(EVENTS, reference_dir=DATA), steps)
    assert "pp32+tg64" in out["before"]
    assert "pp32+tg64" not in out["after"] and "pp64+tg64" not in out["after"]


def test_the_probe_shows_as_a_state(quiet_home, recorded):
    """The first run on a machine probes its bandwidth (~30 s) before the first row is written:
    the run notices it with data, the state holds it, the progress panel says so with its time."""
    from edgeprof.engine import events as ev
    from edgeprof.views.tui.runner import ReplayRun
    from edgeprof.views.tui.app import EdgeprofApp

    first_end = next(i for i, e in enumerate(recorded) if e.type == "case_finished")
    t = recorded[first_end - 1].t_ns
    events = recorded[:first_end] + [ev.RunNotice(message="probing …", data={"probe": "running"}, t_ns=t + 1),
                                     ev.SampleEvent(t_ns=t + 12_000_000_000)]
    run = ReplayRun(events)
    out = {}

    async def steps(pilot, app):
        out["text"] = screen_text(app)
        run.events.append(ev.RunNotice(message="probe done in 12 s", data={"probe": "done", "seconds": 12.0},
                                       t_ns=t + 12_000_000_001))
        app.tick()
        await pilot.pause()
        out["after"], out["since"] = screen_text(app), run.state.probing_since_ns
        run.events.append(ev.RunNotice(message="probing …", data={"probe": "running", "after_sweep": True},
                                       t_ns=t + 12_000_000_000))   # a contended probe re-taken after the sweep
        app.tick()
        await pilot.pause()
        out["retake"] = screen_text(app)

    drive(EdgeprofApp(run=run, sets=[], clock=(t + 12_000_000_000, "12:00:00")), steps)
    assert "probing memory bandwidth and FLOP/s (12 s" in out["text"], out["text"]
    assert "the row is written after it" in out["text"] and "re-taking" not in out["text"]
    assert "probing memory bandwidth" not in out["after"] and out["since"] is None
    assert "(0 s, re-taking a probe made on a busy machine" in out["retake"], out["retake"]
    assert run.state.probing_after_sweep


def test_marked_rows_read_x(quiet_home):
    """Space marks a row for compare: the mark is text (``[x]``; the others ``[ ]``), not a colour."""
    out = {}

    async def steps(pilot, app):
        await pilot.press("up", "space")
        await pilot.pause()
        out["one"] = [x for x in screen_text(app).splitlines() if "pp32+tg64" in x or "pp64+tg64" in x]
        await pilot.press("space")
        await pilot.pause()
        out["none"] = screen_text(app)

    drive(replay_app(EVENTS, reference_dir=DATA), steps, (80, 24))
    assert out["one"][0].lstrip().startswith("[x]") and out["one"][1].lstrip().startswith("[ ]"), out["one"]
    assert "[x]" not in out["none"] and "[ ]" not in out["none"]
