"""The results table: the Markdown table's columns (``results.printers.columns``, driven by the
metric catalogue), one row per finished case, then the running case; a failed row carries its
reason in ``status``. Columns empty in every row are left out, as the Markdown table does.

A terminal is narrower than the Markdown table, so the columns come in the order people look for
them (what ran and its status, decode speed, the server ratio, latency and energy, then the rest)
and :class:`~edgeprof.views.tui.widgets.fittable.FitTable` shows as many whole ones as fit, ←/→
for the others. ``vs server`` is the ratio and the match kind in a few characters; the panel and
the row's detail (Enter) carry the rest."""
from __future__ import annotations

from rich.text import Text

from edgeprof.results.printers import columns
from edgeprof.results.schema import Workload
from edgeprof.views.tui import fmt, refview
from edgeprof.views.tui.widgets.fittable import Col, FitTable

RUNNING = "__running__"
ALWAYS = ("model", "quant", "test", "decode t/s", "vs server", "status")
PRIORITY = ("model", "quant", "test", "status", "decode t/s", "vs server", "TTFT ms", "J/token", "avg W",
            "peak RSS MiB", "prefill t/s", "TPOT ms")
#: a run of models that are not causal LMs: forward passes, their latency and energy come first
INFERENCE_ALWAYS = ("model", "quant", "test", "inf/s", "vs server", "status")
INFERENCE_PRIORITY = ("model", "quant", "test", "status", "latency p50/p90/p99 ms", "inf/s", "samples/s", "J/inf",
                      "vs server", "cold ms", "avg W", "peak RSS MiB", "enc tok/s", "RTFx")
PINNED = 4                     # model, quant, test and status stay when the others scroll
#: settings a sweep varies (-t, --flash-attn, --power-mode, --runtime, a fleet's boards): a column of
#: them whose cells differ comes right after status, else two rows of a -t 1,2 sweep look the same
SWEPT = ("host", "threads", "power", "fa", "runtime", "format")
CAPS = {"model": 24, "status": 16, "format": 8, "runtime": 14, "quality": 24, "roofline": 24, "machine": 24}
RUNNING_STATUS_W = 13          # "▶ prefill 5/5": the running row's status never widens the table
PHASE_SHORT = {"scheduled": "queued", "decode done": "ending"}
KIND_SHORT = {"exact": "exact", "same-model": "same model", "normalized": "NOT A MATCH"}


def server_cell(rec) -> str:
    """``0.099× exact``: the decode ratio (else the first compared metric, named) and the match
    kind; ``none`` when no reference row matched, empty when the record was never compared."""
    comp = rec.reference
    if comp is None:
        return ""
    if comp.kind == "none":
        return "none"
    r = comp.ratio("decode_tokens_per_s")
    r = r if r is not None and r.ratio is not None else next((x for x in comp.ratios if x.ratio is not None), None)
    if r is None:
        return KIND_SHORT.get(comp.kind, comp.kind)
    label = "" if r.base_metric == "decode_tokens_per_s" else refview.short_label(r.metric) + " "
    return f"{label}{fmt.ratio(r.ratio)} {KIND_SHORT.get(comp.kind, comp.kind)}"


def table_rows(records: list, inference: bool = False) -> tuple[list[Col], list[list[str]]]:
    """The columns in priority order (the catalogue's order after those named) and each record's
    cells; a column empty in every row is left out unless people look for it (``ALWAYS``).
    ``inference``: every row is an inference case (latency, inferences/s, J/inference first)."""
    always, priority = (INFERENCE_ALWAYS, INFERENCE_PRIORITY) if inference else (ALWAYS, PRIORITY)
    cols = [(name, server_cell if name == "vs server" else fn) for name, fn in columns()]
    fns = dict(cols)
    swept = [n for n in SWEPT if n in fns and len({fns[n](r) for r in records}) > 1]
    at = priority.index("status") + 1
    priority = (*priority[:at], *swept, *(n for n in priority[at:] if n not in swept))
    rank = {n: i for i, n in enumerate(priority)}
    cols.sort(key=lambda c: rank.get(c[0], len(priority)))          # stable: the rest keep their order
    rows = [[fn(r) for _, fn in cols] for r in records]
    keep = [i for i, (name, _) in enumerate(cols) if name in always or any(row[i] for row in rows)]
    return ([Col(cols[i][0], CAPS.get(cols[i][0]), shrink_to=12 if cols[i][0] == "model" else None) for i in keep],
            [[row[i] for i in keep] for row in rows])


def running_cells(case, names: list[str]) -> list[str]:
    """The running case's row: what runs (from the typed parts of its label) and ``▶ running``."""
    p = case.parts
    test = Workload.from_dict(case.workload).label              # as the finished row will say (pp16+tg64 @ d5)
    fill = {"model": p.model or case.label, "quant": p.quant or "", "test": test, "status": "▶ running",
            "threads": "" if p.threads is None else str(p.threads)}
    return [fill.get(n, "") for n in names]


def running_status(case) -> str:
    if case.inference and case.passes:
        return f"▶ {case.passes} passes"
    rep = f" {case.rep + 1}/{case.reps}" if case.rep is not None else ""
    return f"▶ {PHASE_SHORT.get(case.phase, case.phase)}{rep}"


class ResultsTable(FitTable):
    DEFAULT_CSS = "ResultsTable { height: 1fr; }"

    def __init__(self, **kw) -> None:
        super().__init__(pinned=PINNED, title="results", **kw)
        self._key = None
        self._records: list = []
        self._status = ""

    def show_run(self, run) -> None:
        st = run.state if run else None
        records = list(st.finished) if st else []
        case = st.case if st else None
        key = (id(run), len(records), case.case_id if case else None)
        if key != self._key:
            self._rebuild(records, case)
            self._key = key
        if case is not None and "status" in self.shown:
            status = running_status(case)
            if status != self._status:      # an unchanged cell is not repainted
                self._status = status
                self.update_cell(RUNNING, "status", Text(status))

    def _rebuild(self, records: list, case) -> None:
        follow = self.cursor_row >= self.row_count - 1       # on the last row: keep following the newest case
        inference = (case is None or case.inference) and (case is not None or bool(records)) and all(
            r.workload.inference for r in records)
        cols, rows = table_rows(records, inference)
        keys = [rec.case_id or str(id(rec)) for rec in records]
        if case is not None:
            cols = [Col(c.name, c.cap, RUNNING_STATUS_W, c.shrink_to) if c.name == "status" else c for c in cols]
            rows.append(running_cells(case, [c.name for c in cols]))
            keys.append(RUNNING)
        self._records, self._status = records, ""
        from edgeprof.views.power_text import tradeoff_caption

        caption = tradeoff_caption(records)  # a power sweep: its picks beside the panel's title
        self.heading = "results" + (f" · power {caption}" if caption else "")
        self.show(cols, rows, keys)
        if self.row_count and follow:
            self.move_cursor(row=self.row_count - 1)

    def record_at_cursor(self):
        i = self.cursor_row
        return self._records[i] if 0 <= i < len(self._records) else None
