"""The base of every text panel: a Static that repaints only when what it shows changed."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def text_key(*parts) -> tuple:
    """What a Rich ``Text`` (or several) shows, as a comparable value."""
    return tuple((t.plain, tuple(t.spans), t.style) if isinstance(t, Text) else t for t in parts)


class Quiet(Static):
    """A Static that redraws only when what it shows changed. A redraw is the TUI's main cost (it
    shares the CPU with the measured worker) and most ticks change nothing on most panels."""

    _key = None
    _titles = (None, None)

    def put(self, renderable, key) -> None:
        if key != self._key:
            self._key = key
            self.update(renderable)

    def titles(self, title: str | None, subtitle: str | None = None) -> None:
        if (title, subtitle) != self._titles:   # setting a border title always repaints
            self._titles = (title, subtitle)
            self.border_title, self.border_subtitle = title, subtitle
