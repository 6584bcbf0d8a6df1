"""Screen 5, sensors (``d``): ``edgeprof devices`` live — every sensor of every device of the run,
its latest reading (from the run's ``sample`` events), provenance, and for each unavailable one the
reason and how to enable it. Between runs the screen asks the app for a monitor
(``engine.monitor``: the same devices, sampler and headline power as a run, at 2 Hz) while it is
shown, and stops it when it is left or a run starts."""
from __future__ import annotations

from rich.console import Group
from rich.padding import Padding
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from edgeprof.results.described import DeviceDesc, SensorDecl
from edgeprof.views.tui import fmt
from edgeprof.views.tui.state import SensorRow
from edgeprof.views.tui.widgets.sensors import info_rows
from edgeprof.views.tui.widgets.titlebar import TitleBar
from edgeprof.views.tui.theme import Palette, colours


def _line(c: Palette, mark: str, name: str, value, kind: str, where: str) -> Text:
    t = Text(no_wrap=True, overflow="ellipsis")
    t.append(f"{mark}{name[:26]:<26} ", style=c.error if mark == "✗ " else "")
    t.append_text(value if isinstance(value, Text) else Text(f"{value:>14}"))
    t.append(f"  {kind:<10} {where}", style=c.muted)
    return t


def sensor_lines(rows: list[SensorRow], c: Palette, sampling: bool) -> list:
    """One line per reading (name, value, kind, source · scope) and under it, indented and
    wrapped, its note — or for an unavailable sensor why, and how to enable it."""
    out: list = [Text(f"  {'sensor':<26} {'value':>14}  {'kind':<10} source · scope", style="bold")]
    other = None
    for row in rows:
        info = row.info or SensorDecl()
        if row.other and row.other != other:
            other = row.other
            out.append(Text(f"\n{other}: not sampled while the case runs on the device above", style="bold"))
        where = f"{info.source} · {info.scope}"
        if row.info is not None and not info.available:
            out.append(_line(c, "✗ ", info.name, Text(f"{'unavailable':>14}", style=c.error), info.kind, where))
            why = Text("why: " + (info.reason or "unavailable"), style=c.error)
            if info.hint:
                why.append(f" → fix: {info.hint}", style=c.muted)
            out.append(Padding(why, (0, 0, 0, 4)))
            continue
        readings = row.readings or []
        mark = "◆ " if info.total else "  "
        if not readings and row.info is not None:
            out.append(_line(c, mark, info.name, "…" if sampling and not other else "—", info.kind, where))
        for r in readings:
            val = fmt.est(fmt.reading(r.value, r.unit, r.quantity), r.kind == "estimated") if r.value is not None \
                else "n/a"
            out.append(_line(c, mark, r.sensor, val, r.kind, f"{r.source} · {r.scope}"))
            if r.value is None and r.reason:
                out.append(Padding(Text("why: " + r.reason, style=c.error), (0, 0, 0, 4)))
        note = (readings[0].note if readings else "") or info.note or ""
        if note:
            out.append(Padding(Text(note, style=c.muted), (0, 0, 0, 4)))
    if not sampling:
        out.append(Text("waiting for the first sample (this screen never reads sensors itself)", style=c.muted))
    return out


class SensorsScreen(Screen):
    def compose(self) -> ComposeResult:
        yield TitleBar()
        with VerticalScroll():
            yield Static(id="sensors-head")
            yield Static(id="sensors-table")
        yield Footer()

    def on_mount(self) -> None:
        self.on_screen_resume()

    def on_screen_resume(self) -> None:
        self.app.start_monitor()       # nothing measures now: read the sensors live while shown
        self.refresh_view()

    def on_screen_suspend(self) -> None:
        self.app.stop_monitor()

    def source(self):
        """The run that samples now, else the monitor, else the last run (its last readings)."""
        app = self.app
        return app.running() or app.monitor or app.current

    def refresh_view(self) -> None:
        app, run = self.app, self.source()
        c = colours(app)
        self.query_one(TitleBar).show(run, app.clock_text(), app.device_hint)
        st = run.state if run else None
        device = (st.device if st and st.device else app.device_hint) or DeviceDesc()
        sampling = bool(st and st.readings)
        rows = st.sensor_rows() if st and st.device else info_rows(device)
        head = []
        for d in device.all:
            head.append(Text(f"{d.name} ({d.kind}, {fmt.size(d.memory_bytes)})", style="bold"))
            head.append(Text("; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                                       for k, v in d.specs.items()), style=c.muted))
        if not device.all:
            head.append(Text("detecting devices…", style=c.muted))
        n_off = sum(1 for r in rows if r.info is not None and not r.info.available)
        age = ""
        if sampling:
            last = max(r.t_ns for r in st.readings.values())
            age = f" · last sample {max(0.0, (app.now_ns() - last) / 1e9):.1f} s ago"
        live = ("live between runs (read at 2 Hz while this screen is shown; a run stops it)"
                if run is not None and run is app.monitor else "recorded (replay)" if run is not None and run.replay
                else "live from the run" if run is not None and run is app.running() else "last readings of the run")
        head.append(Text(f"◆ = headline power (total-power rule) · ~ = estimated · {n_off} unavailable · "
                         + (live + age if sampling else "reading the sensors…" if run is app.monitor
                            else "no run is sampling"), style=c.muted))
        self.query_one("#sensors-head", Static).update(Group(*head))
        self.query_one("#sensors-table", Static).update(Group(*sensor_lines(rows, c, sampling)))
