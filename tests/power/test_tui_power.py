"""The live view of a power sweep and a sustained run, driven by Textual's pilot over the recorded
run of tests/tui/data with its two rows turned into a two-mode sweep (15W, 25W; same workload) and
their run context added: the title shows the newest row's power settings, the results panel the
trade-off's picks, a row's detail its context; with --sustain the live decode chart is shown."""
from __future__ import annotations

import json
from types import SimpleNamespace

from edgeprof.views.tui.replay import replay_app
from tests.tui.conftest import DATA, EVENTS, drive, quiet_home, screen_text  # noqa: F401 - quiet_home: the fixture


def power_events(tmp_path):
    out, n = [], 0
    for line in EVENTS.read_text().splitlines():
        e = json.loads(line)
        if e["type"] == "case_finished":
            mode, gpu = (("15W", 612.0), ("25W", 918.0))[n]
            r = e["record"]
            r["workload"] = {"prompt_tokens": 32, "gen_tokens": 64, "depth": 0, "n_seqs": 1}
            r["power"] = {"power_mode": mode}
            r["context"] = {"fields": {"power_mode": mode, "jetson_clocks": "off", "gpu_max_mhz": gpu,
                                       "temp_c.cpu-thermal": 48.5}, "changed": {},
                            "cooldown": {"waited_s": 0.0, "ended": "back within 2 C of the start"}}
            n += 1
        out.append(json.dumps(e))
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(out) + "\n")
    return path


def test_title_results_and_detail_show_the_power_context(quiet_home, tmp_path):
    seen = {}

    async def steps(pilot, app):
        seen["live"] = screen_text(app)
        await pilot.press("up", "enter")
        await pilot.pause(0.1)
        seen["detail"] = screen_text(app)

    app = replay_app(power_events(tmp_path), reference_dir=DATA)
    drive(app, steps, size=(200, 50))
    live = seen["live"]
    assert "power mode 25W, jetson_clocks off, GPU max MHz 918" in live               # title: the newest row
    assert "results · power efficiency: power_mode=" in live and "knee: power_mode=" in live
    assert "run context" in seen["detail"] and "power mode 15W" in seen["detail"]
    assert "power setting" in seen["detail"] and "cool-down" in seen["detail"]
    assert "decode tok/s · sustained run" not in live                                  # not a sustained run


def test_sustained_run_shows_the_live_decode_chart(quiet_home, tmp_path):
    seen = {}

    async def steps(pilot, app):
        app.current.opts = SimpleNamespace(sustain=60.0, sustain_window=10.0)
        app.tick()
        await pilot.pause(0.1)
        seen["live"] = screen_text(app)

    app = replay_app(EVENTS, reference_dir=DATA)
    drive(app, steps, size=(200, 50))
    assert app.current.state.decode.last is not None                        # fed by token progress
    assert "decode tok/s · sustained run" in seen["live"] and "burst ╌" in seen["live"]
