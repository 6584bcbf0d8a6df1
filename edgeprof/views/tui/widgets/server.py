"""The live screen's server panel: edge vs server for the running case or a chosen row (moved
as-is from ``panels.py``; its rows come from ``refview``)."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from edgeprof.views.tui import refview
from edgeprof.views.tui.theme import colours
from edgeprof.views.tui.widgets.quiet import Quiet


class ServerPanel(Quiet):
    """Edge vs server for the running case (live) or a chosen row (its record's comparison)."""

    DEFAULT_CSS = "ServerPanel { padding: 0 1; border: round $panel-lighten-2; }"

    def show(self, kind: str, head: dict, lines: list, footer: list[str]) -> None:
        c = colours(self.app)
        warn = kind in ("normalized", "none")
        key = (kind, tuple(sorted(head.items())), tuple(lines), tuple(footer), self.size.width, self.app.theme)
        if key == self._key:
            return
        self.titles(f"vs SERVER · {head.get('set') or '—'} ({refview.KIND_TEXT.get(kind, kind)})")
        self.styles.border_title_color = c["warning"] if warn else c["good"]
        parts: list = []
        if kind == "normalized":
            parts.append(Text("NOT A MATCH — per-parameter context only", style=f"bold {c['warning']}"))
        if lines:
            tab = Table(box=None, padding=(0, 1), show_edge=False, expand=False, header_style="bold")
            ratio = "edge÷server" if self.size.width >= 50 else "e÷s"
            for col, just in (("metric", "left"), ("edge", "right"), ("server", "right"), (ratio, "right")):
                tab.add_column(col, justify=just, no_wrap=True, min_width=7 if col == ratio else None)
            for ln in lines:
                tab.add_row(ln.label, ln.edge, ln.server, ln.ratio)
            parts.append(tab)
        for f in footer:
            parts.append(Text(f, style=c["muted"], overflow="fold"))
        self.put(Group(*parts), key)
