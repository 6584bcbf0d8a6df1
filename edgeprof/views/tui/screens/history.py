"""Screen 6, history (``h``): every indexed row of the SQLite history (``results.history``), newest
first, this host by default; the trend of the highlighted row's configuration across runs; Enter
opens a row, space marks two rows and ``c`` compares them (``compare``'s verdicts)."""
from __future__ import annotations

import json
import socket
import statistics

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from edgeprof.results.printers import metric_cell, status_cell
from edgeprof.results.schema import Record
from edgeprof.views.tui.theme import colours
from edgeprof.views.tui.widgets.fittable import Col, FitTable
from edgeprof.views.tui.widgets.results import server_cell
from edgeprof.views.tui.widgets.titlebar import TitleBar

SPARK = "▁▂▃▄▅▆▇█"
COLUMNS = (Col("when"), Col("model", 24, shrink_to=12), Col("quant"), Col("test"), Col("decode t/s"), Col("vs server"),
           Col("J/token"), Col("status", 16), Col("device", 24), Col("run"))   # by priority: FitTable


def db_path():
    from edgeprof.results.store import resolve

    return resolve()   # a Target: prints as its label (a URL's password never reaches the screen)


def load_rows(db) -> list[tuple[str, Record]]:
    """(run_id, record) for every indexed row, newest first; [] when there is no history yet."""
    from edgeprof.results.history import all_records

    return sorted(all_records(db), key=lambda x: x[1].started_at or "", reverse=True)


def config_key(r: Record) -> str:
    return json.dumps([r.workload_key(), r.artifact.format, r.artifact.quant, r.runtime.name,
                       r.runtime.placement.threads, r.device.id, r.host], default=str)


def trend(rows: list[Record], metric: str = "decode_tokens_per_s") -> tuple[str, list[float]]:
    """A sparkline of the metric over runs (oldest left) and the values."""
    vals = [r.value(metric) for r in sorted(rows, key=lambda r: r.started_at or "") if r.value(metric)]
    if not vals:
        return "", []
    lo, hi = min(vals), max(vals)
    return "".join(SPARK[int((v - lo) / (hi - lo) * 7) if hi > lo else 3] for v in vals), vals


class HistoryScreen(Screen):
    DEFAULT_CSS = "HistoryScreen FitTable { height: 1fr; } HistoryScreen #trend { height: auto; padding: 0 1; }"
    BINDINGS = [Binding("enter", "details", "details", show=False), Binding("space", "mark", "mark", show=False),
                Binding("c", "compare", "compare 2 rows"), Binding("a", "all_hosts", "all hosts"),
                Binding("f5", "reload", "reload")]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, Record]] = []
        self.all_hosts = False
        self.marked: list[int] = []

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(id="hist-head")
        yield FitTable(id="hist", pinned=4, title="runs")
        yield Static(id="trend")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#hist", DataTable).focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.query_one("#hist-head", Static).update("reading the history index…")
        self._load()

    @work(thread=True, exclusive=True, group="history")
    def _load(self) -> None:
        db = db_path()
        try:
            rows = load_rows(db)
            err = None
        except Exception as exc:  # noqa: BLE001 - a damaged index is a line on screen, not a crash
            rows, err = [], f"{type(exc).__name__}: {exc}"
        self.app.call_from_thread(self._fill, db, rows, err)

    def _fill(self, db, rows: list, err: str | None) -> None:
        host = socket.gethostname()
        self.rows = [x for x in rows if self.all_hosts or x[1].host == host]
        self.marked = []
        cells = [[(r.started_at or "")[5:16].replace("T", " "), r.model.id or "", r.artifact.quant or "",
                  r.workload.label, metric_cell(r, "decode_tokens_per_s"), server_cell(r),
                  metric_cell(r, "energy_per_token_j"), status_cell(r), r.device.name or "", run_id]
                 for run_id, r in self.rows]
        table = self.query_one("#hist", FitTable)
        table.marked = set()
        table.show(list(COLUMNS), cells, [str(i) for i in range(len(cells))])
        scope = "all hosts" if self.all_hosts else f"this host ({host})"
        msg = (f"history — {scope}: {len(self.rows)} rows from {db}" if not err else f"history not readable: {err}")
        if not rows and not err:
            msg = f"no history yet at {db}: every run (bench or here) is indexed when it ends"
        self.query_one("#hist-head", Static).update(Text(msg, style="bold"))
        self._trend()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._trend()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_details()

    def _current(self) -> Record | None:
        i = self.query_one("#hist", DataTable).cursor_row
        return self.rows[i][1] if 0 <= i < len(self.rows) else None

    def _trend(self) -> None:
        rec = self._current()
        out = self.query_one("#trend", Static)
        if rec is None:
            out.update("")
            return
        same = [r for _, r in self.rows if config_key(r) == config_key(rec) and r.ok]
        spark, vals = trend(same)
        c = colours(self.app)
        text = Text(f"trend decode t/s ({rec.model.id} {rec.artifact.quant} {rec.workload.label} "
                    f"t{rec.runtime.placement.threads}): ", style=c.muted)
        if len(vals) >= 2:
            med = statistics.median(vals)
            text.append(spark, style=c.good)
            text.append(f"  {len(vals)} runs, {min(vals):.1f}–{max(vals):.1f} (spread ±{(max(vals) - min(vals)) / 2 / med:.0%}"
                        f" of the median)  → space marks, c compares", style=c.muted)
        else:
            text.append("one run of this configuration so far", style=c.muted)
        out.update(text)

    def action_details(self) -> None:
        rec = self._current()
        if rec is not None:
            from edgeprof.views.tui.screens.detail import DetailScreen

            self.app.push_screen(DetailScreen(rec))

    def action_mark(self) -> None:
        i = self.query_one("#hist", DataTable).cursor_row
        if 0 <= i < len(self.rows):
            self.marked = [m for m in self.marked if m != i] if i in self.marked else (self.marked + [i])[-2:]
            self.query_one("#hist", FitTable).mark(str(m) for m in self.marked)
            self.notify(f"marked for compare: {len(self.marked)}/2 (c compares)", timeout=2)

    def action_compare(self) -> None:
        if len(self.marked) != 2:
            self.notify("mark two rows with space, then press c", timeout=4)
            return
        from edgeprof.views.tui.screens.compare import CompareScreen

        a, b = (self.rows[i][1] for i in self.marked)
        self.app.push_screen(CompareScreen(a, b))

    def action_all_hosts(self) -> None:
        self.all_hosts = not self.all_hosts
        self.action_reload()

    def refresh_view(self) -> None:
        self.query_one(TitleBar).show(self.app.current, self.app.clock_text(), self.app.device_hint)
