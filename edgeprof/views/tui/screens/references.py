"""Screen 3, reference sets (``r``): packaged and user sets with origin and verification status,
the highlighted set's rows, which rows the running (or last) case meets, ``a`` to make the run this
view shows into a set (what ``edgeprof reference add`` does), and how to produce one on a server GPU."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from edgeprof.errors import command
from edgeprof.compare.setmeta import SetMeta
from edgeprof.views.tui import fmt, refview
from edgeprof.views.tui.theme import colours
from edgeprof.views.tui.widgets.fittable import Col, FitTable
from edgeprof.views.tui.widgets.titlebar import TitleBar
from edgeprof.views.tui.widgets.whatif import WhatIfPanel

ROW_METRICS = ("decode_tokens_per_s", "ttft_ms", "energy_per_token_j", "avg_power_w", "it_tokens_per_s", "amu_gb")


def _source(meta: SetMeta) -> str:
    return meta.source_text if isinstance(meta.source, str) else meta.paper


class ReferencesScreen(Screen):
    BINDINGS = [Binding("a", "add_run", "add this run as a set"), Binding("w", "whatif", "what if")]
    DEFAULT_CSS = """
    ReferencesScreen #sets { height: auto; max-height: 10; }
    ReferencesScreen #refrows { height: 1fr; }
    ReferencesScreen #howto { height: auto; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._shown = None

    def compose(self) -> ComposeResult:
        yield TitleBar()
        with Vertical():
            yield Static(id="refs-head")
            yield FitTable(id="sets", pinned=1, title="sets")
            yield FitTable(id="refrows", pinned=1, title="rows of the highlighted set")
            yield Static(id="howto")
            yield WhatIfPanel(id="whatif")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#sets", DataTable).focus()
        self.refresh_view()

    def refresh_view(self) -> None:
        app = self.app
        self.query_one(TitleBar).show(app.current, app.clock_text(), app.device_hint)
        sets = app.sets
        if sets is None:
            self.query_one("#refs-head", Static).update("loading the reference sets…")
            return
        if self._shown is not sets:
            self._shown = sets
            cols = [Col("set", 24, shrink_to=12), Col("rows"), Col("verification", 44, shrink_to=16), Col("origin"),
                    Col("source", 70)]
            self.query_one("#sets", FitTable).show(
                cols, [[s.name, str(sum(r.ok for r in s.records)), s.verification, s.origin, _source(s.meta)]
                       for s in sets], [s.name for s in sets])
            self.query_one("#refs-head", Static).update(Text(
                f"reference sets: {len(sets)} (packaged, and yours in $EDGEPROF_HOME/reference)", style="bold"))
            self._rows()
        self._howto()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "sets":
            self._rows()

    def _current_set(self):
        i = self.query_one("#sets", DataTable).cursor_row
        sets = self.app.sets or []
        return sets[i] if 0 <= i < len(sets) else None

    def _rows(self) -> None:
        s = self._current_set()
        t = self.query_one("#refrows", FitTable)
        if s is None:
            t.show([], [], [])
            return
        present = [m for m in ROW_METRICS if any(r.metric(m) for r in s.records)]
        cols = [Col("row", 40, shrink_to=16), Col("quant"), Col("workload"), *(Col(m) for m in present),
                Col("model", 30), Col("device", 24), Col("status", 24)]
        rows = []
        for r in s.records:
            w = r.workload
            wl = (w.label if w.inference else f"p{w.prompt_tokens}/n{w.gen_tokens}/d{w.depth}"
                  if w.prompt_tokens is not None else "not published")
            vals = [fmt.num(r.value(m)) if r.metric(m) else "" for m in present]
            rows.append([refview.row_label(r), r.artifact.quant or "", wl, *vals, r.model.id or "", r.device.name or "",
                         r.get("verification_status") or r.status])
        t.show(cols, rows, [str(i) for i in range(len(rows))])

    def action_whatif(self) -> None:
        """Show or hide the what-if panel, predicting for this run's last finished row."""
        panel = self.query_one(WhatIfPanel)
        panel.display = not panel.display
        if panel.display:
            run = self.app.current
            done = [r for r in (list(run.state.finished) if run and run.state else []) if r.ok]
            panel.show_for(done[-1] if done else None)

    def action_add_run(self) -> None:
        """The finished run this view shows, as reference set ``run-<its directory>`` in
        ``$EDGEPROF_HOME/reference`` (on a server GPU: the set to copy to the edge device)."""
        from pathlib import Path

        from edgeprof.compare.refwrite import from_run
        from edgeprof.errors import EdgeprofError

        run = self.app.current
        d = getattr(run, "run_dir", None)
        if d is None or not (Path(d) / "records.jsonl").is_file():
            self.notify("no run with results here to add: run one (n), or `edgeprof reference add RUN_DIR --name "
                        "NAME`", severity="warning")
            return
        if getattr(run, "alive", False):
            self.notify("the run is still going: add it once it has finished", severity="warning")
            return
        name = f"run-{Path(d).name}"
        try:
            path = from_run(d, name)
        except (EdgeprofError, OSError, ValueError) as exc:
            self.notify(f"not added: {exc}", severity="error")
            return
        self.notify(f"reference set '{name}' written to {path}; runs of this model and workload now match it")
        self.app.load_sets()

    def _howto(self) -> None:
        app, c = self.app, colours(self.app)
        text = Text()
        run = app.current
        case = run.state.case if run else None
        if case is not None:
            p = app.planned_for(case)
            text.append(f"running case {case.label}: {refview.KIND_TEXT[p.kind]}", style=f"bold {c.warning}"
                        if p.kind in ("normalized", "none") else f"bold {c.good}")
            text.append(f" {p.set_name}:{p.row}\n" if p.row else f" — {'; '.join(p.notes)}\n")
        last = run.run_dir if run and run.run_dir else "RUN_DIR"
        text.append("add a run as a reference: ", style="bold")
        text.append(f"a (this run) or {command('reference', 'add', last, '--name', 'my-server')}\n")
        text.append("produce one on a server GPU: ", style="bold")
        text.append("edgeprof reference build MODEL --suite localscore --gpu-layers 99 --name my-h100 on the server, "
                    "then copy its $EDGEPROF_HOME/reference/my-h100 into this machine's\n", style=c.fg)
        text.append("an exact match needs the same model id and workload (prompt, gen, depth); another model is only "
                    "ever a labelled normalized comparison", style=c.muted)
        self.query_one("#howto", Static).update(text)
