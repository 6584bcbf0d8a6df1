"""The live screen's sensors column: every reading of the device and each unavailable sensor with
its reason (jtop). It renders what the run's ``sample`` events carried; it reads no hardware."""
from __future__ import annotations

from rich.text import Text

from edgeprof.results.described import DeviceDesc
from edgeprof.views.tui import fmt
from edgeprof.views.tui.state import SensorRow
from edgeprof.views.tui.theme import colours
from edgeprof.views.tui.widgets.quiet import Quiet, text_key


class SensorsPanel(Quiet):
    """Every reading of the device and each unavailable sensor with its reason and fix (jtop)."""

    DEFAULT_CSS = """SensorsPanel { padding: 0 1; border: round $panel-lighten-2; border-title-color: $foreground;
                                   text-wrap: nowrap; text-overflow: ellipsis; }"""

    def show(self, run, fallback_device: DeviceDesc | None = None) -> None:
        c = colours(self.app)
        st = run.state if run else None
        rows = st.sensor_rows(others=False) if st and st.device else info_rows(fallback_device)
        t = Text(no_wrap=True, overflow="ellipsis")
        width = max(10, self.size.width - 4)
        for row in rows:
            info = row.info
            if info is not None and not info.available:
                head = f"✗ {info.name}: "
                why = info.reason or "unavailable"
                t.append(head, style=c.error)
                t.append(_cut(why, width - len(head)) + "\n", style=c.muted)
                continue
            for r in row.readings or []:
                mark = "◆" if info and info.total else " "
                t.append(f"{mark}{_cut(r.sensor, 20):<20} ", style=c.muted)
                t.append(f"{reading_text(r)}\n")
            if info is not None and not row.readings:
                t.append(f" {_cut(info.name, 20):<20} ", style=c.muted)
                t.append("waiting for a sample\n", style=c.muted)
        t = t if t.plain else Text("no sensors declared", style=c.muted)
        self.put(t, text_key(t, width))


def reading_text(r) -> str:
    """One reading as the sensors panel shows it: value and unit, ``~`` when estimated, or why not."""
    if r.value is None and r.sensor.startswith("worker:") and str(r.reason or "").startswith("vanished"):
        return "— (no case running)"   # the last case's worker exited: its normal end, not a lost sensor
    if r.value is None:
        return f"n/a ({r.reason})" if r.reason else "n/a"
    return fmt.est(fmt.reading(r.value, r.unit, r.quantity), r.kind == "estimated")


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[:max(0, n - 1)] + "…"


def info_rows(device: DeviceDesc | None) -> list[SensorRow]:
    """Declared sensors of every detected device (before any run: nothing sampled yet)."""
    return [SensorRow(s, []) for d in (device or DeviceDesc()).all for s in d.sensors or ()]
