"""Edge ÷ reference figures for one matched row: each ratio with both sides' values, units and
provenance, and a 95 % interval whenever either side has repetitions; and each side's roofline
fraction, so a ratio between a host-bound datacenter GPU and a bandwidth-bound board is read as
what it is.

Why an interval on every ratio: two identical edge runs 20 s apart read 1.69× and 1.5× against the
same server row; a bare ratio invites a conclusion the data cannot support. Why the roofline pair:
at 1B parameters and batch 1 an H100 reaches 2–14 % of its bandwidth limit while a Pi reaches
~50 %; a 0.1× decode ratio says more about the server's host than about the edge device.
"""
from __future__ import annotations

import random
import statistics
from dataclasses import dataclass
from typing import Any

from edgeprof.analysis import specs
from edgeprof.analysis.stats import percentile
from edgeprof.results import metric_catalogue
from edgeprof.results.schema import Metric, Record

N_BOOT = 1000


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
    ci95: tuple[float, float] | None = None   # of the ratio, when either side has repetitions


def _of(rec: Record, name: str) -> Metric | None:
    m = rec.metric(name)
    return m if m is not None and m.center is not None else None


def _samples(m: Metric) -> list[float]:
    return [float(x) for x in m.samples if x]


def interval(e: Metric, r: Metric, ratio: float) -> tuple[float, float] | None:
    """95 % interval of ``ratio`` (linear in the edge value, inverse in the reference value):
    a seeded bootstrap of the ratio of medians when both sides have repetitions, else the side
    that has an interval carried through, else None (neither side has repetitions)."""
    es, rs = _samples(e), _samples(r)
    if len(es) > 1 and len(rs) > 1:
        rng = random.Random(0)
        boots = sorted(statistics.median(rng.choices(es, k=len(es))) / statistics.median(rng.choices(rs, k=len(rs)))
                       for _ in range(N_BOOT))
        scale = ratio / (e.center / r.center)
        return percentile(boots, 2.5) * scale, percentile(boots, 97.5) * scale
    lo, hi = 1.0, 1.0
    if e.ci95 and e.n > 1 and e.center:
        lo, hi = min(e.ci95) / e.center, max(e.ci95) / e.center
    if r.ci95 and r.n > 1 and min(r.ci95) > 0:
        lo, hi = lo * r.center / max(r.ci95), hi * r.center / min(r.ci95)
    if (lo, hi) == (1.0, 1.0):
        return None
    return ratio * lo, ratio * hi


def ratios(edge: Record, ref: Record, comparable: dict[str, dict], not_comparable: dict[str, str],
           normalized: bool) -> list[Ratio]:
    """Edge ÷ reference for every metric the set compares (``comparable``: edge metric ->
    ``{ref, edge_scale, edge_unit, caveat}``); in a ``normalized`` comparison rates are multiplied
    and costs divided by each side's parameter count (billions), and figures that do not scale
    with size are not compared."""
    out = []
    for m, how in comparable.items():
        e, r = _of(edge, m), _of(ref, how.get("ref", m))
        if e is None and r is None:
            continue
        if m in not_comparable:
            out.append(Ratio(m, None, note=not_comparable[m]))
            continue
        if e is None or r is None:
            out.append(Ratio(m, None, note="no edge value" if e is None else "no reference value in this row"))
            continue
        ev, eu = e.center * float(how.get("edge_scale", 1.0)), how.get("edge_unit", e.unit)
        rv, ru, name, note = r.center, r.unit, m, how.get("caveat", "")
        if normalized:
            d = metric_catalogue.get(m)
            pe, pr = edge.model.params_b, ref.model.params_b
            how_norm = d.per_params if d else None
            if how_norm is None or not pe or not pr:
                out.append(Ratio(m, None, note="not size-normalizable: not compared across models"))
                continue
            if how_norm == "x":
                ev, rv, name, eu = ev * pe, rv * pr, m + "×params_b", eu + "·Bparam"
            else:
                ev, rv, name, eu = ev / pe, rv / pr, m + "/params_b", eu + "/Bparam"
            ru = eu
        ep, rp = e.provenance.to_dict(), r.provenance.to_dict()
        if eu != ru:  # never divide figures in different units
            out.append(Ratio(name, None, ev, eu, how.get("ref", m), rv, ru, ep, rp,
                             f"unit mismatch: edge {eu} vs reference {ru}"))
            continue
        ratio = ev / rv if rv else None
        out.append(Ratio(name, ratio, ev, eu, how.get("ref", m), rv, ru, ep, rp, note,
                         interval(e, r, ratio) if ratio is not None else None))
    for m, why in not_comparable.items():
        if m not in comparable and _of(edge, m) is not None:
            out.append(Ratio(m, None, note=why))
    return out


def _side(m: Metric | None, basis: str) -> dict[str, Any]:
    if m is None:
        return {"value": None, "why": basis}
    return {"value": m.center, "ci95": list(m.ci95) if m.ci95 and m.n > 1 else None, "basis": basis}


def edge_roofline(edge: Record) -> dict[str, Any]:
    m = _of(edge, "roofline_fraction")
    if m is None:
        return {"value": None,
                "why": "no roofline_fraction on the edge row (no bandwidth known: edgeprof devices --probe)"}
    return _side(m, m.provenance.note or m.provenance.source)


def server_roofline(ref: Record, cache: dict | None = None) -> dict[str, Any]:
    """The reference row's own ``roofline_fraction`` (rows measured by edgeprof), else its decode
    rate ÷ (published bandwidth of its accelerator ÷ bytes per token): weights once per token,
    KV cache not included, each figure's basis named."""
    own = _of(ref, "roofline_fraction")
    if own is not None:
        return _side(own, own.provenance.note or own.provenance.source)
    dec = _of(ref, "decode_tokens_per_s")
    name = ref.device.extra.get("spec_name") or ref.device.name
    if dec is None:
        return {"value": None, "why": "no decode rate in this row"}
    key = (name, ref.device.kind)
    if cache is None or key not in cache:
        row = specs.lookup(name, None, ref.device.memory_bytes)
        if cache is not None:
            cache[key] = row
    else:
        row = cache[key]
    bw = (row or {}).get("peak_mem_bandwidth_gbs")
    if not bw:
        return {"value": None, "why": f"no published bandwidth for '{name}' in assets/devices/devices.csv"}
    size = ref.artifact.size_bytes
    if not size:
        return {"value": None, "why": "the row's model file size is not known (bytes per token unknown)"}
    limit = bw * 1e9 / size
    basis = (f"{dec.center:g} t/s ÷ ({bw:g} GB/s [devices.csv {row['id']}] ÷ {size:.3g} B/token "
             f"[{ref.artifact.extra.get('size_basis') or 'artifact size'}]) = {dec.center / limit:.1%}")
    return {"value": dec.center / limit, "ci95": None, "basis": basis}
