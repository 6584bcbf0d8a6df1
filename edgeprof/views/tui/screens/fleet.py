"""The fleet screen (``edgeprof tui --fleet FLEET.toml``, key ``f``): one line per board — state,
the case it runs, live tokens/s, power, temperature and the time since it last spoke. A board that
stops answering keeps its last values, greyed, with the time since; Enter opens that board's live
screen (power chart, sensors, the server panel), ``f`` comes back here."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from edgeprof.views.tui import fmt
from edgeprof.views.tui.fleetview import board_rows
from edgeprof.views.tui.theme import colours
from edgeprof.views.tui.widgets.titlebar import TitleBar

COLUMNS = ("board", "target", "state", "case", "live t/s", "power W", "temp °C", "last update")


def since_text(s: float | None) -> str:
    if s is None:
        return "never"
    return "now" if s < 1.5 else f"{fmt.dur(s)} ago"


class FleetScreen(Screen):
    DEFAULT_CSS = "FleetScreen DataTable { height: 1fr; } FleetScreen #fleet-head { height: auto; padding: 0 1; }"
    BINDINGS = [Binding("enter", "open", "open board", show=True), Binding("x", "cancel", "cancel board")]

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(id="fleet-head")
        yield DataTable(id="fleet", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#fleet", DataTable).add_columns(*COLUMNS)
        self.query_one("#fleet", DataTable).focus()

    def refresh_view(self) -> None:
        app = self.app
        fleet = getattr(app, "fleet", None)
        self.query_one(TitleBar).show(app.current, app.clock_text(), app.device_hint)
        head = self.query_one("#fleet-head", Static)
        table = self.query_one("#fleet", DataTable)
        if fleet is None:
            head.update("no fleet: start one with 'edgeprof tui --fleet FLEET.toml'")
            return
        rows = board_rows(fleet.boards)
        c = colours(app)
        running = sum(1 for r in rows if r.state == "running")
        head.update(Text(f"fleet {fleet.fleet.name} — {len(rows)} board(s), {running} running — {fleet.dir}",
                         style="bold"))
        cursor = table.cursor_row
        table.clear()
        for r in rows:
            style = c.muted if r.stale else ""
            cells = (r.name, r.target, r.state, r.case, fmt.num(r.tps), fmt.num(r.power_w),
                     fmt.num(r.temp_c), since_text(r.since_s))
            table.add_row(*(Text(str(x), style=style, no_wrap=True, overflow="ellipsis") for x in cells), key=r.name)
        if rows:
            table.move_cursor(row=min(max(cursor, 0), len(rows) - 1))

    def _board(self):
        fleet = getattr(self.app, "fleet", None)
        table = self.query_one("#fleet", DataTable)
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
