"""The references screen's "what if" panel (issue 25): ``w`` shows, for this run's model, what the
what-if model predicts on the device and power mode picked, beside this run's measured row —
every predicted figure estimated with its interval and its basis; another device is one pick away."""
from __future__ import annotations

from edgeprof.views.tui.replay import replay_app
from edgeprof.views.tui.widgets.whatif import WhatIfPanel, device_options, mode_options
from tests.tui.conftest import DATA, EVENTS, drive


def _run(steps) -> None:
    drive(replay_app(EVENTS, reference_dir=DATA, upto=None), steps)


async def _settle(pilot, panel, want: str, tries: int = 200) -> str:
    from textual.widgets import Static

    for _ in range(tries):  # the fit runs in a worker thread (a couple of seconds the first time)
        await pilot.pause(0.05)
        text = str(panel.query_one("#wi-out", Static).render())
        if want in text:
            return text
    return text


def test_w_predicts_this_runs_model_on_a_jetson_beside_the_measured_row(quiet_home):
    out = {}

    async def steps(pilot, app):
        await pilot.press("r")
        await pilot.pause()
        panel = app.screen.query_one(WhatIfPanel)
        assert not panel.display
        await pilot.press("w")
        out["jetson"] = await _settle(pilot, panel, "J/token")
        measured = [r for r in app.current.state.finished if r.ok][-1]
        out["decode"] = measured.metric("decode_tokens_per_s").center
        from textual.widgets import Select

        panel.query_one("#wi-device", Select).value = "nvidia_h200_sxm"
        out["h200"] = await _settle(pilot, panel, "H200")

    _run(steps)
    j = out["jetson"]
    assert "what if: Jetson Orin Nano 8GB" in j and "@ 25W" in j and "NOT a measurement" in j
    assert "EXTRAPOLATED" in j and "decode t/s" in j and "[" in j and "power-mode budget 25W" in j
    assert f"{out['decode']:.3g}"[:3] in j.replace(",", "")  # this run's measured decode beside it
    assert "basis: fit on" in out["h200"] and "LocalScore result" in out["h200"]


def test_choices_cover_edge_boards_first_and_their_modes():
    opts = device_options()
    assert opts[0][1].startswith("jetson_") and any(v == "nvidia_h100_sxm" for _, v in opts)
    modes = dict((v, label) for label, v in mode_options("jetson_orin_nano_8gb_super"))
    assert set(modes) == {"15W", "25W", "MAXN_SUPER"} and "(default)" in modes["25W"] and "uncapped" in modes["MAXN_SUPER"]
