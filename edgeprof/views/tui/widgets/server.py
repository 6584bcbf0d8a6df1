"""The live screen's server panel: edge vs server for the running case (live) or a chosen row (its
record's comparison), and the accelerator class as a small dot plot — the class's rows and this
run's figure on one axis.

Why a dot plot and not one ratio: LocalScore's H100 SXM rows decode a 1B model at 96 tok/s and an
H100 PCIe at 335; one ratio against one row hid a 3.5× spread. Why every figure on its own line,
word-wrapped: at 120 columns a table cut its own numbers (``ser…``, ``166…``, ``~0.…``); a folded
line is read whole at 80, 120 and 200 columns alike.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from rich.console import Group
from rich.text import Text
from textual.containers import VerticalScroll

from edgeprof.results import reftext
from edgeprof.results.comparison import ClassStats, Comparison
from edgeprof.views.tui import fmt, refview
from edgeprof.views.tui.theme import colours
from edgeprof.views.tui.widgets.quiet import Quiet

ROW, EDGE = "●", "▲"


@dataclass(frozen=True)
class Dots:
    """What the dot plot draws: a class's rows and this run's figure for one metric."""

    label: str
    unit: str
    values: tuple[float, ...]
    edge: float | None
    n_host_bound: int = 0


def dots_for(comp: Comparison, edge_value: float | None) -> Dots | None:
    c: ClassStats | None = comp.headline_class
    if c is None or not c.values:
        return None
    label = reftext.class_text(c)
    return Dots(label, c.unit, c.values, edge_value, c.n_host_bound)


def _axis(values: list[float]) -> tuple[float, float, bool]:
    lo, hi = min(values), max(values)
    log = lo > 0 and hi / lo > 8
    if hi == lo:
        lo, hi = lo * 0.9, hi * 1.1 if hi else 1.0
    return lo, hi, log


def plot_lines(d: Dots, width: int) -> list[str]:
    """The plot as text lines at most ``width`` wide: the marks, then the axis' ends (whole
    numbers, never cut), then a key. Rows that land on one cell show their count (2–9, ``+``)."""
    width = max(12, width)
    vals = list(d.values) + ([d.edge] if d.edge else [])
    lo, hi, log = _axis([v for v in vals if v is not None and v > 0] or [1.0])

    def pos(v: float) -> int:
        a, b, x = (math.log(lo), math.log(hi), math.log(v)) if log else (lo, hi, v)
        return min(width - 1, max(0, round((x - a) / (b - a) * (width - 1)))) if b > a else width // 2

    cells = [" "] * width
    count: dict[int, int] = {}
    for v in d.values:
        if v and v > 0:
            count[pos(v)] = count.get(pos(v), 0) + 1
    for p, n in count.items():
        cells[p] = ROW if n == 1 else (str(n) if n < 10 else "+")
    if d.edge and d.edge > 0:
        cells[pos(d.edge)] = EDGE
    left, right = fmt.num(lo), fmt.num(hi)
    gap = width - len(left) - len(right)
    ends = left + " " * gap + right if gap >= 1 else f"{left} … {right}"
    unit = d.unit.replace("tokens/s", "t/s")
    key = f"{ROW} server row  {EDGE} this run  ({unit}{', log scale' if log else ''})"
    return ["".join(cells).rstrip() or " ", "─" * width, ends, key]


class ServerPanel(VerticalScroll):
    """Edge vs server for the running case (live) or a chosen row (its record's comparison). A
    scrolling panel: what it holds can be taller than the panel, and a line is never cut by the
    border (at 80×24 the footer is a scroll away)."""

    DEFAULT_CSS = """
    ServerPanel { padding: 0 1; border: round $panel-lighten-2; height: 1fr; }
    ServerPanel > Quiet { height: auto; }
    """
    _key = None

    def compose(self):
        yield Quiet()

    def titles(self, title: str) -> None:
        if title != self.border_title:   # setting a border title always repaints
            self.border_title = title

    def put(self, renderable, key) -> None:
        if key != self._key:
            self._key = key
            self.query_one(Quiet).update(renderable)

    def show(self, kind: str, head: dict, lines: list, footer: list[str], dots: Dots | None = None,
             contended: str = "") -> None:
        c = colours(self.app)
        warn = kind in ("normalized", "none", "predicted") or bool(contended)
        width = max(12, self.size.width - 4)
        key = (kind, tuple(sorted(head.items())), tuple(lines), tuple(footer), dots, contended, width, self.app.theme)
        if key == self._key:
            return
        what, kind_text = head.get("set") or "—", refview.KIND_TEXT.get(kind, kind)
        self.titles(f"vs SERVER · {kind_text}" if what.lower() == kind.lower() else f"vs SERVER · {what} ({kind_text})")
        self.styles.border_title_color = c.warning if warn else c.good
        parts: list = []
        if kind in ("normalized", "predicted"):
            parts.append(Text("NOT A MATCH — per-parameter context only" if kind == "normalized" else
                              "PREDICTED — a model's figure, NOT a measurement", style=f"bold {c.warning}"))
        if contended:
            why = contended.removeprefix("contended: ")   # the heading says "contended" once
            parts.append(Text(f"CONTENDED REFERENCE — {why}", style=f"bold {c.warning}"))
        if dots is not None:  # the class first: its rows and this run on one axis
            parts.append(Text(dots.label, style="bold", overflow="fold"))
            for i, line in enumerate(plot_lines(dots, width)):
                parts.append(Text(line, style=c.muted if i else "", overflow="fold"))
        shared = lines[0].note if len(lines) > 1 and len({ln.note for ln in lines}) == 1 else ""
        if lines:  # what each line holds, once; a note every line shares is said once, after them
            parts.append(Text("edge ÷ server = ratio [95 %]" + ("" if shared else " · verdict"), style=c.muted,
                              overflow="fold"))
        for ln in lines:
            t = Text(overflow="fold")
            t.append(f"{ln.label}: ", style="bold")
            t.append(f"{ln.edge} ÷ {ln.server} = {ln.ratio}")
            if ln.note and not shared:
                t.append(f" · {ln.note}", style=c.muted)
            parts.append(t)
        if shared:
            parts.append(Text(shared, style=c.muted, overflow="fold"))
        for f in footer:
            parts.append(Text(f, style=c.muted, overflow="fold"))
        self.put(Group(*parts), key)


def record_view(rec) -> tuple[str, dict, list, list[str], Dots | None, str]:
    """What the panel shows for a finished row: (kind, head, lines, footer, dots, contended)."""
    comp: Comparison | None = rec.reference
    if comp is None:
        why = rec.error.message if rec.error else "no comparison in this record"
        return "none", {}, [], [f"{rec.model.id} {rec.workload.label}: {why}"], None, ""
    first = comp.first
    where = f" · {first.runtime} · host {first.host or '?'}" if first else ""
    foot = [f"row {comp.row} · {comp.verification}{where}" if comp.row else "",
            comp.short_reason if comp.kind == "none" else "", comp.format_note,
            first.runtime_note if first else "", comp.energy_note,
            (f"host-bound row: {first.host_bound.evidence}" if first and first.host_bound and first.host_bound.flag
             else ""), *comp.notes,
            f"roofline: edge {refview.roofline(first.edge_roofline)} · server {refview.roofline(first.server_roofline)}"
            if first else "",
            f"+{len(comp.rows) - 1} more row(s): Enter shows them" if len(comp.rows) > 1 else "",
            f"{len(comp.context)} context row(s) (workload never published): NOT a match" if comp.context else ""]
    cl = comp.headline_class
    lines = refview.final_lines(comp)
    if cl is not None and cl.n > 1 and cl.ratio is not None and cl.ratio.ratio is not None:  # one row: its line says it
        r = cl.ratio
        lines.insert(0, refview.Line(f"{refview.short_label(r.metric)} vs {cl.name} median (n {cl.n})",
                                  fmt.num(r.edge_value), fmt.num(r.ref_value), fmt.ratio(r.ratio, r.ci95),
                                  reftext.verdict(r)))
    dots = dots_for(comp, rec.value(cl.metric)) if cl else None
    return comp.kind, {"set": comp.set_name}, lines, [f for f in foot if f], dots, comp.contended
