"""Server reference sets and matching an edge result against them (CONTRACTS.md "Server references").

A set (in ``assets/reference/`` or ``$EDGEPROF_HOME/reference/``) is a directory with ``reference.json``
and ``records.jsonl`` (CONTRACTS schema) or a published CSV mapped by ``reference.json["records_csv"]``.

``match(record, sets)`` returns a :class:`Comparison`:
- ``exact``: same workload key (model id, prompt_tokens, gen_tokens, depth, n_seqs) → ratios
  edge ÷ server of ``ttft_ms``, ``decode_tokens_per_s``, ``energy_per_token_j``, ``avg_rss_bytes``
  (vs the set's memory field) and ``avg_power_w``, each with both sides' provenance, and both
  sides' format/precision (a format difference is always stated);
- ``normalized``: no exact match → the nearest row (same architecture family first, then closest
  parameter count, then precision) compared per parameter: tokens/s × params_b, J/token ÷ params_b,
  GB ÷ params_b; power unnormalized. Labelled as such, naming the row; never called a match;
- ``none``: nothing usable (no sets, no parameter count, no row with a comparable value).
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeprof.assets_access import asset
from edgeprof.errors import UsageError
from edgeprof.home import reference_dir
from edgeprof.models.quant import precision_class
from edgeprof.results import metric_catalogue
from edgeprof.results.jsonl import read_records
from edgeprof.results.schema import Metric, Record



class ReferenceSetError(UsageError):  # unknown or malformed reference set (one-line message)
    pass


@dataclass
class RefSet:
    name: str
    path: Path
    meta: dict[str, Any]
    records: list[Record]
    origin: str  # "packaged" | "user"

    verification = property(lambda self: str(self.meta.get("verification_status", "unknown")))
    comparable = property(lambda self: self.meta.get("comparable") or
                          {d.name: {"ref": d.name} for d in metric_catalogue.reference_metrics()})
    not_comparable = property(lambda self: self.meta.get("not_comparable") or {})


def _csv_records(folder: Path, meta: dict) -> list[Record]:
    """Published table → CONTRACTS-shaped records, per the set's ``records_csv`` mapping."""
    spec = meta["records_csv"]
    prov_rows: dict[tuple, dict] = {}
    if spec.get("provenance_file"):
        with open(folder / spec["provenance_file"], newline="") as fh:
            prov_rows = {(p["model"], p["precision"], p["metric"]): p for p in csv.DictReader(fh)}
    quant = {"bfloat16": "bf16", "float16": "fp16"}
    families = meta.get("families", {})
    base_prov = spec.get("provenance", {})
    out = []
    with open(folder / spec["file"], newline="") as fh:
        for row in csv.DictReader(fh):
            metrics = {}
            for name, m in spec["metrics"].items():
                if not (value := (row.get(m["column"]) or "").strip()):
                    continue
                p = prov_rows.get((row["model"], row["precision"], m["column"]), {})
                notes = [row["verification_status"].split(":")[0], p.get("note", ""),
                         meta.get("metric_definitions", {}).get(name, "")]
                metrics[name] = {
                    "value": float(value), "unit": m["unit"], "n": 1, "median": float(value), "p90": None,
                    "cv": None, "ci95": None, "samples": [],
                    "provenance": {"kind": base_prov.get("kind", "reference"),
                                   "source": base_prov.get("source", "").format(**row),
                                   "scope": base_prov.get("scope"), "period_s": base_prov.get("period_s"),
                                   "note": " | ".join(n for n in notes if n)}}
            out.append(Record.from_dict({
                "schema_version": 1, "case_id": f"{row['model']}/{row['precision']}",
                "status": "ok" if metrics else "skipped",
                "verification_status": row["verification_status"], "row_notes": row.get("row_notes", ""),
                "model": {"id": row["model"].lower(), "name": row["model"], "family": families.get(row["model"]),
                          "params": float(row["params_b"]) * 1e9, "params_basis": row.get("params_b_basis"),
                          "hf_id": row.get("hf_id_in_author_code")},
                "artifact": {"format": "hf", "quant": quant.get(row["precision"], row["precision"]),
                             "method": row.get("int4_method_in_author_code") or None},
                "runtime": {"name": meta.get("software", {}).get("runtime", "unknown")},
                "device": {"id": meta.get("hardware", {}).get("spec_id"), "kind": "nvidia",
                           "name": meta.get("hardware", {}).get("device")},
                "workload": {"prompt_tokens": None, "gen_tokens": None, "depth": None, "n_seqs": None},
                "metrics": metrics}))
    return out


def load_set(folder: str | Path, origin: str = "user") -> RefSet:
    folder = Path(folder)
    meta_path = folder / "reference.json"
    if not meta_path.is_file():
        raise ReferenceSetError(f"not a reference set: {folder} (no reference.json)")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise ReferenceSetError(f"{meta_path}: invalid JSON ({exc})") from None
    if "records_csv" in meta:
        records = _csv_records(folder, meta)
    elif (folder / "records.jsonl").is_file():
        records = read_records(folder / "records.jsonl")
    else:
        raise ReferenceSetError(f"reference set {folder} has neither records.jsonl nor a records_csv mapping")
    return RefSet(name=meta.get("name", folder.name), path=folder, meta=meta, records=records, origin=origin)


def load_sets(user_dir: str | Path | None = None, env: dict | None = None) -> list[RefSet]:
    """Packaged sets, then user sets (``$EDGEPROF_HOME/reference/``); a user set may shadow none."""
    sets: list[RefSet] = []
    roots = [(asset("reference"), "packaged"), (Path(user_dir) if user_dir else reference_dir(env), "user")]
    for root, origin in roots:
        if root.is_dir():
            for d in sorted(p for p in root.iterdir() if (p / "reference.json").is_file()):
                sets.append(load_set(d, origin))
    return sets


def get_set(name: str, sets: list[RefSet]) -> RefSet:
    for s in sets:
        if s.name == name:
            return s
    raise ReferenceSetError(f"unknown reference set '{name}' (known: {', '.join(s.name for s in sets) or 'none'})")


@dataclass
class Ratio:  # one edge ÷ server figure; ratio None when it cannot be computed (note says why)
    metric: str
    ratio: float | None
    edge_value: float | None = None
    edge_unit: str = ""
    ref_metric: str = ""
    ref_value: float | None = None
    ref_unit: str = ""
    edge_provenance: dict | None = None
    ref_provenance: dict | None = None
    note: str = ""


@dataclass
class Comparison:
    kind: str                      # exact | normalized | none
    set_name: str | None = None
    row: str | None = None         # the reference row used (always named)
    verification: str | None = None
    edge_side: dict = field(default_factory=dict)
    ref_side: dict = field(default_factory=dict)
    format_note: str = ""
    ratios: list[Ratio] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    to_dict = asdict

    def summary(self) -> str:
        """One line for a Markdown column."""
        if self.kind == "none":
            return "no reference" + (f" ({self.notes[0]})" if self.notes else "")
        label = "vs" if self.kind == "exact" else "normalized, NOT a match: vs"
        parts = [f"{_short(r.metric)} {r.ratio:.3g}×" + (" (edge est.)" if (r.edge_provenance or {}).get("kind")
                                                           == "estimated" else "")
                 for r in self.ratios if r.ratio is not None]
        head = f"{label} {self.set_name}:{self.row} [{self.verification}]"
        fmt = f"; {self.format_note}" if self.format_note else ""
        return f"{head} edge÷server {', '.join(parts) or 'no comparable metric'}{fmt}"


def _short(metric: str) -> str:
    base = metric.split("/params_b")[0].split("×params_b")[0]
    d = metric_catalogue.get(base)
    return (d.short if d and d.short else base) + (
        "·params" if "×params_b" in metric else "/params" if "/params_b" in metric else "")


def _label(rec: Record) -> str:  # published rows keep their name (Yi-34B/int4); measured: quant, workload, device
    w = rec.workload
    if w.prompt_tokens is None:
        return str(rec.case_id)
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


def _of(rec: Record, name: str) -> Metric | None:
    m = rec.metric(name)
    return m if m is not None and m.center is not None else None


def _ratios(rec: Record, ref: Record, rset: RefSet, norm: tuple[float, float] | None) -> list[Ratio]:
    """Edge ÷ server per comparable metric; ``norm`` = (edge params_b, ref params_b) for normalized."""
    out = []
    for m in (d.name for d in metric_catalogue.reference_metrics()):
        if m in rset.not_comparable:
            out.append(Ratio(m, None, note=rset.not_comparable[m]))
            continue
        how = rset.comparable.get(m)
        e, r = _of(rec, m), _of(ref, how["ref"]) if how else None
        if how is None or e is None or r is None:
            why = "not in this reference set" if how is None else ("no edge value" if e is None else
                                                                    "no reference value in this row")
            out.append(Ratio(m, None, note=why))
            continue
        scale = float(how.get("edge_scale", 1.0))
        ev, eu = e.center * scale, how.get("edge_unit", e.unit)
        rv, ru, name, note = r.center, r.unit, m, how.get("caveat", "")
        if norm is not None:
            pe, pr = norm
            how_norm = metric_catalogue.get(m).per_params if metric_catalogue.get(m) else None
            if how_norm == "x":
                ev, rv, name, eu = ev * pe, rv * pr, m + "×params_b", eu + "·Bparam"
            elif how_norm == "/":
                ev, rv, name, eu = ev / pe, rv / pr, m + "/params_b", eu + "/Bparam"
            else:
                note = (note + "; " if note else "") + "not size-normalized"
            ru = eu if how_norm else ru
        ep, rp = e.provenance.to_dict(), r.provenance.to_dict()
        if eu != ru:  # never divide figures in different units
            out.append(Ratio(name, None, ev, eu, how["ref"], rv, ru, ep, rp, f"unit mismatch: edge {eu} vs reference {ru}"))
            continue
        ratio = ev / rv if rv else None
        out.append(Ratio(name, ratio, ev, eu, how["ref"], rv, ru, ep, rp, note))
    return out


def match(record: Record, sets: list[RefSet]) -> Comparison:
    edge = _side(record)
    key = record.workload_key()
    usable = [(s, r) for s in sets for r in s.records if r.ok]
    exact = [(s, r) for s, r in usable if None not in key and r.workload_key() == key]
    if exact:
        s, r = min(exact, key=lambda sr: (_side(sr[1])["precision"] != edge["precision"],
                                          _side(sr[1])["format"] != edge["format"]))
        ref = _side(r)
        return Comparison("exact", s.name, _label(r), s.verification, edge, ref,
                          _format_note(edge, ref), _ratios(record, r, s, None))
    pe = record.model.params_b
    if not usable:
        return Comparison("none", notes=["no reference set with a usable row"], edge_side=edge)
    if pe is None:
        return Comparison("none", notes=["no exact match; model.params unknown, so no normalized comparison"],
                          edge_side=edge)
    fam = record.model.family
    ranked = []
    for s, r in usable:
        pr = r.model.params_b
        n_ok = sum(1 for x in _ratios(record, r, s, (pe, pr or 1.0)) if x.ratio is not None)
        if pr and n_ok:
            wk = r.workload_key()
            w_dist = sum(abs(math.log((x + 1) / (y + 1))) for x, y in zip(key[1:4], wk[1:4]) if None not in (x, y))
            ranked.append((fam is None or r.model.family != fam, abs(math.log(pr / pe)),
                           _side(r)["precision"] != edge["precision"], w_dist, -n_ok, s, r))
    if not ranked:
        return Comparison("none", notes=["no reference row with a comparable metric"], edge_side=edge)
    best = min(ranked, key=lambda t: t[:5])
    s, r = best[5], best[6]
    ref, pr = _side(r), r.model.params_b
    ratios = _ratios(record, r, s, (pe, pr))
    if key[1:] != r.workload_key()[1:]:
        ratios = [Ratio(x.metric, None, note="workload differs or unknown: TTFT not comparable")
                  if x.metric.startswith("ttft_ms") and x.ratio is not None else x for x in ratios]
    notes = [f"no exact workload-key match; nearest row {_label(r)} by "
             f"{'family ' + str(fam) + ' then ' if not best[0] else ''}size ({pe:.3g}B vs {pr:.3g}B params)",
             "ratios are per-parameter normalized (tokens/s×params_b, J/token and GB per params_b); "
             "power is not normalized"]
    return Comparison("normalized", s.name, _label(r), s.verification, edge, ref,
                      _format_note(edge, ref), ratios, notes)

