"""The results table: the Markdown table's columns (``results.printers.columns``, driven by the
metric catalogue), one row per finished case, then the running case; a failed row carries its
reason in ``status``. Columns empty in every row are left out, as the Markdown table does."""
from __future__ import annotations

from textual.widgets import DataTable

from edgeprof.results.printers import columns

ALWAYS = ("model", "quant", "test", "decode t/s", "vs server", "status")
RUNNING = "__running__"


FIRST = ("model", "quant", "test", "status")
LAST = ("format", "size MiB", "runtime", "threads", "fa", "quality", "roofline", "vs server")


def table_rows(records: list) -> tuple[list[str], list[list[str]]]:
    """The Markdown table's columns, ordered for a terminal: what ran and its status, then the
    catalogue's metric columns, then the rest — so 80 columns show the figures, not the paths."""
    cols = columns()
    rank = {n: i for i, n in enumerate(FIRST)}
    cols.sort(key=lambda c: (0, rank[c[0]]) if c[0] in rank else (2, LAST.index(c[0])) if c[0] in LAST else (1, 0))
    rows = [[fn(r) for _, fn in cols] for r in records]
    keep = [i for i, (name, _) in enumerate(cols) if name in ALWAYS or any(row[i] for row in rows)]
    return [cols[i][0] for i in keep], [[row[i] for i in keep] for row in rows]


class ResultsTable(DataTable):
    DEFAULT_CSS = "ResultsTable { height: 1fr; }"

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self._key = None
        self._records: list = []
        self._names: list[str] = []
        self._status = ""

    def show(self, run) -> None:
        st = run.state if run else None
        records = list(st.finished) if st else []
        case = st.case if st else None
        key = (id(run), len(records), case.case_id if case else None)
        if key != self._key:
            self._rebuild(records, case)
            self._key = key
        if case is not None and "status" in self._names:
            rep = f" rep {case.rep + 1}/{case.reps}" if case.rep is not None else ""
            status = f"▶ {case.phase}{rep}"
            if status != self._status:      # an unchanged cell is not repainted
                self._status = status
                self.update_cell(RUNNING, "status", status, update_width=True)

    def _rebuild(self, records: list, case) -> None:
        row = self.cursor_row
        follow = row >= self.row_count - 1       # on the last row: keep following the newest case
        names, rows = table_rows(records)
        self.clear(columns=True)
        for n in names:
            self.add_column(n, key=n)
        for rec, cells in zip(records, rows):
            self.add_row(*cells, key=rec.case_id or str(id(rec)))
        if case is not None:
            cells = ["" for _ in names]
            w = case.workload
            first = case.label.split(" ")
            fill = {"model": first[0], "quant": (first[1].split(":")[-1] if len(first) > 1 else ""),
                    "test": "+".join(x for x in (f"pp{w.get('prompt_tokens')}" if w.get("prompt_tokens") else "",
                                                 f"tg{w.get('gen_tokens')}" if w.get("gen_tokens") else "") if x),
                    "status": "▶ running"}
            for i, n in enumerate(names):
                cells[i] = fill.get(n, "")
            self.add_row(*cells, key=RUNNING)
        self._records, self._names, self._status = records, names, ""
        if self.row_count:
            self.move_cursor(row=self.row_count - 1 if follow else min(max(row, 0), self.row_count - 1))

    def record_at_cursor(self):
        i = self.cursor_row
        return self._records[i] if 0 <= i < len(self._records) else None
