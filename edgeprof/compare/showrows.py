"""What ``edgeprof reference show NAME [--model ID] [--machine TEXT] [--class TEXT]`` lists: a
set's rows (with a model: the rows it can be compared with, by the same identity rules as
matching), each with its accelerator class, roofline fraction and host-bound flag; a summary per
class (n, median, IQR, min–max, how many host-bound); a legend of the set's own metric columns;
and, when nothing is left, "0 rows: why" instead of an empty table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgeprof.compare import classes as cls
from edgeprof.compare import identity as ident
from edgeprof.compare.ratios import server_roofline
from edgeprof.compare.refsets import RefSet
from edgeprof.results import reftext
from edgeprof.results.comparison import ClassStats
from edgeprof.results.schema import ModelInfo, Record

ORDER = ("exact", "same-model", "normalized", "context")
ROOFLINE_NOTE = ("roofline: the row's decode tokens/s ÷ (its accelerator's published memory bandwidth "
                 "[assets/devices/devices.csv row] ÷ the model file's bytes, weights read once per token); derived, "
                 "n/a where either figure is missing — each row's basis is in -o json/csv (roofline_basis)")


@dataclass
class Shown:
    rows: list[dict[str, Any]]
    head: str
    classes: list[ClassStats] = field(default_factory=list)
    legend: list[str] = field(default_factory=list)
    why_empty: str = ""


def _kind(model: ModelInfo | None, quant: str | None, r: Record) -> str | None:
    """The match a row would give (matching's rules), None when it is not comparable at all."""
    if model is None:
        return ""
    verdict, _ = ident.check(model, r.model)
    if verdict in (ident.SAME, ident.UNVERIFIED):
        same_quant = verdict == ident.SAME and quant and ident.quant_name(quant) == ident.quant_name(r.artifact.quant)
        kind = "exact" if same_quant else "same-model"
    elif (f := ident.params_factor(model.params, r.model.params)) and f <= ident.NORMALIZED_MAX_FACTOR:
        kind = f"normalized ({f:.2g}× params)"
    else:
        return None
    return "context (workload not published)" if ident.workload_identity(r.workload) == ("unknown",) else kind


def _legend(s: RefSet, columns: set[str]) -> list[str]:
    """Each metric column of this set with its definition: the set's own (EfficientLLM's AMU, AL,
    IT ...) where it states one, else the metric catalogue's."""
    from edgeprof.results import metric_catalogue

    defs = s.meta.metric_definitions
    out = []
    for c in sorted(columns):
        d = metric_catalogue.get(c)
        text = defs.get(c) or (d.doc if d and d.doc else "")
        if text:
            out.append(f"{c}: {text}")
    return out


def show(s: RefSet, model: ModelInfo | None, quant: str | None, machine: str | None = None,
         klass: str | None = None) -> Shown:
    sp, cache = cls.Specs(), {}
    picked: list[tuple[str, Record]] = []
    for r in s.records:
        kind = _kind(model, quant, r)
        if kind is None:
            continue
        picked.append((kind, r))
    comparable = len(picked)
    if machine:
        m = machine.lower()
        picked = [(k, r) for k, r in picked if m in str(r.device.name or "").lower() or m in str(r.host or "").lower()]
    if klass:
        picked = [(k, r) for k, r in picked if klass.lower() in sp.accel_class(r).lower()]
    groups: dict[tuple, list[Record]] = {}
    for _, r in picked:
        groups.setdefault((ident.norm(r.model.id), ident.workload_identity(r.workload)), []).append(r)
    peers_all: dict[tuple, list[Record]] = {}
    for r in s.records:  # host-bound peers: every row of that model and workload, filters aside
        key = (ident.norm(r.model.id), ident.workload_identity(r.workload))
        if key in groups:
            peers_all.setdefault(key, []).append(r)
    rows, bound_of = [], {}
    for kind, r in picked:
        roof = server_roofline(r, cache)
        hb = cls.host_bound(r, roof, peers_all[(ident.norm(r.model.id), ident.workload_identity(r.workload))], sp)
        bound_of[id(r)] = hb.flag
        rows.append({**({"match": kind} if model is not None else {}), "row": r.extra.get("result_id") or r.case_id,
                     "status": r.status, "model": r.model.name or r.model.id, "quant": r.artifact.quant,
                     "workload": ident.describe_workload(r.workload), "machine": r.device.name,
                     "class": sp.accel_class(r), "host": r.host, "date": (r.started_at or "")[:10],
                     **{k: round(v.center, 4) for k, v in r.metrics.items() if v.center is not None},
                     "roofline": f"{roof.value:.1%}" if roof.value is not None else "n/a",
                     "roofline_basis": roof.basis or roof.why,
                     "host_bound": {True: "yes", False: "no", None: "?"}[hb.flag], "host_bound_evidence": hb.evidence,
                     **({"load": "CONTENDED"} if cls.contended(r) else {}),
                     **({"url": r.extra["url"]} if r.extra.get("url") else {})})
    rows.sort(key=lambda x: next((i for i, k in enumerate(ORDER) if str(x.get("match", "")).startswith(k)), 9))
    head = f"{s.name} [{s.verification}] {s.meta.title or (s.meta.source if s.meta.source is not None else '')}"
    if model is not None:
        head += (f"\nrows comparable with {model.name or model.id}" + (f" {quant}" if quant else "")
                 + f": {comparable} (exact/same-model need the same workload or suite when matched; normalized: "
                   f"another model within {ident.NORMALIZED_MAX_FACTOR:g}× its parameter count)")
    if machine or klass:
        head += f"\nfiltered by " + ", ".join(f"{k} containing '{v}'" for k, v in (("machine", machine),
                                                                                 ("class", klass)) if v)
    columns = {k for x in rows for k in x if k in {m for _, r in picked for m in r.metrics}}
    return Shown(rows, head, _class_summary(picked, sp, bound_of), _legend(s, columns),
                 "" if rows else _why_empty(s, model, comparable, machine, klass, sp))


def _class_summary(picked: list[tuple[str, Record]], sp: cls.Specs, bound_of: dict) -> list[ClassStats]:
    by: dict[tuple, list[Record]] = {}
    for kind, r in picked:
        if r.value("decode_tokens_per_s"):
            by.setdefault((sp.accel_class(r), kind.split(" ")[0], r.model.name or r.model.id), []).append(r)
    out = []
    for (name, kind, mname), rs in sorted(by.items(), key=lambda kv: (ORDER.index(kv[0][1]) if kv[0][1] in ORDER
                                                                         else 9, -len(kv[1]), kv[0][0])):
        vals = tuple(float(r.value("decode_tokens_per_s")) for r in rs)
        out.append(ClassStats(name, "decode_tokens_per_s", rs[0].metric("decode_tokens_per_s").unit, vals,
                              sum(1 for r in rs if bound_of.get(id(r))), note=f"{kind or 'rows'} · {mname}"))
    return out


def _why_empty(s: RefSet, model: ModelInfo | None, comparable: int, machine, klass, sp: cls.Specs) -> str:
    if not s.records:
        return f"set {s.name} holds no rows"
    if model is not None and comparable == 0:
        size = f" ({model.params / 1e9:.3g} B parameters)" if model.params else " (parameter count unknown)"
        return (f"no row of {s.name} is comparable with {model.name or model.id}{size}: none of this model (by name "
                f"and parameter count), none of a model within {ident.NORMALIZED_MAX_FACTOR:g}× its size — "
                f"'edgeprof reference list' shows the other sets")
    from collections import Counter

    # the classes with most rows first (what a user most likely meant), alphabetical among equals
    count = Counter(sp.accel_class(r) for r in s.records if model is None or _kind(model, None, r) is not None)
    known = [f"{k} ({n})" for k, n in sorted(count.items(), key=lambda kv: (-kv[1], kv[0]))]
    what = ", ".join(f"{k} '{v}'" for k, v in (("--machine", machine), ("--class", klass)) if v)
    return (f"{comparable} comparable rows, none left after {what}; classes with most rows: "
            f"{', '.join(known[:12])}{f' … ({len(known)} classes)' if len(known) > 12 else ''}")


def class_lines(classes: list[ClassStats]) -> list[str]:
    return [f"- {reftext.class_text(c)} ({c.note})" for c in classes]
