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
from edgeprof.home import reference_dir
from edgeprof.results.history import metric_of, read_records, workload_key

RATIO_METRICS = ("ttft_ms", "decode_tokens_per_s", "energy_per_token_j", "avg_rss_bytes", "avg_power_w")
DEFAULT_COMPARABLE = {m: {"ref": m} for m in RATIO_METRICS}
SHORT = dict(zip(RATIO_METRICS, ("TTFT", "decode", "J/tok", "mem", "power")))
BASELINE = {"bf16", "bfloat16", "f16", "fp16", "float16", "fp32", "f32", "float32"}


class ReferenceSetError(Exception):  # unknown or malformed reference set (one-line message)
    pass


def precision_class(quant: str | None) -> str:
    """CONTRACTS precision mapping: bf16/fp16 ↔ bf16/f16/fp16/fp32 baselines; int4 (AWQ) ↔ q4_*/int4."""
    q = (quant or "").lower()
    if q in BASELINE:
        return "16-bit baseline"
    if q.startswith(("q4", "iq4")) or "int4" in q or q in ("awq", "gptq"):
        return "int4"
    if q.startswith("q8") or q == "int8":
        return "int8"
    return q or "unknown"


@dataclass
class RefSet:
    name: str
    path: Path
    meta: dict[str, Any]
    records: list[dict]
    origin: str  # "packaged" | "user"

    verification = property(lambda self: str(self.meta.get("verification_status", "unknown")))
    comparable = property(lambda self: self.meta.get("comparable") or DEFAULT_COMPARABLE)
    not_comparable = property(lambda self: self.meta.get("not_comparable") or {})


def _csv_records(folder: Path, meta: dict) -> list[dict]:
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
            out.append({
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
                "metrics": metrics})
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
    records = _csv_records(folder, meta) if "records_csv" in meta else read_records(folder / "records.jsonl")
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
    return SHORT.get(base, base) + ("·params" if "×params_b" in metric else "/params" if "/params_b" in metric else "")


def _label(rec: dict) -> str:  # published rows keep their name (Yi-34B/int4); measured: quant, workload, device
    p, n, d = workload_key(rec)[1:4]
    if p is None:
        return str(rec.get("case_id"))
    return f"{(rec.get('artifact') or {}).get('quant')} p{p}/n{n}/d{d} on {(rec.get('device') or {}).get('name')}"


def _side(rec: dict) -> dict:
    art = rec.get("artifact") or {}
    return {"model": (rec.get("model") or {}).get("id"), "format": art.get("format"), "quant": art.get("quant"),
            "precision": precision_class(art.get("quant")), "device": (rec.get("device") or {}).get("name"),
            "runtime": (rec.get("runtime") or {}).get("name")}


def _format_note(edge: dict, ref: dict) -> str:
    e, r = f"{edge['format']} {edge['quant']}", f"{ref['format']} {ref['quant']}"
    if edge["precision"] != ref["precision"]:
        return f"format differs: edge {e} ({edge['precision']}) vs server {r} ({ref['precision']})"
    if (edge["format"], edge["quant"]) != (ref["format"], ref["quant"]):
        return f"same precision class ({edge['precision']}), different format/scheme: edge {e} vs server {r}"
    return ""


def _ratios(rec: dict, ref: dict, rset: RefSet, norm: tuple[float, float] | None) -> list[Ratio]:
    """Edge ÷ server per comparable metric; ``norm`` = (edge params_b, ref params_b) for normalized."""
    out = []
    for m in RATIO_METRICS:
        if m in rset.not_comparable:
            out.append(Ratio(m, None, note=rset.not_comparable[m]))
            continue
        how = rset.comparable.get(m)
        e, r = metric_of(rec, m), metric_of(ref, how["ref"]) if how else None
        if how is None or e is None or r is None:
            why = "not in this reference set" if how is None else ("no edge value" if e is None else
                                                                    "no reference value in this row")
            out.append(Ratio(m, None, note=why))
            continue
        scale = float(how.get("edge_scale", 1.0))
        ev, eu = e["value"] * scale, how.get("edge_unit", e["unit"])
        rv, ru, name, note = r["value"], r["unit"], m, how.get("caveat", "")
        if norm is not None:
            pe, pr = norm
            if m == "decode_tokens_per_s":
                ev, rv, name, eu = ev * pe, rv * pr, m + "×params_b", eu + "·Bparam"
            elif m in ("energy_per_token_j", "avg_rss_bytes", "ttft_ms"):
                ev, rv, name, eu = ev / pe, rv / pr, m + "/params_b", eu + "/Bparam"
            else:
                note = (note + "; " if note else "") + "not size-normalized"
            ru = eu if m != "avg_power_w" else ru
        if eu != ru:  # never divide figures in different units
            out.append(Ratio(name, None, ev, eu, how["ref"], rv, ru, e["provenance"], r["provenance"],
                             f"unit mismatch: edge {eu} vs reference {ru}"))
            continue
        ratio = ev / rv if rv else None
        out.append(Ratio(name, ratio, ev, eu, how["ref"], rv, ru, e["provenance"], r["provenance"], note))
    return out


def _params_b(rec: dict) -> float | None:
    p = (rec.get("model") or {}).get("params")
    return float(p) / 1e9 if p else None


def _family(rec: dict) -> str | None:  # architecture family: model.family, else model.architecture (bench)
    model = rec.get("model") or {}
    fam = model.get("family") or model.get("architecture")
    return str(fam) if fam else None


def match(record: dict, sets: list[RefSet]) -> Comparison:
    edge = _side(record)
    key = workload_key(record)
    usable = [(s, r) for s in sets for r in s.records if r.get("status", "ok") == "ok"]
    exact = [(s, r) for s, r in usable if None not in key and workload_key(r) == key]
    if exact:
        s, r = min(exact, key=lambda sr: (_side(sr[1])["precision"] != edge["precision"],
                                          _side(sr[1])["format"] != edge["format"]))
        ref = _side(r)
        return Comparison("exact", s.name, _label(r), s.verification, edge, ref,
                          _format_note(edge, ref), _ratios(record, r, s, None))
    pe = _params_b(record)
    if not usable:
        return Comparison("none", notes=["no reference set with a usable row"], edge_side=edge)
    if pe is None:
        return Comparison("none", notes=["no exact match; model.params unknown, so no normalized comparison"],
                          edge_side=edge)
    fam = _family(record)
    ranked = []
    for s, r in usable:
        pr = _params_b(r)
        n_ok = sum(1 for x in _ratios(record, r, s, (pe, pr or 1.0)) if x.ratio is not None)
        if pr and n_ok:
            wk = workload_key(r)
            w_dist = sum(abs(math.log((x + 1) / (y + 1))) for x, y in zip(key[1:4], wk[1:4]) if None not in (x, y))
            ranked.append((fam is None or _family(r) != fam, abs(math.log(pr / pe)),
                           _side(r)["precision"] != edge["precision"], w_dist, -n_ok, s, r))
    if not ranked:
        return Comparison("none", notes=["no reference row with a comparable metric"], edge_side=edge)
    best = min(ranked, key=lambda t: t[:5])
    s, r = best[5], best[6]
    ref, pr = _side(r), _params_b(r)
    ratios = _ratios(record, r, s, (pe, pr))
    if key[1:] != workload_key(r)[1:]:
        ratios = [Ratio(x.metric, None, note="workload differs or unknown: TTFT not comparable")
                  if x.metric.startswith("ttft_ms") and x.ratio is not None else x for x in ratios]
    notes = [f"no exact workload-key match; nearest row {_label(r)} by "
             f"{'family ' + str(fam) + ' then ' if not best[0] else ''}size ({pe:.3g}B vs {pr:.3g}B params)",
             "ratios are per-parameter normalized (tokens/s×params_b, J/token and GB per params_b); "
             "power is not normalized"]
    return Comparison("normalized", s.name, _label(r), s.verification, edge, ref,
                      _format_note(edge, ref), ratios, notes)

