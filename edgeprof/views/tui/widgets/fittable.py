"""A table that shows whole columns only, chosen by priority for the terminal's width.

Why: a results row has ~20 columns; at 80 or 120 columns a plain ``DataTable`` cuts the last
visible number mid-digits and leaves the columns after it (``vs server`` among them) unreachable.
Here the caller gives the columns in priority order; the first ``pinned`` always show, then as
many of the rest as fit *whole*, starting at a column offset that ←/→ move one column at a time
(horizontal scrolling by columns, so no number is ever cut at the edge). A number is never
shortened; a text cell longer than its column's ``cap`` ends in ``…`` (Enter shows the row in
full). Cells are plain text, never markup: ``[localscore]`` or a model named ``[red]x`` show as
they are. The border title says which columns show and that ←/→ reach the others.
"""
from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable

PAD = 2   # DataTable's cell_padding (1) on both sides of a cell


@dataclass(frozen=True)
class Col:
    name: str
    cap: int | None = None        # text columns only: the widest shown (longer cells end in "…")
    reserve: int = 0              # width kept free for a cell that grows (the running case's status)
    shrink_to: int | None = None  # text columns only: may narrow to this so that ``must`` columns fit


def clip(text: str, cap: int | None) -> str:
    if cap is None or cell_len(text) <= cap:
        return text
    out = ""
    for ch in text:
        if cell_len(out + ch) > cap - 1:
            break
        out += ch
    return out + "…"


def widths(cols: list[Col], rows: list[list[str]]) -> list[int]:
    """Each column's width: its longest (clipped) cell or its name, or what it reserves."""
    out = []
    for i, c in enumerate(cols):
        cells = [cell_len(clip(r[i], c.cap)) for r in rows if i < len(r)]
        out.append(max([cell_len(c.name), c.reserve, *cells]))
    return out


def fit(ws: list[int], pinned: int, width: int, offset: int, mins: list[int] | None = None,
        must: int = 0) -> tuple[list[int], int, list[int]]:
    """Indices of the columns to show: the ``pinned`` first, then from ``offset`` (into the rest)
    every column that still fits whole, in order. Returns (indices, offset actually used, widths):
    the offset is pulled back so that the view never ends in empty space while columns are
    hidden, and pinned text columns narrow toward ``mins`` so that the first ``must`` columns after
    the offset still show (a long model name gives way to the decode speed, never the reverse)."""
    ws = list(ws)
    mins = mins or ws
    rest = list(range(pinned, len(ws)))
    head = list(range(min(pinned, len(ws))))
    offset = max(0, min(offset, len(rest) - 1)) if rest else 0

    def cost(cols) -> int:
        return sum(ws[i] + PAD for i in cols)
    while offset > 0 and cost(head) + cost(rest[offset - 1:]) <= width:
        offset -= 1          # widening the terminal (or scrolling back) shows earlier columns again
    deficit = cost(head) + cost(rest[offset:offset + must]) - width
    for i in head:
        if deficit <= 0:
            break
        take = min(deficit, max(0, ws[i] - mins[i]))
        ws[i] -= take
        deficit -= take
    used, shown = cost(head), list(head)
    for i in rest[offset:]:
        if used + ws[i] + PAD > width:
            break
        shown.append(i)
        used += ws[i] + PAD
    return shown, offset, ws


class FitTable(DataTable):
    """``show(cols, rows, keys)``: columns in priority order, rows of cell texts, a key per row."""

    DEFAULT_CSS = """FitTable { border-top: solid $panel-lighten-2; border-title-color: $foreground;
                                border-title-style: bold; }"""

    def __init__(self, *, pinned: int = 0, title: str = "", must: int = 2, **kw) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kw)
        self.pinned, self.heading, self.must = pinned, title, must
        self.col_offset = 0
        self._cols: list[Col] = []
        self._rows: list[list[str]] = []
        self._keys: list[str] = []
        self._styles: list[str] = []
        self._layout_key = None
        self._idx: list[int] = []
        self.shown: list[str] = []                   # names of the columns on screen now
        self.marked: set[str] = set()                # rows marked (space): "[x]" before them, "[ ]" before the rest

    def mark(self, keys) -> None:
        """Show which rows are marked, as text: a ``[x]``/``[ ]`` column while any row is marked."""
        keys = set(keys)
        if keys != self.marked:
            self.marked = keys
            self._layout(force=True)

    def show(self, cols: list[Col], rows: list[list[str]], keys: list[str], styles: list[str] | None = None) -> None:
        """``styles``: one Rich style per row (a stale board's grey), else none."""
        self._cols, self._rows, self._keys = cols, rows, keys
        self._styles = styles or [""] * len(rows)
        self._layout(force=True)

    def avail(self) -> int:
        w = self.size.width or self.app.size.width
        scrollbar = 2 if self.size.height and len(self._rows) + 1 > self.size.height else 0
        marks = 3 + PAD if self.marked else 0
        return max(10, w - scrollbar - marks)

    def _layout(self, force: bool = False) -> None:
        ws = widths(self._cols, self._rows)
        mins = [min(w, c.shrink_to) if c.shrink_to else w for w, c in zip(ws, self._cols)]
        idx, self.col_offset, ws = fit(ws, self.pinned, self.avail(), self.col_offset, mins, self.must)
        key = (tuple(idx), tuple(ws[i] for i in idx), len(self._rows))
        if not force and key == self._layout_key:
            return
        self._layout_key = key
        row = self.cursor_row
        self.clear(columns=True)
        for i in idx:
            c = self._cols[i]
            self.add_column(c.name, key=c.name, width=ws[i])
        self.show_row_labels = bool(self.marked)
        for cells, k, style in zip(self._rows, self._keys, self._styles):
            self.add_row(*(Text(clip(cells[i], ws[i] if self._cols[i].cap else None), style=style) for i in idx), key=k,
                         label=Text("[x]" if k in self.marked else "[ ]") if self.marked else None)   # not markup
        self._idx = idx
        self.shown = [self._cols[i].name for i in idx]
        hidden = len(self._cols) - len(idx)
        self.border_title = " · ".join(x for x in (self.heading, f"{len(idx)} of {len(self._cols)} columns, ←/→ for "
                                                               f"the others" if hidden else "") if x) or None
        if self.row_count:
            self.move_cursor(row=min(max(row, 0), self.row_count - 1))

    def on_resize(self, event) -> None:
        if self._cols:
            self._layout()

    def action_cursor_right(self) -> None:
        if self._idx and self._idx[-1] < len(self._cols) - 1:
            self.col_offset += 1
            self._layout()

    def action_cursor_left(self) -> None:
        if self.col_offset > 0:
            self.col_offset -= 1
            self._layout()
