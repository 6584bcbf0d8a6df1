"""The roofline chart as data: each case at its arithmetic intensity (FLOP per token ÷ bytes read
per token) and achieved FLOP/s, under the bandwidth and compute ceilings of its device and, where a
server reference row matched, of the server.

Why recomputed from the record rather than re-probed: the record already holds the fractions the
bench computed (``roofline_fraction``, ``compute_utilization``) against the bandwidth and peak of
that moment, with their basis (a spec row or a probe, its date and method) in the provenance note.
The ceilings follow from them: bandwidth limit = decode rate ÷ roofline fraction, peak =
achieved FLOP/s ÷ compute utilization. The basis is named on the chart, so a probe taken on a busy
machine is visible as such.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from edgeprof.analysis import specs
from edgeprof.analysis.roofline import bytes_per_token, flops_per_token
from edgeprof.results.schema import Metric, Record
from edgeprof.views.charts.series import case_label


@dataclass(frozen=True, slots=True)
class Ceiling:
    device: str
    bandwidth_bs: float | None    # bytes/s
    peak_flops: float | None      # FLOP/s
    basis: str                    # where the figures came from (probe date/method/quality, spec row)
    server: bool = False


@dataclass(frozen=True, slots=True)
class RooflinePoint:
    label: str
    intensity: float              # FLOP/byte
    flops: float                  # achieved FLOP/s
    device: str
    server: bool = False
    note: str = ""


def basis(m: Metric | None) -> str:
    """The bracketed basis of a roofline note, e.g. ``measured: devices.probe (date) (method)``."""
    if m is None:
        return ""
    hit = re.search(r"\[((?:measured|spec|estimated)[^\]]*)\]", m.provenance.note)
    return hit.group(1) if hit else m.provenance.note[:120]


def _server(r: Record, ai: float, flops_tok: float, label: str,
            table: list) -> tuple[Ceiling | None, RooflinePoint | None]:
    """The server row's ceiling and point; ``table``: the spec rows, read once per chart (a read
    per case was a CSV parse per case)."""
    ref = r.reference
    side = ref.ref_side if ref is not None else None
    if ref is None or ref.kind == "none" or side is None or not side.device:
        return None, None
    if not table:
        table.extend(specs.load_table())
    row = specs.lookup(str(side.device), table=table)
    ceiling = None
    if row and row.peak_mem_bandwidth_gbs:
        peak = row.peak_fp16_tflops or row.peak_fp32_tflops
        ceiling = Ceiling(str(row.name), row.peak_mem_bandwidth_gbs * 1e9, peak * 1e12 if peak else None,
                          f"spec: {row.source} (published peaks, not measured)", server=True)
    point = None
    if ref.is_match:
        for x in ref.ratios:
            if x.metric == "decode_tokens_per_s" and x.ref_value and "tokens/s" in x.ref_unit:
                point = RooflinePoint(f"server {ref.row}", ai, float(x.ref_value) * flops_tok,
                                      ceiling.device if ceiling else str(side.device), True,
                                      f"{ref.set_name}:{ref.row} [{ref.verification}], placed at "
                                      f"the intensity of {label} (same model; its own bytes/token not published)")
    return ceiling, point


def roofline_chart(records: list[Record]) -> tuple[list[Ceiling], list[RooflinePoint], list[str]]:
    """(ceilings, points, notes) for the ``ok`` cases that have a roofline figure."""
    ceilings: dict[tuple, Ceiling] = {}
    points: list[RooflinePoint] = []
    notes: list[str] = []
    ok = [r for r in records if r.ok]
    table: list = []
    for r in ok:
        rf, cu = r.metric("roofline_fraction"), r.metric("compute_utilization")
        decode = r.value("decode_tokens_per_s")
        bpt, _ = bytes_per_token(r)
        flops_tok, _ = flops_per_token(r)
        if not decode or not bpt or not flops_tok or not (rf or cu):
            continue
        ai, achieved = flops_tok / bpt, decode * flops_tok
        label = case_label(r, ok)
        dev = r.device.name or r.device.id or "this device"
        bw = decode / rf.center * bpt if rf and rf.center else None
        peak = achieved / cu.center if cu and cu.center else None
        why = "; ".join(x for x in (f"bandwidth {basis(rf)}" if rf else "", f"peak {basis(cu)}" if cu else "") if x)
        ceilings.setdefault((dev, round(bw or 0, -6), round(peak or 0, -6)), Ceiling(dev, bw, peak, why))
        points.append(RooflinePoint(label, ai, achieved, dev, note=f"{rf.center:.0%} of the bandwidth roofline"
                                    if rf else ""))
        c, p = _server(r, ai, flops_tok, label, table)
        if c:
            ceilings.setdefault((c.device, c.bandwidth_bs, c.peak_flops), c)
        if p:
            points.append(p)
    if any(r.metric("roofline_fraction") and r.metric("roofline_fraction").center > 1 for r in ok):
        notes.append("a case above 100 % of its bandwidth roofline means the bandwidth figure is too low: "
                     "re-run `edgeprof devices --probe` on an idle machine")
    if len(ok) and not points:
        notes.append("no roofline figures in these runs (no bandwidth/peak known; run `edgeprof devices --probe`)")
    return list(ceilings.values()), points, notes
