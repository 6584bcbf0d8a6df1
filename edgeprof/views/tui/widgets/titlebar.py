"""The title bar every screen shows: the device, its power source and the clock."""
from __future__ import annotations

from rich.text import Text

from edgeprof.results.described import DeviceDesc
from edgeprof.views.tui.widgets.quiet import Quiet, text_key


def device_title(device: DeviceDesc, power_label: str) -> str:
    """``Jetson AGX Orin · nvpmodel MAXN · L4T 35.4.1 · power VDD_IN (measured, module)``."""
    extra = " · ".join(f"{label} {device.spec(k)}" for k, label in (("power_mode", "nvpmodel"), ("l4t", "L4T"),
                                                                     ("driver", "driver")) if device.spec(k))
    name = device.name or "device"
    power = f"power {power_label}" if power_label else "power: no sensor (energy not reported)"
    return " · ".join(x for x in (name, extra, power) if x)


class TitleBar(Quiet):
    DEFAULT_CSS = "TitleBar { dock: top; height: 1; background: $panel; color: $foreground; padding: 0 1; }"

    def show(self, run, now_text: str, fallback_device: DeviceDesc | None = None) -> None:
        st = run.state if run else None
        device = (st.device if st and st.device else fallback_device) or DeviceDesc()
        label = st.power_label if st and st.device else (fallback_device or DeviceDesc()).power_label
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append("edgeprof", style="bold")
        text.append(" ─ " + device_title(device, label))
        from edgeprof.views.power_text import title_context

        ctx = title_context(st.finished) if st else ""
        if ctx:  # the settings the newest row ran under (a power sweep changes them)
            text.append(" · " + ctx)
        if run is not None and run.replay:
            text.append("  [replay]", style="italic")
        room = self.size.width - 3 - len(now_text)      # the clock always shows; the device line gives way
        if text.cell_len > room > 0:
            text.truncate(room, overflow="ellipsis")
        pad = max(1, self.size.width - 2 - text.cell_len - len(now_text))
        text.append(" " * pad + now_text)
        self.put(text, text_key(text))
