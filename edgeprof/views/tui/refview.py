"""The server side of the screen: which reference row a planned case will meet, and edge vs server
rows for the panel — live from the running case, final from ``Record.reference`` (the
``compare.reference.Comparison`` the session attached).

Match kinds follow CONTRACTS "Server references": ``exact`` (same model, quant and workload key),
``same-model`` (same model and workload, another quant/format — stated), ``normalized`` (another
model within 4x of the parameter count: context, NOT a match), ``none``. When
``compare.reference`` offers ``plan_matches`` it decides; until then the rules above run here on
the loaded sets. Live ratios are labelled live; the record's comparison replaces them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from edgeprof.compare import reference
from edgeprof.results import metric_catalogue
from edgeprof.results.schema import Record
from edgeprof.views.tui import fmt

KIND_TEXT = {"exact": "EXACT", "same-model": "SAME MODEL", "normalized": "NOT A MATCH (normalized)",
             "none": "no reference"}
NORMALIZED_SPAN = 4.0


@dataclass
class Planned:
    kind: str                                   # exact | same-model | normalized | none
    set_name: str | None = None
    verification: str | None = None
    row: str | None = None
    record: Record | None = None                # the reference row
    refset: Any = None
    notes: list[str] = field(default_factory=list)


def row_label(r: Record) -> str:
    """The reference row's name as comparisons print it (``q4_1 p128/n128/d0 on <device>``)."""
    w = r.workload
    if w.prompt_tokens is None:
        return str(r.case_id)
    return f"{r.artifact.quant} p{w.prompt_tokens}/n{w.gen_tokens}/d{w.depth} on {r.device.name}"


def plan(model_id: str | None, quant: str | None, workload: dict, params: float | None, sets: list) -> Planned:
    """The reference row a case with this model, quant and workload will be compared with."""
    custom = getattr(reference, "plan_matches", None)
    if custom is not None:  # the references layer decides once it can (issue 10)
        return _from_custom(custom, model_id, quant, workload, params, sets)
    key = (model_id, workload.get("prompt_tokens"), workload.get("gen_tokens"), workload.get("depth"),
           workload.get("n_seqs", 1))
    usable = [(s, r) for s in sets for r in s.records if r.ok]
    same = [(s, r) for s, r in usable if None not in key and r.workload_key() == key]
    if same:
        s, r = min(same, key=lambda sr: sr[1].artifact.quant != quant)
        kind = "exact" if r.artifact.quant == quant else "same-model"
        notes = [] if kind == "exact" else [f"another quant: edge {quant} vs server {r.artifact.quant}"]
        return Planned(kind, s.name, s.verification, row_label(r), r, s, notes)
    near = [(abs(math.log(r.model.params_b * 1e9 / params)), s, r) for s, r in usable
            if params and r.model.params_b and r.model.id != model_id
            and 1 / NORMALIZED_SPAN <= r.model.params_b * 1e9 / params <= NORMALIZED_SPAN]
    if near:
        _, s, r = min(near, key=lambda t: t[0])
        return Planned("normalized", s.name, s.verification, row_label(r), r, s,
                       [f"another model ({r.model.name}, {r.model.params_b:.3g}B vs {params / 1e9:.3g}B params): "
                        "per-parameter context, NOT a match"])
    why = "no reference set has this workload key" if usable else "no reference set with a usable row"
    return Planned("none", notes=[why + "; `edgeprof reference add RUN --name NAME` makes one from a server run"])


def _from_custom(fn, model_id, quant, workload, params, sets) -> Planned:
    got = fn(model_id=model_id, quant=quant, workload=workload, params=params, sets=sets)
    d = got if isinstance(got, dict) else getattr(got, "__dict__", {})
    return Planned(d.get("kind", "none"), d.get("set_name"), d.get("verification"), d.get("row"),
                   d.get("record"), d.get("refset"), list(d.get("notes") or []))


def find_row(sets: list, set_name: str | None, row: str | None) -> Record | None:
    for s in sets:
        if s.name == set_name:
            for r in s.records:
                if row in (row_label(r), r.case_id):
                    return r
    return None


@dataclass
class Line:
    label: str
    edge: str
    server: str
    ratio: str
    note: str = ""


def _label(metric: str) -> str:
    base = metric.split("/params_b")[0].split("×params_b")[0]
    d = metric_catalogue.get(base)
    name = {"decode_tokens_per_s": "decode t/s", "ttft_ms": "TTFT ms", "energy_per_token_j": "J/token",
            "avg_power_w": "power W", "avg_rss_bytes": "memory"}.get(base, (d.label if d else "") or base)
    return name + ("·B" if "×params_b" in metric else "/B" if "/params_b" in metric else "")


def _value(v: float | None, unit: str, prov: dict | None) -> str:
    if v is None:
        return "n/a"
    text = fmt.size(v) if unit.split("/")[0].split("·")[0] == "B" else fmt.num(v)
    return fmt.est(text, (prov or {}).get("kind") == "estimated")


def final_lines(comp: dict) -> list[Line]:
    """Edge vs server per compared metric from a record's comparison (with intervals when given)."""
    out = []
    for x in comp.get("ratios") or []:
        ci = x.get("ci95") or x.get("interval")
        out.append(Line(_label(x["metric"]), _value(x.get("edge_value"), x.get("edge_unit", ""), x.get("edge_provenance")),
                        _value(x.get("ref_value"), x.get("ref_unit", ""), x.get("ref_provenance")),
                        fmt.ratio(x.get("ratio"), ci) if x.get("ratio") is not None else "—", x.get("note") or ""))
    return out


def _ref_value(p: Planned, metric: str) -> tuple[float | None, str, dict, bool]:
    """The reference row's figure for ``metric``: value, unit, how it compares, estimated?"""
    how = (p.refset.comparable.get(metric) if p.refset is not None else None) or {"ref": metric}
    m = p.record.metric(how["ref"]) if p.record is not None else None
    if m is None or m.center is None:
        return None, "", how, False
    return m.center, m.unit, how, m.provenance.estimated


def live_lines(p: Planned, edge: dict[str, float | None], estimated_power: bool) -> list[Line]:
    """Edge figures known so far against the planned row; ratios only for exact/same-model rows
    (a normalized row's per-parameter ratios come with the record)."""
    out = []
    for d in metric_catalogue.reference_metrics():
        e = edge.get(d.name)
        rv, ru, how, r_est = _ref_value(p, d.name)
        ev = None if e is None else e * float(how.get("edge_scale", 1.0))
        eu = how.get("edge_unit", d.unit)
        etext = "…" if e is None else fmt.est(fmt.size(e) if d.unit == "B" else fmt.num(ev),
                                              estimated_power and d.name in ("avg_power_w", "energy_per_token_j"))
        stext = "n/a" if rv is None else fmt.est(fmt.size(rv) if ru == "B" else fmt.num(rv), r_est)
        r = "—"
        if p.kind in ("exact", "same-model") and ev is not None and rv and eu == ru:
            r = fmt.ratio(ev / rv) + " live"
        out.append(Line(_label(d.name), etext, stext, r))
    return out


def roofline(rec: Record | None) -> str:
    m = rec.metric("roofline_fraction") if rec is not None else None
    return "n/a" if m is None or m.center is None else f"{m.center:.0%}"
