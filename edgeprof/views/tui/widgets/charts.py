"""The two live charts: headline power (idle baseline drawn, phases shaded) and the worker's memory
against the device total. Each keeps its own fixed scale for the life of a run (``Scale``)."""
from __future__ import annotations

from rich.text import Text

from edgeprof.views.charts.axes import scale_for
from edgeprof.views.tui import fmt
from edgeprof.views.tui.series import Scale, nice_ceiling
from edgeprof.views.tui.theme import colours, shades
from edgeprof.views.tui.widgets import plot
from edgeprof.views.tui.widgets.quiet import Quiet


class _Chart(Quiet):
    DEFAULT_CSS = """_Chart { padding: 0 1; border: round $panel-lighten-2; border-title-color: $foreground;
                             border-subtitle-color: $foreground; }"""

    def __init__(self) -> None:
        super().__init__()
        self._scale, self._run, self.unit = Scale(), None, ""

    def _geometry(self) -> tuple[int, int, float]:
        w = max(10, self.size.width - 2)
        h = max(2, self.size.height)
        return w, h, 120.0 if w >= 90 else 60.0

    def _scale_for(self, run) -> Scale:
        if run is not self._run:
            self._scale, self._run = Scale(), run
        return self._scale

    def _draw(self, series, run, now_ns: int, top_floor: float, scale_div: float, baseline: float | None,
              fmt_label) -> None:
        c = colours(self.app)
        w, h, span = self._geometry()
        scale = self._scale_for(run)
        peak = series.peak(now_ns, span)
        if fmt_label is None:   # bytes: the axis unit (MiB, GiB) as the report picks it, the scale in that unit
            factor, unit = scale_for("B", max(peak or 0.0, top_floor))
            if unit != self.unit:
                self._scale = scale = Scale()
            self.unit, scale_div, top_floor, fmt_label = unit, 1 / factor, top_floor * factor, _w
        if top_floor > 0:
            scale.top = max(scale.top, nice_ceiling(top_floor))
        top = scale.fit(None if peak is None else peak / scale_div, now_ns)
        gut = max(len(fmt_label(top)), len(fmt_label(0.0))) + 1
        vals = [None if v is None else v / scale_div for v in plot.columns(series, now_ns, span, w - gut)]
        phases = plot.phase_columns(run.state.phases, now_ns, span, w - gut)
        key = (tuple(vals), tuple(phases), top, baseline, w, h, self.app.theme)
        if key == self._key:
            return
        pal = plot.Palette(bar=c.bar, baseline=c.baseline, axis=c.axis, shade=shades(c))
        self.put(plot.render(vals, top, h - 1, baseline=baseline, shades=phases, palette=pal, span_s=span,
                             fmt=fmt_label), key)


class PowerChart(_Chart):
    def show(self, run, now_ns: int) -> None:
        if run is None:
            self.titles("power W")
            self.put(Text("no run", style=colours(self.app).muted), "none")
            return
        st = run.state
        idle = st.idle.get("idle_power_w")
        label = st.power_now_label or st.power_label or "no power sensor"
        estimated = "estimated" in label
        title = f"power W · {label}"
        bits = []
        if idle is not None:
            bits.append(f"idle ╌ {fmt.est(fmt.num(idle), estimated)} W")
        if st.power.last is not None:
            bits.append(f"now {fmt.est(fmt.num(st.power.last), estimated)} W")
        avg = st.power_since_measure()
        if avg is not None:
            bits.append(f"case avg {fmt.est(fmt.num(avg), estimated)} W")
        bits.append("shade: prefill/decode/idle")
        self.titles(title, " · ".join(bits))
        floor = (idle or 0) * 1.5
        self._draw(st.power, run, now_ns, floor, 1.0, idle, _w)


class MemoryChart(_Chart):
    def show(self, run, now_ns: int) -> None:
        if run is None:
            self.titles("worker memory")
            self.put("", "none")
            return
        st = run.state
        total = (st.case.device if st.case else st.device).memory_bytes or st.device.memory_bytes
        peak = st.rss.peak(now_ns, 3600)
        sub = None
        if peak is not None and total:
            sub = f"peak {fmt.size(peak)} of {fmt.size(total)} device ({peak / total:.1%})"
        elif total:
            sub = f"device total {fmt.size(total)}"
        self._draw(st.rss, run, now_ns, 64 * 2**20, 1.0, None, None)
        self.titles(f"worker RSS {self.unit} (process tree)", sub)


def _w(v: float) -> str:
    return f"{v:.0f}" if v >= 10 or v == int(v) else f"{v:.1f}"


