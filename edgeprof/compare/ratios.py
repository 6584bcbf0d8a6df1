"""Edge ÷ reference figures for one matched row: each ratio with both sides' values, units and
provenance, judged by compare's statistics (``judge.py``: interval with the drift, margin,
verdict); and each side's roofline fraction, so a ratio between a host-bound datacenter GPU and a
bandwidth-bound board is read as what it is.

Why an interval and a verdict on every ratio: two identical edge runs 20 s apart read 1.69× and
1.5× against the same server row; a bare ratio invites a conclusion the data cannot support. Why
the roofline pair: at 1B parameters and batch 1 an H100 reaches 2–14 % of its bandwidth limit
while a Pi reaches ~50 %; a 0.1× decode ratio says more about the server's host than about the
edge device.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from edgeprof.compare.classes import contended
from edgeprof.compare.judge import Judge
from edgeprof.compare.setmeta import Compared
from edgeprof.results import metric_catalogue
from edgeprof.results.comparison import Ratio, Roofline
from edgeprof.results.schema import Metric, Record


def _of(rec: Record, name: str) -> Metric | None:
    m = rec.metric(name)
    return m if m is not None and m.center is not None else None


def samples(m: Metric) -> list[float]:
    """Repetition-level values, else the one figure."""
    xs = [float(x) for x in m.samples if x]
    return xs or [float(m.center)]


def ratios(edge: Record, ref: Record, comparable: Mapping[str, Compared], not_comparable: Mapping[str, str],
           normalized: bool, judge: Judge | None = None, no_verdict: dict[str, str] | None = None) -> list[Ratio]:
    """Edge ÷ reference for every metric the set compares (``comparable``: edge metric -> how,
    ``setmeta.Compared``); in a ``normalized`` comparison rates are multiplied
    and costs divided by each side's parameter count (billions), and figures that do not scale
    with size are not compared. ``no_verdict``: metric -> why its ratio gets no verdict."""
    judge = judge or Judge(use_history=False)
    out = []
    for m, how in comparable.items():
        e, r = _of(edge, m), _of(ref, how.ref)
        if e is None and r is None:
            continue
        if m in not_comparable:
            out.append(Ratio(m, None, note=not_comparable[m]))
            continue
        if e is None or r is None:
            out.append(Ratio(m, None, note="no edge value" if e is None else "no reference value in this row"))
            continue
        ev, eu = e.center * how.edge_scale, how.edge_unit or e.unit
        rv, ru, name, note = r.center, r.unit, m, how.caveat
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
        if eu != ru:  # never divide figures in different units
            out.append(Ratio(name, None, ev, eu, how.ref, rv, ru, e.provenance, r.provenance,
                             f"unit mismatch: edge {eu} vs reference {ru}"))
            continue
        ratio = Ratio(name, ev / rv if rv else None, ev, eu, how.ref, rv, ru, e.provenance, r.provenance,
                      note)
        why = _no_verdict(ratio, normalized, (no_verdict or {}).get(m, ""))
        out.append(judge.judge(ratio, samples(e), samples(r), edge, ref, why))
    for m, why in not_comparable.items():
        if m not in comparable and _of(edge, m) is not None:
            out.append(Ratio(m, None, note=why))
    return out


def _no_verdict(r: Ratio, normalized: bool, given: str) -> str:
    if given:
        return given
    if normalized:
        return "another model: per-parameter context, never a verdict"
    est = [side for side, flag in (("edge", r.edge_estimated), ("server", r.ref_estimated)) if flag]
    if est:
        p = r.edge_provenance if est[0] == "edge" else r.ref_provenance
        which = "both figures are" if len(est) == 2 else f"the {est[0]} figure is"
        return f"{which} estimated ({p.source if p else '?'}): no verdict on an estimate"
    return ""


def against_values(edge: Record, metric: str, values: Sequence[float], unit: str, judge: Judge,
                   normalized: bool = False, members: Sequence[Record] = ()) -> Ratio | None:
    """Edge ÷ the median of ``values`` (an accelerator class's rows), judged with the class spread
    as the reference's spread — or, for a class of one row, with that row's own repetitions. A
    member measured on a busy machine holds a speed/energy verdict back, as in compare. None when
    the edge has no such figure."""
    e = _of(edge, metric)
    if e is None or not values or e.unit != unit:
        return None
    import statistics

    med = statistics.median(values)
    if not med:
        return None
    one = members[0].metric(metric) if len(members) == 1 and len(values) == 1 else None
    spread = samples(one) if one is not None else list(values)
    r = Ratio(metric, e.center / med, e.center, e.unit, metric, med, unit, e.provenance,
              one.provenance if one is not None else None,
              "against its one row's repetitions" if one is not None else f"against the median of {len(values)} rows",
              against="class median")
    busy = next((m for m in members if contended(m)), members[0] if members else None)
    return judge.judge(r, samples(e), spread, edge, busy,
                       "another model: per-parameter context, never a verdict" if normalized else
                       _no_verdict(r, False, ""))


def _side(m: Metric | None, basis: str) -> Roofline:
    if m is None:
        return Roofline(why=basis)
    return Roofline(m.center, tuple(m.ci95) if m.ci95 and m.n > 1 else None, basis)


def edge_roofline(edge: Record) -> Roofline:
    m = _of(edge, "roofline_fraction")
    if m is None:
        return Roofline(why="no roofline_fraction on the edge row (no bandwidth known: edgeprof devices --probe)")
    return _side(m, m.provenance.note or m.provenance.source)


def server_roofline(ref: Record, cache: dict | None = None) -> Roofline:
    """The reference row's own ``roofline_fraction`` (rows measured by edgeprof), else its decode
    rate ÷ (published bandwidth of its accelerator ÷ bytes per token): weights once per token,
    KV cache not included, each figure's basis named."""
    from edgeprof.analysis import specs

    own = _of(ref, "roofline_fraction")
    if own is not None:
        return _side(own, own.provenance.note or own.provenance.source)
    dec = _of(ref, "decode_tokens_per_s")
    name = ref.device.extra.get("spec_name") or ref.device.name
    if dec is None:
        return Roofline(why="no decode rate in this row")
    key = (name, ref.device.kind)
    if cache is None or key not in cache:
        row = specs.lookup(name, None, ref.device.memory_bytes)
        if cache is not None:
            cache[key] = row
    else:
        row = cache[key]
    bw = row.peak_mem_bandwidth_gbs if row else None
    if not bw:
        return Roofline(why=f"no published bandwidth for '{name}' in assets/devices/devices.csv")
    size = ref.artifact.size_bytes
    if not size:
        return Roofline(why="the row's model file size is not known (bytes per token unknown)")
    limit = bw * 1e9 / size
    basis = (f"{dec.center:g} t/s ÷ ({bw:g} GB/s [devices.csv {row.id}] ÷ {size:.3g} B/token "
             f"[{ref.artifact.extra.get('size_basis') or 'artifact size'}]) = {dec.center / limit:.1%}")
    return Roofline(dec.center / limit, None, basis)
