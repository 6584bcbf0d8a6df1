"""Ticks that read as text: ``[x]``/``[ ]`` in lists and checkboxes, ``(•)``/``( )`` for a choice of
one. Textual's own toggles draw the same glyph ticked or not and differ only in colour, which a
light theme, a monochrome terminal or a colour-blind reader does not see."""
from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.content import Content
from textual.strip import Strip
from textual.widgets import Checkbox, OptionList, RadioButton, SelectionList
from textual.widgets.option_list import OptionDoesNotExist


class TickList(SelectionList):
    def _get_left_gutter_width(self) -> int:
        return 4                                   # "[x] "

    def render_line(self, y: int) -> Strip:
        line = OptionList.render_line(self, y)   # the prompt alone; the tick is drawn here, as text
        index = self.scroll_offset.y + y
        try:
            option = self.get_option_at_index(index)
        except OptionDoesNotExist:
            return line
        base = next(iter(line)).style or self.rich_style
        ticked = option.value in self._selected
        style = base + Style(bold=ticked, meta={"option": index})
        return Strip([Segment("[x] " if ticked else "[ ] ", style), *line])


class Tick(Checkbox):
    @property
    def _button(self) -> Content:
        return Content.assemble(("[x]" if self.value else "[ ]", self.get_visual_style("toggle--label")))


class Radio(RadioButton):
    @property
    def _button(self) -> Content:
        return Content.assemble(("(•)" if self.value else "( )", self.get_visual_style("toggle--label")))
