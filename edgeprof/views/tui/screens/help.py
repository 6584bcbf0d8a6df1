"""``?``: every binding active where it was pressed (built from the bindings themselves, so it is
never out of date), and how to read the figures."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

LEGEND = (
    "~ before a figure: an estimate (its method is in the row detail and the Markdown legend)",
    "EXACT / SAME MODEL: a server row with this model and workload; NOT A MATCH: another model, "
    "per-parameter context only",
    "live ratios are from the figures so far; a finished row shows its record's comparison",
    "p pauses before the next case (the running case finishes; a pause inside it would be timed)",
    "up/down, page up/down, home/end move in tables; ←/→ show a table's other columns (only whole columns are "
    "shown); tab moves between fields, esc leaves a field (letters typed there never act); ctrl+p opens the "
    "command palette",
    "[x] marked or picked · [ ] not · (•) the preset the fields hold ('custom' when they match none)",
    "the mouse works too: click rows, buttons and fields",
)


def _declared(node) -> list[Binding]:
    """The bindings edgeprof's own classes declare on ``node`` (not Textual's defaults)."""
    out: list[Binding] = []
    for cls in type(node).__mro__:
        if cls.__module__.startswith("edgeprof."):
            out += [b if isinstance(b, Binding) else Binding(*b) for b in cls.__dict__.get("BINDINGS", [])]
    return out


def binding_rows(screen) -> list[tuple[str, str, str]]:
    """(where, key, what) for every edgeprof binding on ``screen`` and the app, shown or hidden:
    read from the declarations, so the list cannot drift from the keys."""
    rows, seen = [], set()
    for where, node in (("this screen", screen), ("everywhere", screen.app)):
        for b in _declared(node):
            if b.description and b.action not in seen:
                seen.add(b.action)
                keys = ", ".join(b.key_display or _key(k) for k in b.key.split(",")[:1])
                rows.append((where, keys, b.description))
    return rows


def _key(key: str) -> str:
    return {"question_mark": "?", "space": "space", "enter": "enter", "escape": "esc"}.get(key, key)


class HelpScreen(ModalScreen):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: thick $primary;
                                  background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close help", key_display="esc")]

    def __init__(self, under):
        super().__init__()
        self.rows = binding_rows(under)
        self.under_name = type(under).__name__.replace("Screen", "").lower() or "screen"

    def compose(self) -> ComposeResult:
        tab = Table(box=None, show_header=True, header_style="bold", expand=True)
        tab.add_column("key", no_wrap=True)
        tab.add_column("does")
        tab.add_column("where", no_wrap=True)
        for where, key, what in self.rows:
            tab.add_row(key, what, where)
        with VerticalScroll():
            yield Static(Text(f"edgeprof keys — {self.under_name} (esc closes)", style="bold"))
            yield Static(tab, id="help-keys")
            yield Static(Text("\n".join("• " + x for x in LEGEND)), id="help-legend")
