"""The report's tables as data (head, rows of cells, notes), rendered by ``document`` to HTML and
Markdown alike: the results table (the printers' columns, so the bench table and the report never
disagree), the server comparison with both sides' provenance, and the LocalScore-style suite summary.

Why cells carry ``estimated``: an estimated figure must look estimated in every output; the
printers mark it ``~`` in text and the HTML renderer also sets it in italics with a class.
"""
from __future__ import annotations

from dataclasses import dataclass

from edgeprof.results import metric_catalogue, printers
from edgeprof.results.schema import Record
from edgeprof.views.charts.series import case_label
from edgeprof.views.report.data import CaseView, RunData


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    estimated: bool = False
    numeric: bool = False


@dataclass(frozen=True)
class Table:
    head: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    notes: tuple[str, ...] = ()


def _cell(text: str, numeric: bool = False) -> Cell:
    return Cell(text, text.startswith("~"), numeric)


IDENTITY = ("host", "model", "format", "quant", "runtime", "threads", "fa", "test", "power")   # what names a row


def results_table(cases: list[CaseView]) -> Table:
    """Identity, the catalogue's metric columns, quality, roofline, vs server and status — columns
    empty for every case are dropped, as in ``edgeprof bench``'s table, and so are identity columns
    that are the same for every case (said once under the table). Rows are named by what is left of
    model/format/quant/test; the case id is a column only when those cannot tell two rows apart."""
    cols = [("case", None)] + printers.columns()
    rows = [[c.key[:16]] + [fn(c.record) for _, fn in cols[1:]] for c in cases]
    metric_cols = {d.label for d in metric_catalogue.table_metrics()}
    same = [i for i, (name, _) in enumerate(cols) if len(rows) > 1 and name not in metric_cols | {"case", "status"}
            and len({r[i] for r in rows}) == 1 and rows[0][i]]
    ident = [i for i, (name, _) in enumerate(cols) if name in IDENTITY and i not in same]
    named = len({tuple(r[i] for i in ident) for r in rows}) == len(rows) and ident
    keep = [i for i, (name, _) in enumerate(cols)
            if i not in same and ((name == "case" and not named) or name == "status"
                                  or (name != "case" and any(r[i] for r in rows)))]
    head = tuple(cols[i][0] for i in keep)
    out = tuple(tuple(_cell(r[i], cols[i][0] not in printers.TEXT_COLUMNS + ("case",)) for i in keep) for r in rows)
    notes = ([f"same for every case: {'; '.join(f'{cols[i][0]} {rows[0][i]}' for i in same)}"] if same else [])
    notes += [n.removeprefix("- ") for n in printers.legend([c.record for c in cases])]
    notes += printers.column_notes(head)
    return Table(head, out, tuple(notes))


def fmt_value(x) -> str:
    """A JSON value as table text: None empty, floats to 4 significant digits, lists and dicts inline."""
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:.4g}" if abs(x) < 1e4 else f"{x:.0f}"
    if isinstance(x, (list, tuple)):
        return ", ".join(fmt_value(v) for v in x)
    if isinstance(x, dict):
        return ", ".join(f"{k}={fmt_value(v)}" for k, v in x.items() if v not in (None, "", [], {}))
    return str(x)


def _prov(p) -> str:
    return f"{p.kind}: {p.source}".strip() if p is not None else ""


def _quantity(value, unit: str) -> str:
    """A compared figure with its unit; bytes in MiB as everywhere else (not ``174678016 B``)."""
    if unit == "B" and isinstance(value, (int, float)):
        return f"{value / 2**20:.1f} MiB"
    return f"{fmt_value(value)} {unit}".strip()


def server_table(cases: list[CaseView]) -> Table:
    """One row per compared metric of every case that has a reference comparison: the edge and
    server values, the ratio with its interval and compare's verdict, both provenances, the
    reference row (its class, host-bound flag, load) and its verification status. Metrics the row
    cannot be compared on, unlike energy scopes and contended references become notes, once each."""
    from edgeprof.results import reftext

    rows, notes = [], []
    recs = [c.record for c in cases]
    for c in cases:
        ref = c.record.reference
        if ref is None:
            continue
        label = case_label(c.record, recs)
        who = Cell(f"{label} ({'no reference' if ref.kind == 'none' else ref.kind})")
        first = ref.first
        klass = first.accel_class if first and first.accel_class and first.accel_class not in str(ref.row) else ""
        row_name = Cell(f"{ref.set_name}:{ref.row}" + (f" ({klass})" if klass else "") if ref.set_name else "—")
        status = Cell(str(ref.verification or "") + (" · CONTENDED" if ref.contended else ""))
        for t in (ref.format_note, first.runtime_note if first else "", ref.energy_note, ref.contended):
            if t:
                notes.append(f"{label}: {t}")
        if first is not None and first.host_bound is not None and first.host_bound.flag:
            notes.append(f"{label}: {ref.row} is host-bound — {first.host_bound.evidence}")
        for cl in ref.classes:
            notes.append(f"{label}: class {reftext.class_text(cl)}"
                         + (f"; edge ÷ median {reftext.ratio(cl.ratio)}" if cl.ratio else ""))
        compared = [x for x in ref.ratios if x.ratio is not None]
        for x in ref.ratios:
            if x.ratio is None:
                notes.append(f"not compared: {x.metric} — {x.note or 'no value on one side'}")
        if not compared:
            why = ref.short_reason or (ref.notes[0] if ref.notes else "no comparable figure")
            rows.append((who, row_name, status, Cell(""), Cell(""), Cell(""), Cell("n/a"), Cell(why)))
        for x in compared:
            est, ref_est = x.edge_estimated, x.ref_estimated   # an estimate is marked on its own side
            edge = f"{'~' if est else ''}{_quantity(x.edge_value, x.edge_unit)}"
            srv = f"{'~' if ref_est else ''}{_quantity(x.ref_value, x.ref_unit)}"
            ratio = f"{'~' if est or ref_est else ''}{x.ratio:.3g}×" + reftext.interval(x.ci95)  # as bench and TUI
            prov = "; ".join(t for t in (reftext.verdict(x), f"edge {_prov(x.edge_provenance)}" if x.edge_provenance
                                         else "", f"server {_prov(x.ref_provenance)}" if x.ref_provenance else "",
                                         x.note) if t)
            rows.append((who, row_name, status, Cell(x.metric), Cell(edge, est, True),
                         Cell(srv, ref_est, True), Cell(ratio, est or ref_est, True), Cell(prov)))
    head = ("case (match)", "reference row (class)", "verification", "metric", "this device", "server",
            "ratio [95 %]", "verdict / provenance / note")
    if not rows:
        notes.append("no server comparison in these runs (no reference set matched, or the runs predate matching)")
    return Table(head, tuple(rows), tuple(dict.fromkeys(notes)))


def _summary_rows(summary: dict, prefix: str = "") -> list[tuple[Cell, ...]]:
    rows = []
    for k, v in summary.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict) and ("value" in v or "median" in v):
            val = v.get("value", v.get("median"))
            ci, prov = v.get("ci95"), v.get("provenance")
            est = isinstance(prov, dict) and prov.get("kind") == "estimated"
            pair = isinstance(ci, (list, tuple)) and len(ci) == 2   # a hand-edited file: anything else is no interval
            text = fmt_value(val) + (f" [{fmt_value(ci[0])}, {fmt_value(ci[1])}]" if pair else "")
            rows.append((Cell(name), Cell(("~" if est else "") + text, est, True), Cell(str(v.get("unit") or ""))))
        elif isinstance(v, dict):
            rows += _summary_rows(v, name + ".")
        elif not isinstance(v, list):
            rows.append((Cell(name), Cell(fmt_value(v), numeric=isinstance(v, (int, float))), Cell("")))
    return rows


def _suite_blocks(suite: dict, name: str) -> list[tuple[str, dict]]:
    """(title, figures) per summary: edgeprof's suite.json (``engine/suite_file.py``: per suite, one
    summary record per artifact/placement whose metrics carry intervals and provenance) or a flat
    ``{"suite", "summary": {...}}`` file (older fixtures)."""
    if "suites" not in suite:
        return [(f"{name}: summary (suite.json)", suite)]
    out = []
    for s in suite["suites"]:  # shapes checked when the run was loaded (results/sidefiles.py)
        for x in s.get("summaries") or []:
            r = Record.from_dict(x)
            out.append((f"{s.get('name')} v{s.get('version')}: summary of {r.model.id} {r.artifact.quant} (suite.json)",
                        x.get("metrics") if isinstance(x.get("metrics"), dict) and x.get("metrics")
                        else {"status": r.status, "why": r.error.message if r.error else None}))
    return out


def suite_tables(run: RunData) -> list[tuple[str, Table]]:
    """LocalScore-style summary: the run's ``suite.json`` (means over the suite's cases and the score,
    with intervals) and the per-case rows of the suite (prompt/gen tok/s and TTFT)."""
    suite_recs = [r for r in run.records if r.workload.suite]
    if not suite_recs and not run.suite:
        return []
    out = []
    name = ((run.suite or {}).get("suite") or (run.suite or {}).get("name")
            or next((s.get("name") for s in (run.suite or {}).get("suites") or []), None)
            or suite_recs[0].workload.suite)
    if run.suite:
        for title, figures in _suite_blocks(run.suite, name):
            out.append((title, Table(("figure", "value [95 % interval]", "unit"), tuple(_summary_rows(figures)))))
    else:
        out.append((f"{name}: summary", Table((), (), ("this run has no suite.json (written by the suite runner); "
                                                       "the per-case figures are below",))))
    rows = tuple((Cell(r.workload.label), Cell(str(r.workload.prompt_tokens), numeric=True),
                  Cell(str(r.workload.gen_tokens), numeric=True),
                  _cell(printers.metric_cell(r, "prefill_tokens_per_s"), True),
                  _cell(printers.metric_cell(r, "decode_tokens_per_s"), True),
                  _cell(printers.metric_cell(r, "ttft_ms"), True), Cell(printers.status_cell(r))) for r in suite_recs)
    out.append((f"{name}: cases", Table(("test", "prompt", "gen", "prompt t/s", "gen t/s", "TTFT ms", "status"), rows)))
    return out


def records_of(cases: list[CaseView]) -> list[Record]:
    return [c.record for c in cases]
