"""The server side of the screen: which reference row a planned case will meet, and edge vs server
rows for the panel — live from the running case, final from ``Record.reference`` (the
``compare.reference.Comparison`` the session attached).

The references layer decides everything about matching (``compare.reference.plan_matches``:
``exact`` same model, quant and workload; ``same-model`` another quant, stated; ``normalized``
another model within 4x, per parameter, NOT a match; ``none``); this module only lays it out.
Live ratios are the edge figures so far over the planned row's, labelled live; the record's
comparison (with intervals) replaces them when the case ends.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgeprof.compare import reference
from edgeprof.compare.setmeta import Compared
from edgeprof.results import metric_catalogue, reftext
from edgeprof.results.comparison import Comparison, Roofline
from edgeprof.results.schema import ModelInfo, Record, Workload
from edgeprof.views.tui import fmt

KIND_TEXT = {"exact": "EXACT", "same-model": "SAME MODEL", "normalized": "NOT A MATCH (normalized)",
             "predicted": "PREDICTED (NOT a match)", "none": "no reference"}
ADD_ONE = "`edgeprof reference add RUN --name NAME` makes a set from a server run"


@dataclass
class Planned:
    kind: str                                   # exact | same-model | normalized | none
    set_name: str | None = None
    verification: str | None = None
    row: str | None = None
    record: Record | None = None                # the reference row
    refset: Any = None
    notes: list[str] = field(default_factory=list)
    n_rows: int = 0                             # rows of that kind (the first is shown)
    where: str = ""                             # runtime and host of the row


def row_label(r: Record) -> str:
    """The reference row's name as comparisons print it."""
    return reference._label(r)  # noqa: SLF001 - one labelling rule, owned by the references layer


def plan(model: dict, quant: str | None, workload: dict, sets: list) -> Planned:
    """The reference row a case with this model, quant and workload will be compared with."""
    pm = reference.plan_matches(ModelInfo.from_dict(model), quant, Workload.from_dict(workload), sets)
    if pm.kind == "none" or not pm.rows:
        return Planned("none", notes=list(pm.notes) + [ADD_ONE])
    first = pm.rows[0]
    rset = next((s for s in sets if s.name == first.set_name), None)
    rec = next((r for r in (rset.records if rset else []) if row_label(r) == first.row), None)
    notes = list(first.notes)   # the format difference is stated by the record's comparison
    if pm.n_candidates > 1:
        notes.append(f"{pm.n_candidates - 1} more {pm.kind} row(s); the record's comparison lists them")
    return Planned(pm.kind, first.set_name, first.verification, first.row, rec, rset, notes, pm.n_candidates,
                   f"{first.runtime} · host {first.host or '?'}")


@dataclass
class Line:
    label: str
    edge: str
    server: str
    ratio: str
    note: str = ""


def short_label(metric: str) -> str:
    base = metric.split("/params_b")[0].split("×params_b")[0]
    d = metric_catalogue.get(base)
    name = {"decode_tokens_per_s": "decode t/s", "ttft_ms": "TTFT ms", "energy_per_token_j": "J/token",
            "avg_power_w": "power W", "avg_rss_bytes": "memory"}.get(base, (d.label if d else "") or base)
    return name + ("·B" if "×params_b" in metric else "/B" if "/params_b" in metric else "")


def _value(v: float | None, unit: str, estimated: bool) -> str:
    if v is None:
        return "n/a"
    text = fmt.size(v) if unit.split("/")[0].split("·")[0] == "B" else fmt.num(v)
    return fmt.est(text, estimated)


def final_lines(comp: Comparison) -> list[Line]:
    """Edge vs server per compared metric from a record's comparison (with intervals and verdicts)."""
    out = []
    for x in comp.ratios:
        out.append(Line(short_label(x.metric), _value(x.edge_value, x.edge_unit, x.edge_estimated),
                        _value(x.ref_value, x.ref_unit, x.ref_estimated),
                        fmt.ratio(x.ratio, x.ci95) if x.ratio is not None else "—",
                        "; ".join(t for t in (reftext.verdict(x), x.note) if t)))
    return out


def _ref_value(p: Planned, metric: str) -> tuple[float | None, str, Compared, bool]:
    """The reference row's figure for ``metric``: value, unit, how it compares, estimated?"""
    how = (p.refset.comparable.get(metric) if p.refset is not None else None) or Compared(metric)
    m = p.record.metric(how.ref) if p.record is not None else None
    if m is None or m.center is None:
        return None, "", how, False
    return m.center, m.unit, how, m.provenance.estimated


def live_lines(p: Planned, edge: dict[str, float | None], estimated_power: bool) -> list[Line]:
    """Edge figures known so far against the planned row; ratios only for exact/same-model rows
    (a normalized row's per-parameter ratios come with the record). No row: no table."""
    out = []
    if p.kind == "none":
        return out
    for d in metric_catalogue.reference_metrics():
        e = edge.get(d.name)
        rv, ru, how, r_est = _ref_value(p, d.name)
        if rv is None and d.name not in edge:
            continue   # neither side will ever have it (e.g. a suite score on a single case)
        ev = None if e is None else e * how.edge_scale
        eu = how.edge_unit or d.unit
        etext = "…" if e is None else fmt.est(fmt.size(e) if d.unit == "B" else fmt.num(ev),
                                              estimated_power and d.name in ("avg_power_w", "energy_per_token_j"))
        stext = "n/a" if rv is None else fmt.est(fmt.size(rv) if ru == "B" else fmt.num(rv), r_est)
        r = "—"
        if p.kind in ("exact", "same-model") and ev is not None and rv and eu == ru:
            r = fmt.ratio(ev / rv) + " live"
        out.append(Line(short_label(d.name), etext, stext, r))
    return out


def roofline(side: Roofline | None) -> str:
    """One side of a comparison row's roofline fraction."""
    if side is None or side.value is None:
        return "n/a"
    ci = side.ci95
    return pct(side.value) + (f" [{pct(ci[0])}–{pct(ci[1])}]" if ci else "")


def pct(x: float) -> str:
    """A share as people read it: whole percent from 1 % up, two significant digits below
    (a predicted server at 0.37 % of its roofline is not "0%")."""
    return f"{x:.0%}" if abs(x) >= 0.01 or x == 0 else f"{x * 100:.2g}%"


def record_roofline(rec: Record | None) -> str:
    m = rec.metric("roofline_fraction") if rec is not None else None
    return "n/a" if m is None or m.center is None else f"{m.center:.0%}"
