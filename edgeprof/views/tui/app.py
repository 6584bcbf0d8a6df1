"""``edgeprof tui``: the bench, live. A thread worker runs the sweep; every event reaches the UI
through ``call_from_thread`` and is folded into a Snapshot that the widgets render."""
from __future__ import annotations

from textual import work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Footer, Header, Sparkline, Static

from edgeprof.results.printers import columns
from edgeprof.views.tui.state import Snapshot

SHOWN = ("model", "quant", "test", "TTFT ms", "decode t/s", "J/token", "peak RSS MiB", "vs server", "status")
COLUMNS = SHOWN


def row_cells(r) -> tuple[str, ...]:
    cells = {name: fn for name, fn in columns()}
    return tuple(cells[c](r) for c in SHOWN)


class EdgeprofApp(App):
    TITLE = "edgeprof"
    CSS = """
    #live { height: 9; }
    #now { width: 1fr; padding: 0 1; }
    .spark { width: 1fr; padding: 0 1; }
    Sparkline { height: 4; }
    #results { height: 1fr; }
    """
    BINDINGS = [("q", "quit", "Quit")]

    def __init__(self, session, on_exit=None):
        super().__init__()
        from multiprocessing import resource_tracker

        # start the tracker while sys.stderr is still a real file: under Textual it is not, and a
        # spawn that has to start it then fails ("bad value(s) in fds_to_keep")
        resource_tracker.ensure_running()
        self.session = session
        self.cases = session.cases
        self.snap = Snapshot(total=len(session.cases))
        self.on_exit_cb = on_exit
        session.fanout.want_samples = True
        session.fanout.add(lambda e: self.call_from_thread(self.on_bench_event, e))
        self.bench = session.start(quiet_workers=True)  # a worker writing to the terminal would tear the screen

    def compose(self) -> ComposeResult:
        yield Header()
        from edgeprof.engine.device_choice import bench_device, power_source

        dev = bench_device(self.session.devices, self.cases[0].placement) if self.cases else self.session.devices[-1]
        info, power = dev.info(), power_source(dev)
        src = f"{power.provenance.source} ({power.provenance.kind})" if power else "no power sensor"
        yield Static(f"device: {info.name} [{info.kind}]   power: {src}   run: {self.session.run_dir}", id="device")
        with Horizontal(id="live"):
            yield Static("waiting for the first case…", id="now")
            with Vertical(classes="spark"):
                yield Static("power W", id="power_label")
                yield Sparkline([], id="power")
            with Vertical(classes="spark"):
                yield Static("worker RSS MiB", id="rss_label")
                yield Sparkline([], id="rss")
        yield DataTable(id="results")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#results", DataTable)
        table.add_columns(*COLUMNS)
        self.sub_title = f"{len(self.cases)} case(s)"
        self.run_sweep()

    async def action_quit(self) -> None:
        self.bench.cancel()  # the running case ends as "cancelled"; finished rows are kept
        self.exit()

    @work(thread=True, exclusive=True)
    def run_sweep(self) -> None:
        try:
            self.session.run()
        finally:
            self.call_from_thread(self.sweep_done)

    def sweep_done(self) -> None:
        self.snap.done = True
        self.query_one("#now", Static).update(f"done: {len(self.snap.finished)} case(s) written to "
                                              f"{self.session.run_dir}/records.jsonl — press q")

    def on_bench_event(self, e) -> None:
        from edgeprof.engine import events as ev

        finished_before = len(self.snap.finished)
        self.snap.apply(e)
        s = self.snap
        if isinstance(e, ev.SampleEvent):
            self.query_one("#power", Sparkline).data = list(s.power_w)
            self.query_one("#rss", Sparkline).data = list(s.rss_mib)
            if s.power_w:
                self.query_one("#power_label", Static).update(f"power {s.power_w[-1]:.1f} W — {s.power_label}")
            if s.rss_mib:
                self.query_one("#rss_label", Static).update(f"worker RSS {s.rss_mib[-1]:.0f} MiB")
            return
        tok = f"  token {s.tokens[0]}/{s.tokens[1]}" if s.tokens else ""
        rep = f"  rep {s.rep + 1}" if s.rep is not None else ""
        notes = "\n".join(list(s.notices)[-3:])
        self.query_one("#now", Static).update(f"[{s.index}/{s.total}] {s.case}\n{s.phase}{rep}{tok}\n{notes}")
        if len(s.finished) > finished_before:
            self.query_one("#results", DataTable).add_row(*row_cells(s.finished[-1]))
