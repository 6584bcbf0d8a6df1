"""The TUI fleet view (Textual pilot, real boards): one line per board with its state, case, live
tokens/s and last update; Enter opens a board's live screen (its own run: phases, power, the
server panel), ``f`` comes back; a board cut off mid-run keeps its last values, greyed, with the
time since it last spoke."""
from __future__ import annotations

import asyncio
import json
import time

from tests.tui.conftest import screen_text

from edgeprof.engine import events as ev
from edgeprof.views.tui.fleetview import STALE_S, BoardRun, board_rows


async def until(pilot, app, cond, timeout_s: float) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout_s, "timed out waiting on the TUI"
        await pilot.pause(0.1)
        app.tick()


def test_the_fleet_view_shows_both_boards_live_and_a_cut_off_one_greyed(shelf, tmp_path, smollm2_gguf, home):
    from edgeprof.fleet import fleetfile, fleetrun
    from edgeprof.views.tui.app import EdgeprofApp
    from edgeprof.views.tui.fleetview import FleetController

    laptop, (a, b) = shelf
    if a.proc is None:
        a.start()
    if b.proc is None:
        b.start()
    hosts = "".join(f'[[host]]\nname = "{x.name}"\ntarget = "{x.target}"\n' for x in (a, b))
    src = tmp_path / "FLEET.toml"
    src.write_text(f'[defaults]\nidentity = "{laptop}/.ssh/id_ed25519"\nknown_hosts = "{laptop}/.ssh/known_hosts"\n'
                   f'{hosts}[bench]\nmodels = ["{smollm2_gguf}"]\nprompt = [8]\ngen = [8, 16]\nthreads = [1]\n'
                   f'reps = 2\nwarmup = 0\nmin_seconds = 0\nidle_seconds = 0.2\n')
    fleet = fleetfile.load(src)
    out = fleetrun.prepare(fleet, tmp_path / "fleet")
    ctl = FleetController(fleet, out).start()
    app = EdgeprofApp(fleet=ctl, sets=[])
    seen: dict = {}

    async def steps(pilot) -> None:
        await until(pilot, app, lambda: type(app.screen).__name__ == "FleetScreen", 10)
        # both boards live at once: each runs a case and shows a live decode rate
        await until(pilot, app, lambda: all(r.state == "running" and r.tps for r in board_rows(ctl.boards)), 180)
        seen["live"] = screen_text(app)
        # Enter opens the highlighted board's live screen; f comes back
        await pilot.press("enter")
        await until(pilot, app, lambda: type(app.screen).__name__ == "LiveScreen", 10)
        seen["current"] = app.current.name
        seen["live_board"] = screen_text(app)
        await pilot.press("f")
        await until(pilot, app, lambda: type(app.screen).__name__ == "FleetScreen", 10)
        # b is cut off mid-run: its line keeps what it last showed, greyed, with the time since
        await until(pilot, app, lambda: ctl.board("b").state.case is not None, 120)
        b.cut_off()
        await until(pilot, app, lambda: ctl.board("b").ended is not None, 60)
        await until(pilot, app, lambda: not ctl.alive, 240)
        # the line says how long b has been silent: under a second reads "now", so wait past it
        await until(pilot, app, lambda: (next(r for r in board_rows(ctl.boards) if r.name == "b").since_s or 0) > 1.5, 10)
        app.tick()
        await pilot.pause(0.2)
        seen["end"] = screen_text(app)
        seen["rows"] = board_rows(ctl.boards)
        from textual.widgets import DataTable

        table = app.screen.query_one("#fleet", DataTable)
        seen["b_style"] = str(table.get_row("b")[0].style)
        seen["a_style"] = str(table.get_row("a")[0].style)

    async def go() -> None:
        async with app.run_test(size=(160, 40)) as pilot:
            await steps(pilot)

    try:
        asyncio.run(go())
    finally:
        ctl.cancel()
        ctl.join(60)
        b.start()
    assert a.target in seen["live"] and b.target in seen["live"] and "running" in seen["live"]
    assert seen["current"] == "a" and "p8 n" in seen["live_board"], seen["live_board"]
    rows = {r.name: r for r in seen["rows"]}
    assert rows["a"].state == "done" and not rows["a"].stale and rows["a"].case == "2/2 done"
    assert rows["b"].state == "cut-off" and rows["b"].stale and rows["b"].tps   # last values kept
    assert "cut-off" in seen["end"] and "ago" in seen["end"], seen["end"]
    assert seen["b_style"] not in ("", "none") and seen["a_style"] in ("", "none"), seen   # b greyed, a not
    a_recs = [json.loads(x) for x in (out / "boards" / "a" / "records.jsonl").read_text().splitlines()]
    assert [r["status"] for r in a_recs] == ["ok", "ok"]


def test_a_silent_board_keeps_its_values_and_is_marked_stale():
    """Pure: the row of a board whose last event is older than STALE_S, on the laptop's clock."""
    board = BoardRun("orin", "u@orin")
    board.listen(ev.RunStarted(run_dir="/x", total=2, labels=("a", "b")))
    board.listen(ev.CaseScheduled(index=1, total=2, label="p8 n8", case_id="c1"))
    board.listen(ev.TokenProgress(case_id="c1", n=2, of=8, t_ns=1_000_000_000))
    board.listen(ev.TokenProgress(case_id="c1", n=6, of=8, t_ns=2_000_000_000))
    board.drain()
    fresh = board_rows([board], now_s=board.last_seen + 1)[0]
    assert fresh.state == "running" and not fresh.stale and fresh.tps == 4.0 and fresh.case == "1/2 p8 n8"
    silent = board_rows([board], now_s=board.last_seen + STALE_S + 5)[0]
    assert silent.stale and silent.tps == 4.0 and silent.case == fresh.case and silent.since_s > STALE_S


def test_the_last_update_column_shows_at_120_and_80_columns():
    """At 120 columns a plain table cut 'last update' off (the case label is long); the columns now
    fit whole, the live figures and the time since first, the long target last (←/→ reach it)."""
    from edgeprof.views.tui.fleetview import BoardRow
    from edgeprof.views.tui.screens.fleet import COLUMNS, MUST, PINNED, cells
    from edgeprof.views.tui.widgets.fittable import fit, widths

    rows = [cells(BoardRow(n, f"root@127.0.0.1:4220{i}", "running", "2/4 smollm2-135m-instruct gguf:q4_1 p16 n8 d0 t2",
                           31.4, 12.0, None, 0.4, False)) for i, n in enumerate(("b1", "b2"))]
    ws = widths(list(COLUMNS), rows)
    mins = [min(w, c.shrink_to) if c.shrink_to else w for w, c in zip(ws, COLUMNS)]
    for width in (118, 78):
        shown, _, _ = fit(ws, PINNED, width, 0, mins, MUST)
        names = [COLUMNS[i].name for i in shown]
        assert names[:7] == ["board", "state", "case", "live t/s", "power W", "temp °C", "last update"], (width, names)
    assert "target" in [COLUMNS[i].name for i in fit(ws, PINNED, 158, 0, mins, MUST)[0]]
