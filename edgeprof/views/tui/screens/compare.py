"""Compare two chosen rows (``space`` marks, ``c`` compares): ``edgeprof compare``'s statistics —
ratio B/A of medians, bootstrap 95 % interval, permutation p-value and a verdict against the
practical-equivalence margin (measured drift from the history when there is enough of it)."""
from __future__ import annotations

import os

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from edgeprof.compare.paired import Side, compare, difference
from edgeprof.compare.paired_types import PairedResult, PairedRow
from edgeprof.results.schema import Record
from edgeprof.views.tui import fmt


def _name(r: Record) -> str:
    return f"{r.model.id} {r.artifact.format}:{r.artifact.quant} {r.workload.label} ({(r.run_id or '')[:15]})"


def compare_rows(a: Record, b: Record) -> PairedResult:
    db = os.environ.get("EDGEPROF_HISTORY") or None
    return compare(Side(_name(a), "run", [a]), Side(_name(b), "run", [b]), db_path=db)


class CompareScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "back")]

    def __init__(self, a: Record, b: Record):
        super().__init__()
        self.a, self.b = a, b
        self.result = compare_rows(a, b)

    def compose(self) -> ComposeResult:
        res = self.result
        head = Text()
        head.append("compare  ", style="bold")
        head.append(f"A = {res.a}\nB = {res.b}\n")
        head.append("differs in: " + difference(self.a, self.b) + "\n")
        head.append("ratio B/A of medians; each metric is judged against its own equivalence margin\n", style="dim")
        for b in res.busy:
            head.append(f"busy machine: {b}\n", style="bold")
        with VerticalScroll():
            yield Static(head)
            if not res.rows:
                yield Static(Text("not paired: compare pairs rows with the same workload key (model id, prompt, "
                                  f"gen, depth, n_seqs) — A is {self.a.workload_key()}, B is {self.b.workload_key()}",
                                  style="bold"), id="unpaired")
            else:
                yield Static(self._table(res.rows), id="compare-table")
        yield Footer()

    @staticmethod
    def _table(rows: tuple[PairedRow, ...]) -> Table:
        tab = Table(box=None, header_style="bold", expand=True)
        for col in ("metric", "unit", "A median", "B median", "B/A", "95 % CI", "p", "margin", "verdict"):
            tab.add_column(col, no_wrap=col != "verdict")
        for r in rows:
            ci = r.ci95
            tab.add_row(r.metric, r.unit, fmt.num(r.a_median), fmt.num(r.b_median),
                        fmt.ratio(r.ratio_b_over_a), f"[{fmt.num(ci[0])}, {fmt.num(ci[1])}]" if ci else "n/a",
                        fmt.num(r.p_value, 2) if r.p_value is not None else "n/a",
                        f"±{r.margin:.0%}" if r.margin is not None else "n/a", r.verdict)
        return tab
