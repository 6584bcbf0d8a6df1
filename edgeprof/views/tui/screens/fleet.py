"""The fleet screen (``edgeprof tui --fleet FLEET.toml``, key ``f``): one line per board — state,
the case it runs, live tokens/s, power, temperature and the time since it last spoke. A board that
stops answering keeps its last values, greyed, with the time since; Enter opens that board's live
screen (power chart, sensors, the server panel), ``f`` comes back here.

The columns fit the terminal whole (``FitTable``): the live figures and ``last update`` — the one
cell that tells a silent board from a slow one — come before the long ``target``, and a long case
label narrows so they still show at 80 columns (at 120 a plain table cut ``last update`` off)."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from edgeprof.views.tui import fmt
from edgeprof.views.tui.fleetview import board_rows
from edgeprof.views.tui.theme import colours
from edgeprof.views.tui.widgets.fittable import Col, FitTable
from edgeprof.views.tui.widgets.titlebar import TitleBar

COLUMNS = (Col("board", 16, shrink_to=8), Col("state"), Col("case", 48, shrink_to=16), Col("live t/s"), Col("power W"),
           Col("temp °C"), Col("last update"), Col("target", 40))
PINNED = 3          # board, state, case stay when ←/→ scroll the rest
MUST = 4            # live t/s, power, temperature and last update show at any width the case can narrow for


def since_text(s: float | None) -> str:
    if s is None:
        return "never"
    return "now" if s < 1.5 else f"{fmt.dur(s)} ago"


def cells(r) -> list[str]:
    """A board's line, in ``COLUMNS`` order."""
    return [r.name, r.state, r.case, fmt.num(r.tps), fmt.num(r.power_w), fmt.num(r.temp_c), since_text(r.since_s),
            r.target]


class FleetScreen(Screen):
    DEFAULT_CSS = "FleetScreen FitTable { height: 1fr; } FleetScreen #fleet-head { height: auto; padding: 0 1; }"
    BINDINGS = [Binding("enter", "open", "open board", show=True), Binding("x", "cancel", "cancel board")]

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(id="fleet-head")
        yield FitTable(id="fleet", pinned=PINNED, must=MUST, title="boards")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#fleet", FitTable).focus()

    def refresh_view(self) -> None:
        app = self.app
        fleet = getattr(app, "fleet", None)
        self.query_one(TitleBar).show(app.current, app.clock_text(), app.device_hint)
        head = self.query_one("#fleet-head", Static)
        table = self.query_one("#fleet", FitTable)
        if fleet is None:
            head.update("no fleet: start one with 'edgeprof tui --fleet FLEET.toml'")
            return
        rows = board_rows(fleet.boards)
        c = colours(app)
        running = sum(1 for r in rows if r.state == "running")
        head.update(Text(f"fleet {fleet.fleet.name} — {len(rows)} board(s), {running} running — {fleet.dir}",
                         style="bold"))
        table.show(list(COLUMNS), [cells(r) for r in rows], [r.name for r in rows],
                   [c.muted if r.stale else "" for r in rows])

    def _board(self):
        fleet = getattr(self.app, "fleet", None)
        table = self.query_one("#fleet", FitTable)
        if fleet is None or not 0 <= table.cursor_row < len(fleet.boards):
            return None
        return fleet.boards[table.cursor_row]

    def action_open(self) -> None:
        b = self._board()
        if b is not None:
            self.app.current = b
            self.app.action_mode("live")

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_cancel(self) -> None:
        b = self._board()
        if b is not None:
            self.app.notify(b.control("cancel"))
