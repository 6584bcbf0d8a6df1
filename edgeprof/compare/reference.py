"""Matching an edge result against server reference sets (CONTRACTS.md "Server references").

Match kinds, strongest first (``identity.py`` says what "same" means):

- ``exact``: same model (by name/GGUF metadata), same quant, same workload (the CONTRACTS workload
  key, or the same suite: a suite's *summary* matches published suite rows; a case run inside a
  suite matches only that case of that suite);
- ``same-model``: same model and workload, another quant/format/runtime (stated in ``format_note``);
- ``normalized``: another model within 4× of the parameter count and the same workload, compared
  per parameter (rates × params_b, costs ÷ params_b) AND by each side's roofline fraction;
- ``none``: nothing comparable (why in ``notes``).
Rows whose workload was never published (EfficientLLM) are never a match: for the same model they
are listed under ``context``, labelled so.

``Record.reference`` (written on every record by ``compare.enrich`` and on each suite summary in
``suite.json``) is ``Comparison.to_dict()`` plus ``summary`` (one line for a table cell)::

    {"kind": "exact|same-model|normalized|none",
     "set_name", "row", "verification", "edge_side", "ref_side", "format_note", "ratios",  # the primary row
     "rows": [RowMatch...],        # every row compared, primary first
     "context": [RowMatch...],     # same model, workload unknown: context, NOT a match
     "n_candidates": int,          # rows of that kind before the selection shown
     "notes": [str], "summary": str}

``RowMatch``: ``kind, set_name, row, result_id, url, verification, runtime, host, device,
device_role, date, model, quant, format, params_factor, format_note, ratios, roofline
{"edge": {value, ci95, basis|why}, "server": {...}}, notes``. ``Ratio``: ``metric, ratio, ci95,
edge_value, edge_unit, ref_metric, ref_value, ref_unit, edge_provenance, ref_provenance, note``.
``plan_matches`` answers the same question before anything runs (the TUI's "this plan will match").
"""
from __future__ import annotations

import shlex
from dataclasses import asdict, dataclass, field
from typing import Any

from edgeprof.analysis import specs
from edgeprof.assets_access import asset  # noqa: F401 - re-exported (tests, commands)
from edgeprof.compare import identity as ident
from edgeprof.errors import command
from edgeprof.compare.ratios import Ratio, edge_roofline, ratios, server_roofline
from edgeprof.compare.refsets import (RefSet, ReferenceSetError, get_set, load_set, load_sets,  # noqa: F401
                                      matching_sets)
from edgeprof.models.quant import precision_class  # noqa: F401 - re-exported
from edgeprof.results.schema import ArtifactInfo, ModelInfo, Record, Workload

KINDS = ("exact", "same-model", "normalized")
#: at most this many rows are compared before rows are picked by kind of machine
ALL_ROWS_UP_TO = 12
ROLE_ORDER = ("datacenter-gpu", "jetson", "rpi", "apple", "cpu", "gpu", "other")


@dataclass
class RowMatch:
    kind: str
    set_name: str
    row: str
    verification: str
    runtime: str
    host: str | None
    device: str | None
    device_role: str | None
    model: str | None
    quant: str | None
    format: str | None
    result_id: Any = None
    url: str | None = None
    date: str | None = None
    params_factor: float | None = None
    format_note: str = ""
    ratios: list[Ratio] = field(default_factory=list)
    roofline: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Comparison:
    kind: str                      # exact | same-model | normalized | none
    set_name: str | None = None
    row: str | None = None         # the primary reference row (always named)
    verification: str | None = None
    edge_side: dict = field(default_factory=dict)
    ref_side: dict = field(default_factory=dict)
    format_note: str = ""
    ratios: list[Ratio] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows: list[RowMatch] = field(default_factory=list)
    context: list[RowMatch] = field(default_factory=list)
    n_candidates: int = 0

    to_dict = asdict

    def summary(self) -> str:
        """One line for a Markdown cell: the primary row, its verification, runtime and host, the
        ratios with intervals, and how many more rows the full comparison holds."""
        if self.kind == "none":
            return "no reference" + (f" ({self.notes[0]})" if self.notes else "")
        first = self.rows[0]
        label = {"exact": "vs", "same-model": "same model, other quant: vs",
                 "normalized": "normalized (another model), NOT a match: vs"}[self.kind]
        parts = []
        for r in self.ratios:
            if r.ratio is None:
                continue
            ci = f" [{r.ci95[0]:.3g}–{r.ci95[1]:.3g}]" if r.ci95 else ""
            est = " (edge est.)" if (r.edge_provenance or {}).get("kind") == "estimated" else ""
            est += " (server est.)" if (r.ref_provenance or {}).get("kind") == "estimated" else ""
            parts.append(f"{_short(r.metric)} {r.ratio:.3g}×{ci}{est}")
        more = f"; +{len(self.rows) - 1} more rows" if len(self.rows) > 1 else ""
        fmt = f"; {self.format_note}" if self.format_note else ""
        return (f"{label} {self.set_name}:{self.row} [{self.verification}; {first.runtime}; host "
                f"{first.host or '?'}] edge÷server {', '.join(parts) or 'no comparable metric'}{fmt}{more}")


def _short(metric: str) -> str:
    from edgeprof.results import metric_catalogue

    base = metric.split("/params_b")[0].split("×params_b")[0]
    d = metric_catalogue.get(base)
    return (d.short if d and d.short else base) + (
        "·params" if "×params_b" in metric else "/params" if "/params_b" in metric else "")


def _label(rec: Record) -> str:
    if rec.extra.get("result_id") is not None:
        return f"result {rec.extra['result_id']} {rec.device.name}"
    w = rec.workload
    if w.prompt_tokens is None:
        return str(rec.case_id) if w.suite is None else f"{rec.artifact.quant} {w.suite} summary on {rec.device.name}"
    return f"{rec.artifact.quant} p{w.prompt_tokens}/n{w.gen_tokens}/d{w.depth} on {rec.device.name}"


def _side(rec: Record) -> dict:
    a = rec.artifact
    return {"model": rec.model.id, "format": a.format, "quant": a.quant, "precision": precision_class(a.quant),
            "device": rec.device.name, "runtime": rec.runtime.name}


def _format_note(edge: dict, ref: dict) -> str:
    e, r = f"{edge['format']} {edge['quant']}", f"{ref['format']} {ref['quant']}"
    if edge["precision"] != ref["precision"]:
        return f"format differs: edge {e} ({edge['precision']}) vs server {r} ({ref['precision']})"
    if (edge["format"], edge["quant"]) != (ref["format"], ref["quant"]):
        return f"same precision class ({edge['precision']}), different format/scheme: edge {e} vs server {r}"
    return ""


def _runtime(rec: Record, rset: RefSet) -> str:
    rt = rec.runtime
    return rt.extra.get("label") or " ".join(str(x) for x in (rt.name, rt.version) if x) or rset.runtime_label or "?"


def candidates(record: Record, sets: list[RefSet]) -> tuple[str, list[tuple[RefSet, Record]], list, list[str]]:
    """(kind, rows of that kind, context rows, notes): the strongest kind any usable row reaches."""
    keys, wid = ident.model_keys(record.model), ident.workload_identity(record.workload)
    quant = ident.quant_name(record.artifact.quant)
    found: dict[str, list] = {k: [] for k in KINDS}
    context, far, suites_here = [], 0, set()   # suites_here: suites with a summary row this record could meet
    any_near = False                           # a row of this model, or of one within the normalized factor
    nearest: tuple[float, Record] | None = None   # named when nothing is near enough: the closest in size
    other_workloads: set[str] = set()             # the workloads this model's own rows were measured with
    for s in matching_sets(sets):
        for r in s.records:
            if not r.ok:
                continue
            same = bool(keys & ident.model_keys(r.model))
            rid = ident.workload_identity(r.workload)
            if rid == ("unknown",):
                if same:
                    context.append((s, r))
                continue
            near = same or (ident.params_factor(record.model.params, r.model.params) or 1e9) <= \
                ident.NORMALIZED_MAX_FACTOR
            any_near = any_near or near
            f = ident.params_factor(record.model.params, r.model.params)
            if f is not None and (nearest is None or f < nearest[0]):
                nearest = (f, r)
            if rid[0] == "suite" and near:
                suites_here.add(rid[1])
            elif same and rid != wid:
                other_workloads.add(ident.describe_workload(r.workload))
            if rid != wid or wid == ("unknown",):
                continue
            if same:
                found["exact" if ident.quant_name(r.artifact.quant) == quant else "same-model"].append((s, r))
                continue
            f = ident.params_factor(record.model.params, r.model.params)
            if f is not None and f <= ident.NORMALIZED_MAX_FACTOR:
                found["normalized"].append((s, r))
            else:
                far += 1
    for kind in KINDS:
        if found[kind]:
            return kind, found[kind], context, []
    why = f"no reference row for {ident.describe_workload(record.workload)}"
    if wid[0] == "case" and not wid[5] and suites_here:
        why += (f" (the rows for this model are suite summaries: bench with "
                f"{shlex.join(['--suite', ','.join(sorted(suites_here))])} to match them)")
    elif not any_near and record.model.params is not None:
        closest = (f"; the closest is {nearest[1].model.name or nearest[1].model.id} "
                   f"({nearest[1].model.params / 1e9:.3g} B, {nearest[0]:.1f}× away)" if nearest else "")
        why += (f" (no set holds this model or one within {ident.NORMALIZED_MAX_FACTOR:g}× its size{closest}: "
                f"'edgeprof reference list' shows them)")
        far = 0
    elif other_workloads:
        shown = sorted(other_workloads)
        why += (f" (this model's rows are for {', '.join(shown[:3])}" + (f" and {len(shown) - 3} more" if len(shown) > 3
                                                                        else "") + ": bench one of those to match)")
    if record.model.params is None:
        why += "; parameter count unknown, so no normalized comparison"
    elif far:
        why += f" of this model, nor of a model within {ident.NORMALIZED_MAX_FACTOR:g}× its parameter count"
    return "none", [], context, [why]


def _pick(record: Record, rows: list[tuple[RefSet, Record]]) -> list[tuple[RefSet, Record]]:
    """All rows when few; else the datacenter GPUs, Jetson and Raspberry Pi boards, one row per
    Apple chip and the CPUs of this machine's family (what a user of this device asks about)."""
    bandwidth: dict[str, float] = {}

    def key(sr):
        r = sr[1]
        role = r.device.extra.get("role") or "other"
        name = str(r.device.extra.get("spec_name") or r.device.name)
        if name not in bandwidth:  # fastest published memory first: H200, H100 SXM, ...
            bandwidth[name] = float((specs.lookup(name) or {}).get("peak_mem_bandwidth_gbs") or 0)
        return (r.device.name != record.device.name, ROLE_ORDER.index(role) if role in ROLE_ORDER else 99,
                -bandwidth[name], str(r.device.name), str(r.started_at or ""))
    rows = sorted(rows, key=key)
    if len(rows) <= ALL_ROWS_UP_TO:
        return rows
    fam, apple_seen, cpus, out = ident.cpu_family(record.device.name), set(), 0, []
    for s, r in rows:
        role, name = r.device.extra.get("role"), str(r.device.name)
        if name == record.device.name or role in ("datacenter-gpu", "jetson", "rpi"):
            out.append((s, r))
        elif role == "apple" and (chip := r.device.extra.get("spec_name", name)) not in apple_seen:
            apple_seen.add(chip)
            out.append((s, r))
        elif role == "cpu" and fam and cpus < 5 and fam in {ident.cpu_family(name), ident.cpu_family(r.host)}:
            cpus += 1
            out.append((s, r))
    return out


def _row_match(kind: str, record: Record, s: RefSet, r: Record, cache: dict, with_ratios: bool = True) -> RowMatch:
    edge, ref = _side(record), _side(r)
    rm = RowMatch(kind, s.name, _label(r), str(r.extra.get("verification_status") or s.verification),
                  _runtime(r, s), r.host, r.device.name, r.device.extra.get("role"), r.model.name or r.model.id,
                  r.artifact.quant, r.artifact.format, r.extra.get("result_id"), r.extra.get("url"), r.started_at,
                  ident.params_factor(record.model.params, r.model.params), _format_note(edge, ref))
    if kind == "normalized":
        rm.notes.append(f"another model ({r.model.name}, {rm.params_factor:.2g}× the parameter count): ratios are per "
                        f"parameter; compare the roofline fractions too")
    if kind == "context":
        rm.notes.append("context, NOT a match: this row's workload was never published")
    if with_ratios:
        rm.ratios = ratios(record, r, s.comparable, s.not_comparable, kind == "normalized")
        rm.roofline = {"edge": edge_roofline(record), "server": server_roofline(r, cache)}
    return rm


def match(record: Record, sets: list[RefSet]) -> Comparison:
    kind, rows, context, notes = candidates(record, sets)
    cache: dict = {}
    ctx = [_row_match("context", record, s, r, cache) for s, r in context]
    if kind == "none":
        return Comparison("none", edge_side=_side(record), notes=notes, context=ctx)
    pairs = _pick(record, rows)
    picked = [_row_match(kind, record, s, r, cache) for s, r in pairs]
    first, (s0, r0) = picked[0], pairs[0]
    if len(picked) < len(rows):
        notes.append(f"{len(rows)} rows matched; shown: {len(picked)} (datacenter GPUs, boards, one per Apple "
                     f"chip, CPUs of this machine's family); "
                     f"{command('reference', 'show', s0.name, '--model', record.model.name or record.model.id)} lists all")
    return Comparison(kind, first.set_name, first.row, first.verification, _side(record), _side(r0),
                      first.format_note, first.ratios, notes, picked, ctx, len(rows))


@dataclass
class PlanMatch:
    """What a planned case will be compared with, before anything runs (no ratios)."""

    kind: str
    rows: list[RowMatch]
    context: list[RowMatch]
    n_candidates: int
    notes: list[str]

    to_dict = asdict


def plan_matches(model: ModelInfo, quant: str | None, workload: Workload,
                 sets: list[RefSet] | None = None) -> PlanMatch:
    """Which reference rows a planned case will match and how. ``model`` is the artifact's
    ``ModelInfo`` (its GGUF names included), ``workload`` the case's; pass ``Workload(suite=NAME)``
    (no prompt/gen) to ask about a suite's summary, which is what matches published suite rows."""
    sets = load_sets() if sets is None else sets
    probe = Record(case_id="plan", model=model, artifact=ArtifactInfo(quant=quant), workload=workload)
    kind, rows, context, notes = candidates(probe, sets)
    picked = [_row_match(kind, probe, s, r, {}, with_ratios=False) for s, r in _pick(probe, rows)]
    return PlanMatch(kind, picked, [_row_match("context", probe, s, r, {}, False) for s, r in context],
                     len(rows), notes)


def plan_matches_for_case(case: Any, sets: list[RefSet] | None = None) -> dict[str, PlanMatch]:
    """For an ``engine.plan.Case``: ``{"case": ...}`` and, for a case of a suite, ``{"summary": ...}``
    (the suite's summary row, which is what published suite rows match)."""
    sets = load_sets() if sets is None else sets
    a, w = case.artifact, case.workload
    out = {"case": plan_matches(a.model, a.quant, w, sets)}
    if w.suite:
        out["summary"] = plan_matches(a.model, a.quant, Workload(None, None, None, 1, suite=w.suite), sets)
    return out
