"""Screen 1, live: what the running case is doing (phase, repetition, tokens, live tokens/s, TTFT,
elapsed, ETA), power and memory charts, every sensor, the server comparison and the results.

At 80×24 the sensors column folds away (``d`` opens the full sensors screen) and the memory chart
becomes a line in the progress panel; nothing else is dropped."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from edgeprof.views.tui import refview
from edgeprof.views.tui.widgets.charts import MemoryChart, PowerChart
from edgeprof.views.tui.widgets.progress import ProgressPanel
from edgeprof.views.tui.widgets.sensors import SensorsPanel
from edgeprof.views.tui.widgets.server import ServerPanel, record_view
from edgeprof.views.tui.widgets.titlebar import TitleBar
from edgeprof.views.tui.widgets.results import ResultsTable
from edgeprof.views.tui.widgets.sustain import SustainChart


class LiveScreen(Screen):
    DEFAULT_CSS = """
    LiveScreen #middle { height: 55%; min-height: 8; }
    LiveScreen #charts { width: 1fr; min-width: 30; }
    LiveScreen PowerChart { height: 1fr; min-height: 6; }
    LiveScreen MemoryChart { height: 8; }
    LiveScreen SensorsPanel { width: 36; }
    LiveScreen ServerPanel { width: 56; }
    LiveScreen.-narrow SensorsPanel { display: none; }
    LiveScreen.-narrow ServerPanel { width: 46; }
    LiveScreen.-short MemoryChart { display: none; }
    LiveScreen SustainChart { height: 8; display: none; }
    LiveScreen.-sustain SustainChart { display: block; }
    LiveScreen ResultsTable { height: 1fr; min-height: 4; }
    """
    BINDINGS = [
        Binding("p", "control('pause')", "pause"),
        Binding("s", "control('skip')", "skip"),
        Binding("x", "control('cancel')", "cancel"),
        Binding("enter", "details", "details", show=False),
        Binding("space", "mark", "mark row", show=False),
        Binding("c", "compare", "compare 2 rows"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.marked: list[str] = []

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield ProgressPanel()
        with Horizontal(id="middle"):
            with Vertical(id="charts"):
                yield PowerChart()
                yield SustainChart()
                yield MemoryChart()
            yield SensorsPanel()
            yield ServerPanel()
        yield ResultsTable()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(SensorsPanel).border_title = "sensors"
        self.query_one(ResultsTable).focus()
        self.on_resize()

    def on_screen_resume(self) -> None:
        """Drawn from the current run before the first frame: a new run started on the form never
        shows the previous run's figures while it waits for the timer."""
        self.app.tick()

    def on_resize(self, event=None) -> None:
        w, h = self.app.size
        self.set_class(w < 140, "-narrow")
        self.set_class(h < 34, "-short")

    # -- refresh (called by the app's timer) ------------------------------------------------
    def refresh_view(self) -> None:
        app = self.app
        run, now = app.current, app.now_ns()
        self.query_one(TitleBar).show(run, app.clock_text(), app.device_hint)
        self.query_one(ProgressPanel).show(run, now)
        self.query_one(PowerChart).show(run, now)
        sustain = getattr(getattr(run, "opts", None), "sustain", None)  # --sustain: the live decode chart
        self.set_class(bool(sustain), "-sustain")
        if sustain:
            self.query_one(SustainChart).show(run, now, run.opts.sustain_window)
        if not self.has_class("-short"):
            self.query_one(MemoryChart).show(run, now)
        if not self.has_class("-narrow"):
            self.query_one(SensorsPanel).show(run, app.device_hint)
        self.query_one(ResultsTable).show_run(run)
        self._server(run)

    def _server(self, run) -> None:
        panel = self.query_one(ServerPanel)
        table = self.query_one(ResultsTable)
        rec = table.record_at_cursor()
        case = run.state.case if run else None
        if case is not None and (rec is None or table.cursor_row >= table.row_count - 1):
            p = self.app.planned_for(case)
            st = run.state
            edge = {"decode_tokens_per_s": case.rep_median_tps or case.live_tps, "ttft_ms": case.ttft_median_ms,
                    "energy_per_token_j": None, "prefill_tokens_per_s": case.prefill_median_tps,
                    "avg_power_w": st.power_since_measure(),
                    "avg_rss_bytes": st.rss.mean_since(case.measure_t0_ns) if case.measure_t0_ns else None}
            estimated = "estimated" in (st.power_now_label or st.power_label)
            foot = [f"row {p.row} · {p.verification} · {p.where}" if p.row else "", *p.notes,
                    f"roofline: edge after the case · server {refview.record_roofline(p.record)}" if p.record else "",
                    "live: edge figures so far; the record's comparison replaces them"]
            panel.show(p.kind, {"set": p.set_name}, refview.live_lines(p, edge, estimated), [f for f in foot if f])
            return
        rec = rec or (run.state.finished[-1] if run and run.state.finished else None)
        if rec is None:
            panel.show("none", {}, [], ["no case yet: the matching reference row shows as soon as a case is "
                                        "scheduled"])
            return
        self.show_record_comparison(panel, rec)

    def show_record_comparison(self, panel: ServerPanel, rec) -> None:
        panel.show(*record_view(rec))

    # -- actions ------------------------------------------------------------------------------
    def action_control(self, what: str) -> None:
        run = self.app.current
        self.notify(run.control(what) if run else "no run", timeout=4)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_details()

    def action_details(self) -> None:
        rec = self.query_one(ResultsTable).record_at_cursor()
        if rec is None:
            self.notify("choose a finished row (the running case has no record yet)", timeout=3)
            return
        from edgeprof.views.tui.screens.detail import DetailScreen

        self.app.push_screen(DetailScreen(rec))

    def action_mark(self) -> None:
        table = self.query_one(ResultsTable)
        rec = table.record_at_cursor()
        if rec is None:
            return
        if rec.case_id in self.marked:
            self.marked.remove(rec.case_id)
        else:
            self.marked = (self.marked + [rec.case_id])[-2:]
        table.mark(self.marked)
        self.notify(f"marked for compare: {len(self.marked)}/2 (c compares)", timeout=2)

    def action_compare(self) -> None:
        run = self.app.current
        recs = {r.case_id: r for r in (run.state.finished if run else [])}
        chosen = [recs[c] for c in self.marked if c in recs]
        if len(chosen) != 2:
            self.notify("mark two finished rows with space, then press c", timeout=4)
            return
        from edgeprof.views.tui.screens.compare import CompareScreen

        self.app.push_screen(CompareScreen(chosen[0], chosen[1]))
