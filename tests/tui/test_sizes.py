"""The TUI at the sizes people use (80×24, 120×36, 200×50), driven by Textual's pilot over the
recorded run and a real SQLite history: every number shown in the results and history tables is
whole (a column shows whole or not at all), ``vs server`` is on screen or one ← → away, every
column is reachable, and text reads at WCAG AA in both themes (the light theme's panel titles,
the dark theme's highlighted row)."""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edgeprof.views.tui.replay import replay_app
from edgeprof.views.tui.widgets.fittable import PAD, fit
from tests.tui.conftest import DATA, EVENTS, drive, index_recorded, screen_text

SIZES = ((80, 24), (120, 36), (200, 50))
NUMBER = re.compile(r"\d")


def whole_cells(table, text: str) -> list[str]:
    """Every cell with a digit that the table shows, checked against the screen: each must appear
    whole on the screen line of its row (a cut number fails here)."""
    lines = text.splitlines()
    checked = []
    for r, cells in enumerate(table._rows):
        shown = [cells[table._cols.index(c)] for c in table._cols if c.name in table.shown]
        line = lines[table.region.y + 2 + r]          # the top border, the header, then the rows
        for c, cell in zip([c for c in table._cols if c.name in table.shown], shown):
            if NUMBER.search(cell) and not c.cap:
                assert cell in line, f"{c.name}: {cell!r} is not whole on screen:\n{line}"
                checked.append(cell)
    return checked


def reach_all(table) -> set[str]:
    """The columns seen while pressing → from the left end to the right end."""
    seen = set(table.shown)
    for _ in range(len(table._cols)):
        table.action_cursor_right()
        seen |= set(table.shown)
    return seen


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("upto", (0.55, None), ids=("running", "done"))
def test_results_table_numbers_whole_and_every_column_reachable(size, upto, quiet_home):
    out = {}

    async def steps(pilot, app):
        await pilot.pause(0.05)
        table = app.screen.query_one("ResultsTable")
        out["text"], out["shown"] = screen_text(app), list(table.shown)
        out["checked"] = whole_cells(table, out["text"])
        out["all"] = {c.name for c in table._cols}
        out["reached"] = reach_all(table)
        await pilot.pause()
        out["after"] = screen_text(app)

    drive(replay_app(EVENTS, reference_dir=DATA, upto=upto), steps, size)
    assert out["checked"], "no number checked"
    assert "vs server" in out["shown"] and "decode t/s" in out["shown"], out["shown"]
    assert out["reached"] == out["all"]
    if len(out["shown"]) < len(out["all"]):
        assert "←/→ for the others" in out["text"]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_history_shows_figures_whole_at_every_size(size, quiet_home, recorded):
    index_recorded(quiet_home, recorded, 2, device_name="AMD EPYC 7763 64-Core Processor")
    out = {}

    async def steps(pilot, app):
        await pilot.press("h")
        for _ in range(100):
            await pilot.pause(0.05)
            app.tick()
            if app.screen.query_one("#hist").row_count == 4:
                break
        await pilot.pause(0.05)
        table = app.screen.query_one("#hist")
        out["text"], out["shown"] = screen_text(app), list(table.shown)
        out["checked"] = whole_cells(table, out["text"])
        out["all"], out["reached"] = {c.name for c in table._cols}, reach_all(table)

    drive(replay_app(EVENTS, reference_dir=DATA), steps, size)
    assert "decode t/s" in out["shown"], out["shown"]              # figures, not just names, at every size
    assert any("±" in c for c in out["checked"]), out["checked"]
    assert out["reached"] == out["all"]


@given(ws=st.lists(st.integers(1, 30), min_size=1, max_size=20), pinned=st.integers(0, 4),
       width=st.integers(20, 220), offset=st.integers(0, 25))
def test_fit_shows_whole_columns_only_and_scrolls_to_every_one(ws, pinned, width, offset):
    idx, used_offset, w2 = fit(ws, pinned, width, offset)
    head = list(range(min(pinned, len(ws))))
    assert idx[:len(head)] == head and idx == sorted(idx)
    if len(idx) > len(head):                          # a scrolled column is shown only when it fits whole
        assert sum(w2[i] + PAD for i in idx) <= width
    seen = set()
    for o in range(len(ws) + 1):                       # → from the left end reaches every column
        seen |= set(fit(ws, pinned, max(width, sum(ws[:pinned]) + pinned * PAD + max(ws) + PAD), o)[0])
    assert seen == set(range(len(ws)))


def test_a_long_model_name_gives_way_to_the_figures():
    ws = [30, 6, 9, 6, 11, 12, 14]                    # model, quant, test, status, decode, vs server, TTFT
    mins = [12, 6, 9, 6, 11, 12, 14]
    idx, _, w2 = fit(ws, 4, 80, 0, mins, must=2)
    assert 4 in idx and 5 in idx and w2[0] < 30 and w2[0] >= 12


def test_cells_are_text_not_markup(quiet_home):
    """A suite's test label, an interval or a hostile model name keeps its brackets."""
    from edgeprof.views.tui.widgets.fittable import Col

    out = {}
    cells = ["[red]evil[/red]", "pp32+tg64 [localscore]", "[0.155, 0.163]"]

    async def steps(pilot, app):
        table = app.screen.query_one("ResultsTable")
        table.show([Col("model", 24), Col("test"), Col("95 % CI")], [cells], ["k"])
        await pilot.pause()
        out["text"] = screen_text(app)

    drive(replay_app(EVENTS, reference_dir=DATA), steps, (120, 36))
    assert all(c in out["text"] for c in cells), out["text"]


def low_contrast(app) -> list[tuple[float, str]]:
    """Text segments on screen whose colour reads below 4.5:1 on their background."""
    import io

    from rich.console import Console

    from edgeprof.views.tui.theme import contrast

    w, h = app.size
    con = Console(width=w, height=h, file=io.StringIO(), force_terminal=True, color_system="truecolor")
    bad = []
    for seg in con.render(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)):
        s = seg.style
        if s and s.color and s.bgcolor and any(ch.isalnum() for ch in seg.text):
            fg, bg = ("#%02x%02x%02x" % tuple(c.get_truecolor()) for c in (s.color, s.bgcolor))
            if contrast(fg, bg) < 4.5:
                bad.append((round(contrast(fg, bg), 1), seg.text.strip()))
    return bad


@pytest.mark.parametrize("theme", ("textual-light", "textual-dark"), ids=("light", "dark"))
@pytest.mark.parametrize("keys", ((), ("d",), ("r",)), ids=("live", "sensors", "references"))
def test_text_reads_everywhere_in_both_themes(keys, theme, quiet_home):
    """Panel titles in the light theme, and the highlighted table row (Textual's block cursor:
    "auto 87%" text on $primary, 3.8:1 in the dark theme) in both."""
    out = {}

    async def steps(pilot, app):
        for k in keys:
            await pilot.press(k)
            await pilot.pause()
            app.tick()
        await pilot.pause(0.05)
        out["bad"] = low_contrast(app)
        out["titles"] = [w.border_title for w in app.screen.query("*") if getattr(w, "border_title", None)]

    drive(replay_app(EVENTS, reference_dir=DATA, theme=theme), steps, (120, 36))
    if not keys:                                    # the live screen's panels: power, server, results
        assert len(out["titles"]) >= 3, out["titles"]
    assert not out["bad"], out["bad"]
