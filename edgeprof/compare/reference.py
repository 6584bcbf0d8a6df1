"""Matching an edge result against server reference sets (CONTRACTS.md "Server references").

Match kinds, strongest first (``identity.py`` says what "same" means — content, not names):

- ``exact``: same model (a name agrees AND the parameter counts and shapes agree), same file type
  (the edge's counted from its tensors), same workload (the CONTRACTS workload key, or the same
  suite: a suite's *summary* matches published suite rows; a case run inside a suite matches only
  that case of that suite);
- ``same-model``: same model and workload, another quant/format/runtime (stated in ``format_note``),
  or names that agree where a parameter count is unknown (identity not verified: never exact);
- ``normalized``: another model within 4× of the parameter count and the same workload, compared
  per parameter (rates × params_b, costs ÷ params_b) AND by each side's roofline fraction — a row
  whose name claims this model but whose size contradicts it lands here or nowhere;
- ``none``: nothing comparable (why in ``notes``, short form in ``short_reason``).
Rows whose workload was never published (EfficientLLM) are never a match: for the same model they
are listed under ``context``, labelled so. ``predicted`` (a modelled server figure) is built
elsewhere and is never produced here.

``match`` returns a ``results.comparison.Comparison``: every row judged (``classes.py``), its
ratios judged with compare's statistics (``judge.py``), and the accelerator classes of the rows
shown with their distributions. ``plan_matches`` answers the same question before anything runs.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, replace
from typing import Any

from edgeprof.compare import classes as cls
from edgeprof.compare import identity as ident
from edgeprof.compare.judge import Judge
from edgeprof.compare.ratios import against_values, edge_roofline, ratios, server_roofline
from edgeprof.compare.refindex import StaleIndex
from edgeprof.compare.refsets import (RefSet, ReferenceSetError, get_set, load_set, load_sets,  # noqa: F401
                                      matching_sets)
from edgeprof.assets_access import asset  # noqa: F401 - re-exported (tests, commands)
from edgeprof.errors import command
from edgeprof.models.quant import precision_class  # noqa: F401 - re-exported
from edgeprof.results import reftext
from edgeprof.results.comparison import ClassStats, Comparison, RowMatch, Side
from edgeprof.results.schema import ArtifactInfo, ModelInfo, Record, Workload

KINDS = ("exact", "same-model", "normalized")
#: at most this many rows are compared before rows are picked by kind of machine
ALL_ROWS_UP_TO = 12
ROLE_ORDER = ("datacenter-gpu", "jetson", "rpi", "apple", "cpu", "gpu", "other")
CLASS_METRICS = ("decode_tokens_per_s", "prefill_tokens_per_s", "ttft_ms")


def _label(rec: Record) -> str:
    if rec.extra.get("result_id") is not None:
        return f"result {rec.extra['result_id']} {rec.device.name}"
    w = rec.workload
    if w.inference:
        return f"{rec.artifact.quant} {w.label} on {rec.device.name}"
    if w.prompt_tokens is None:
        return str(rec.case_id) if w.suite is None else f"{rec.artifact.quant} {w.suite} summary on {rec.device.name}"
    return f"{rec.artifact.quant} p{w.prompt_tokens}/n{w.gen_tokens}/d{w.depth} on {rec.device.name}"


def _side(rec: Record) -> Side:
    a = rec.artifact
    return Side(rec.model.id, a.format, a.quant, precision_class(a.quant), rec.device.name, rec.runtime.name)


def _format_note(edge: Side, ref: Side) -> str:
    e, r = f"{edge.format} {edge.quant}", f"{ref.format} {ref.quant}"
    if edge.precision != ref.precision:
        return f"format differs: edge {e} ({edge.precision}) vs server {r} ({ref.precision})"
    if (edge.format, edge.quant) != (ref.format, ref.quant):
        return f"same precision class ({edge.precision}), different format/scheme: edge {e} vs server {r}"
    return ""


@dataclass
class _Found:
    kind: str
    rows: list
    context: list
    notes: list
    short: str = ""


def candidates(record: Record, sets: list[RefSet]) -> tuple[str, list[tuple[RefSet, Record]], list, list[str]]:
    """(kind, rows of that kind, context rows, notes): the strongest kind any usable row reaches."""
    f = _candidates(record, sets)
    return f.kind, f.rows, f.context, f.notes


def _candidates(record: Record, sets: list[RefSet]) -> _Found:
    try:
        return _scan(record, sets)
    except StaleIndex:  # a set's index did not match its rows: that set is now read in full
        return _scan(record, sets)


def _scan(record: Record, sets: list[RefSet]) -> _Found:
    """Each group of rows (one model, workload and quant: ``refindex.RowGroup``) is judged once;
    only the rows of the strongest kind reached, and the context rows, are then read."""
    wid, quant = ident.workload_identity(record.workload), ident.quant_name(record.artifact.quant)
    found: dict[str, list] = {k: [] for k in (*KINDS, "context")}   # (set, groups) per kind
    far, suites_here, contradicted = 0, set(), ""
    any_near, nearest, other_workloads = False, None, set()
    used = matching_sets(sets)
    for s in used:
        picks: dict[str, list] = {k: [] for k in found}
        for g in s.groups():
            verdict, why = ident.check(record.model, g.model)
            same = verdict in (ident.SAME, ident.UNVERIFIED)
            if verdict == ident.DIFFERENT and not contradicted:
                contradicted = f"{g.model.name or g.model.id}: {why}"
            rid = ident.workload_identity(g.workload)
            if rid == ("unknown",):
                if same:
                    picks["context"].append(g)
                continue
            factor = ident.params_factor(record.model.params, g.model.params)
            near = same or (factor or 1e9) <= ident.NORMALIZED_MAX_FACTOR
            any_near = any_near or near
            if factor is not None and (nearest is None or factor < nearest[0]):
                nearest = (factor, g.model)
            if rid[0] == "suite" and near:
                suites_here.add(rid[1])
            elif same and rid != wid:
                other_workloads.add(ident.describe_workload(g.workload))
            if rid != wid or wid == ("unknown",):
                continue
            if same:
                picks["exact" if verdict == ident.SAME and g.quant == quant else "same-model"].append(g)
            elif factor is not None and factor <= ident.NORMALIZED_MAX_FACTOR:
                picks["normalized"].append(g)
            else:
                far += len(g.positions)
        for k, gs in picks.items():
            if gs:
                found[k].append((s, gs))
    context = [(s, r) for s, gs in found["context"] for r in s.rows_of(gs)]
    notes = [f"identity: {contradicted}"] if contradicted else []
    notes += [n for s in used for n in s.notes]
    for kind in KINDS:
        if found[kind]:
            return _Found(kind, [(s, r) for s, gs in found[kind] for r in s.rows_of(gs)], context, notes)
    return _none(record, wid, suites_here, any_near, nearest, other_workloads, far, context, notes)


def _none(record, wid, suites_here, any_near, nearest, other_workloads, far, context, notes) -> _Found:
    why = f"no reference row for {ident.describe_workload(record.workload)}"
    short = "no row for this workload"
    if wid[0] == "case" and not wid[5] and suites_here:
        flag = shlex.join(["--suite", ",".join(sorted(suites_here))])
        why += f" (the rows for this model are suite summaries: bench with {flag} to match them)"
        short = f"rows are suite summaries: bench {flag}"
    elif not any_near and record.model.params is not None:
        closest = (f"; the closest is {nearest[1].name or nearest[1].id} "
                   f"({nearest[1].params / 1e9:.3g} B, {nearest[0]:.1f}× away)" if nearest else "")
        why += (f" (no set holds this model or one within {ident.NORMALIZED_MAX_FACTOR:g}× its size{closest}: "
                f"'edgeprof reference list' shows them)")
        short = f"no set holds this model (or one within {ident.NORMALIZED_MAX_FACTOR:g}× its size)"
        far = 0
    elif other_workloads:
        shown = sorted(other_workloads)
        why += (f" (this model's rows are for {', '.join(shown[:3])}" + (f" and {len(shown) - 3} more" if len(shown) > 3
                                                                        else "") + ": bench one of those to match)")
        short = f"rows are for other workloads ({shown[0]}{', …' if len(shown) > 1 else ''})"
    if record.model.params is None:
        why += "; parameter count unknown, so no normalized comparison"
    elif far:
        why += f" of this model, nor of a model within {ident.NORMALIZED_MAX_FACTOR:g}× its parameter count"
    return _Found("none", [], context, [why] + notes, short)


def _pick(record: Record, rows: list[tuple[RefSet, Record]], sp: cls.Specs) -> list[tuple[RefSet, Record]]:
    """All rows when few; else the datacenter GPUs, Jetson and Raspberry Pi boards, one row per
    Apple chip and the CPUs of this machine's family (what a user of this device asks about)."""
    def key(sr):
        r = sr[1]
        role = r.device.extra.get("role") or "other"
        return (r.device.name != record.device.name, ROLE_ORDER.index(role) if role in ROLE_ORDER else 99,
                -(sp.bandwidth(r) or 0.0), str(r.device.name), str(r.started_at or ""))
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


class _Ctx:
    """What one ``match`` shares across its rows: device specs, roofline cache, the judge, peers."""

    def __init__(self, judge: Judge | None, peers: list[Record], with_ratios: bool = True):
        self.sp, self.cache, self.judge, self.peers, self.with_ratios = cls.Specs(), {}, judge, peers, with_ratios

    def roof(self, r: Record):
        return server_roofline(r, self.cache)


def _row_match(kind: str, record: Record, s: RefSet, r: Record, cx: _Ctx) -> RowMatch:
    edge, ref = _side(record), _side(r)
    notes = []
    factor = ident.params_factor(record.model.params, r.model.params)
    if kind == "normalized":
        notes.append(f"another model ({r.model.name}, {factor:.2g}× the parameter count): ratios are per "
                     f"parameter; compare the roofline fractions too")
    if kind == "context":
        notes.append("context, NOT a match: this row's workload was never published")
    verdict, why = ident.check(record.model, r.model)
    if verdict == ident.UNVERIFIED:
        notes.append(f"identity not verified: {why}")
    energy = cls.scope_note(record, r)
    roof = cx.roof(r)
    rm = RowMatch(kind, s.name, _label(r), str(r.extra.get("verification_status") or s.verification),
                  cls.runtime_text(r, s.runtime_label), r.host, r.device.name, r.device.extra.get("role"),
                  r.model.name or r.model.id, r.artifact.quant, r.artifact.format, r.extra.get("result_id"),
                  r.extra.get("url"), r.started_at, factor, _format_note(edge, ref),
                  accel_class=cx.sp.accel_class(r), runtime_note=cls.runtime_note(record, r),
                  contended=cls.contended(r), energy_note=energy, notes=tuple(notes))
    if not cx.with_ratios:
        return rm
    no_verdict = dict.fromkeys(cls.ENERGY_METRICS, energy) if energy else {}
    return replace(rm, ratios=tuple(ratios(record, r, s.comparable, s.not_comparable, kind == "normalized",
                                           cx.judge, no_verdict)),
                   edge_roofline=edge_roofline(record), server_roofline=roof,
                   host_bound=cls.host_bound(r, roof, cx.peers, cx.sp))


def _classes(record: Record, kind: str, picked: list[RowMatch], rows: list[tuple[RefSet, Record]],
             cx: _Ctx) -> tuple[ClassStats, ...]:
    """One distribution per accelerator class among the rows shown (closest row's class first),
    over every matching row of that class, for the first of ``CLASS_METRICS`` the edge has."""
    metric = next((m for m in CLASS_METRICS if record.value(m) is not None), None)
    if metric is None:
        return ()
    by_class: dict[str, list[Record]] = {}
    for _, r in rows:
        by_class.setdefault(cx.sp.accel_class(r), []).append(r)
    out = []
    for name in dict.fromkeys(p.accel_class for p in picked):
        members = [r for r in by_class.get(name, []) if r.metric(metric) is not None and r.value(metric)]
        if not members:
            continue
        unit = members[0].metric(metric).unit
        values = tuple(float(r.value(metric)) for r in members if r.metric(metric).unit == unit)
        bound = sum(1 for r in members if cls.host_bound(r, cx.roof(r), cx.peers, cx.sp).flag)
        ratio = against_values(record, metric, values, unit, cx.judge, kind == "normalized",
                               [r for r in members if r.metric(metric).unit == unit])
        note = "one row: no spread" if len(values) == 1 else ""
        out.append(ClassStats(name, metric, unit, values, bound, ratio, members[0].device.extra.get("role"), note))
    return tuple(out)


def match(record: Record, sets: list[RefSet], judge: Judge | None = None) -> Comparison:
    f = _candidates(record, sets)
    cx = _Ctx(judge or Judge(host=record.host), [r for _, r in f.rows])
    ctx = tuple(_row_match("context", record, s, r, cx) for s, r in f.context)
    if f.kind == "none":
        comp = Comparison("none", edge_side=_side(record), notes=tuple(f.notes), context=ctx, short_reason=f.short)
        return replace(comp, summary=reftext.summary(comp))
    pairs = _pick(record, f.rows, cx.sp)
    picked = [_row_match(f.kind, record, s, r, cx) for s, r in pairs]
    first, (s0, r0) = picked[0], pairs[0]
    notes = list(f.notes)
    if len(picked) < len(f.rows):
        notes.append(f"{len(f.rows)} rows matched; shown: {len(picked)} (datacenter GPUs, boards, one per Apple "
                     f"chip, CPUs of this machine's family); "
                     f"{command('reference', 'show', s0.name, '--model', record.model.name or record.model.id)} lists all")
    busy = [p for p in picked if p.contended]
    contended = first.contended or (f"{len(busy)} of the {len(picked)} rows shown were measured on a busy machine"
                                    if busy else "")
    comp = Comparison(f.kind, first.set_name, first.row, first.verification, _side(record), _side(r0),
                      first.format_note, first.ratios, tuple(notes), tuple(picked), ctx, len(f.rows),
                      _classes(record, f.kind, picked, f.rows, cx), first.energy_note, contended)
    return replace(comp, summary=reftext.summary(comp))


@dataclass
class PlanMatch:
    """What a planned case will be compared with, before anything runs (no ratios)."""

    kind: str
    rows: list[RowMatch]
    context: list[RowMatch]
    n_candidates: int
    notes: list[str]


def plan_matches(model: ModelInfo, quant: str | None, workload: Workload,
                 sets: list[RefSet] | None = None) -> PlanMatch:
    """Which reference rows a planned case will match and how. ``model`` is the artifact's
    ``ModelInfo`` (its GGUF names included), ``workload`` the case's; pass ``Workload(suite=NAME)``
    (no prompt/gen) to ask about a suite's summary, which is what matches published suite rows."""
    sets = load_sets() if sets is None else sets
    probe = Record(case_id="plan", model=model, artifact=ArtifactInfo(quant=quant), workload=workload)
    f = _candidates(probe, sets)
    cx = _Ctx(None, [r for _, r in f.rows], with_ratios=False)
    picked = [_row_match(f.kind, probe, s, r, cx) for s, r in _pick(probe, f.rows, cx.sp)]
    return PlanMatch(f.kind, picked, [_row_match("context", probe, s, r, cx) for s, r in f.context],
                     len(f.rows), f.notes)


def plan_matches_for_case(case: Any, sets: list[RefSet] | None = None) -> dict[str, PlanMatch]:
    """For an ``engine.plan.Case``: ``{"case": ...}`` and, for a case of a suite, ``{"summary": ...}``
    (the suite's summary row, which is what published suite rows match)."""
    sets = load_sets() if sets is None else sets
    a, w = case.artifact, case.workload
    out = {"case": plan_matches(a.model, a.quant, w, sets)}
    if w.suite:
        out["summary"] = plan_matches(a.model, a.quant, Workload(None, None, None, 1, suite=w.suite), sets)
    return out
