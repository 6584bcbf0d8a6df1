"""Screen 2, row detail (Enter on a row): every metric with its provenance, interval and samples,
the server comparison in full, and ``y`` to copy it all as Markdown (``rowtext`` builds both, so
what is pasted is what was read). A normalized comparison gets a NOT A MATCH banner."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from edgeprof.results.schema import Record
from edgeprof.views.tui import rowtext
from edgeprof.views.tui.theme import colours


def _table(head, rows, wide: tuple[str, ...] = ()) -> Table:
    """Names and values never cut; the long columns (samples, provenance, notes) fold."""
    tab = Table(box=None, header_style="bold", expand=False, pad_edge=False, padding=(0, 1))
    for h in head:
        tab.add_column(h, no_wrap=h not in wide, overflow="fold" if h in wide else "ellipsis",
                       min_width=len(max((r[head.index(h)] for r in rows), key=len, default="")) if h not in wide
                       else 8, max_width=60 if h in wide else None)
    for r in rows:
        tab.add_row(*r)
    return tab


class DetailScreen(Screen):
    DEFAULT_CSS = """
    DetailScreen #banner { background: $warning; color: $background; padding: 0 1; text-style: bold; }
    DetailScreen #banner.-hidden { display: none; }
    DetailScreen VerticalScroll { padding: 0 1; }
    """
    BINDINGS = [Binding("escape", "app.pop_screen", "back"), Binding("y", "copy", "copy as Markdown")]

    def __init__(self, rec: Record):
        super().__init__()
        self.rec = rec
        self.markdown = rowtext.markdown(rec)

    def compose(self) -> ComposeResult:
        banner = rowtext.not_a_match(self.rec.reference)
        b = Static(banner or "", id="banner")
        b.set_class(banner is None, "-hidden")
        yield b
        with VerticalScroll():
            yield Static(id="detail-body")
        yield Footer()

    def on_mount(self) -> None:
        c = colours(self.app)
        rec = self.rec
        parts: list = [Text(rowtext.title(rec), style="bold")]
        for k, v in rowtext.facts(rec):
            parts.append(Text.assemble((f"{k:<14}", c.muted), v))
        rows = rowtext.metric_rows(rec)
        notes: list[str] = []
        figures, origins = [], []
        # below 100 columns the interval moves to the second table, so no figure is ever cut
        n_fig = 6 if self.app.size.width < 100 else 7
        for r, note in rows:
            if note and note not in notes:
                notes.append(note)
            figures.append(r[:n_fig])
            origins.append([r[0], *r[n_fig:7], r[8] + (f" [{notes.index(note) + 1}]" if note else ""), r[7]])
        parts += [Text(""), Text("metrics (value is the median; ~ = estimated)", style="bold")]
        if figures:
            parts.append(_table(rowtext.METRIC_HEAD[:n_fig], figures))
            parts += [Text(""), Text("where each figure comes from, and its repetition samples", style="bold")]
            parts.append(_table(("metric", *rowtext.METRIC_HEAD[n_fig:7], "provenance", "samples"), origins,
                                wide=("provenance", "samples")))
        else:
            parts.append(Text("no metrics: the case ended before a measured repetition", style=c.muted))
        parts += [Text(f"[{i + 1}] {n}", style=c.muted) for i, n in enumerate(notes)]
        comp = rec.reference
        parts += [Text(""), Text("server reference", style="bold")]
        parts += [Text(x) for x in (rowtext.comparison_head(comp) if comp is not None
                                    else ["no server comparison in this record"])]
        if comp is not None and comp.ratios:
            parts.append(_table(rowtext.RATIO_HEAD, rowtext.comparison_rows(comp),
                                wide=("verdict · note", "edge provenance", "server provenance")))
        if comp is not None and rowtext.other_rows(comp):
            parts += [Text(""), Text("other rows compared", style="bold"),
                      _table(rowtext.OTHER_HEAD, rowtext.other_rows(comp), wide=("row",))]
        if rec.warnings:
            parts += [Text(""), Text("warnings", style="bold")] + [Text("• " + w, style=c.warning) for w in rec.warnings]
        parts += [Text(""), Text("y copies all of this as Markdown · esc goes back", style=c.muted)]
        self.query_one("#detail-body", Static).update(Group(*parts))

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.markdown)
        self.notify(f"copied {len(self.markdown.splitlines())} lines of Markdown to the clipboard (OSC 52; "
                    "your terminal must allow it)", timeout=5)
