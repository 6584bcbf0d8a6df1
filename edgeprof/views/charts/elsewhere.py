"""Chart data for "this model elsewhere": a run's model predicted on a fixed set of devices (edge
boards per power mode, Apple, a desktop GPU, the server classes), each with its 80 % interval for
decode t/s and J/token, and the measured points beside them: this run's own row, and LocalScore's
measured rows of this very model on those devices. Draws nothing (views/report/elsewhere.py does).

Why a fixed list rather than "everything": a reader compares a few familiar devices at once; the
command line (``predict --require``) searches them all.
"""
from __future__ import annotations

from dataclasses import dataclass

from edgeprof.results.schema import Record

#: (device id, power mode or None for the board's default), in the order drawn (top to bottom)
DEVICES = (("jetson_orin_nano_8gb_super", "15W"), ("jetson_orin_nano_8gb_super", "25W"),
           ("jetson_orin_nx_16gb_super", None), ("jetson_agx_orin_64gb", "MAXN"), ("rpi5_8gb", None),
           ("apple_m4", None), ("apple_m4_max", None), ("nvidia_rtx_4090", None), ("nvidia_h100_sxm", None),
           ("nvidia_h200_sxm", None))
LEVEL = 0.8


@dataclass(frozen=True)
class Point:
    """One device (and mode): the predicted bands, or — ``basis`` "measured" — this run's row."""
    label: str
    basis: str                          # fit | extrapolated | measured
    decode: tuple[float, float, float] | None       # (lo, value, hi) tokens/s
    j_per_token: tuple[float, float, float] | None  # (lo, value, hi) J/token
    j_estimated: bool = True
    measured_decode: tuple[float, ...] = ()         # LocalScore rows of this very model on that class
    note: str = ""


@dataclass(frozen=True)
class Chart:
    model: str
    points: tuple[Point, ...]
    notes: tuple[str, ...] = ()


def _band(e) -> tuple[float, float, float] | None:
    return (e.lo, e.value, e.hi) if e is not None else None


def _own(rec: Record) -> Point:
    d, j = rec.metric("decode_tokens_per_s"), rec.metric("energy_per_token_j")

    def band(m):
        if m is None or not m.center:
            return None
        lo, hi = m.ci95 or (m.center, m.center)
        return (lo, m.center, hi)
    est = bool(j and j.provenance and j.provenance.estimated)
    energy = (f"J/token {j.provenance.kind} ({j.provenance.source})" if j is not None and j.provenance else
              "no J/token")
    return Point(f"this run: {rec.device.name or rec.device.id}", "measured", band(d), band(j), est,
                 note=f"this run's row (95 % interval of repetitions); {energy}")


def chart_for(rec: Record) -> Chart | None:
    """The chart of one record's model; None when its file size is unknown (nothing to predict from)."""
    from edgeprof.compare import whatif

    tgt = whatif.target_of_record(rec)
    if tgt is None:
        return None
    model, rows = whatif.fitted(include_history=False)
    w = rec.workload
    points, notes = [], []
    for dev_id, mode in DEVICES:
        try:
            dev = whatif.device_of(dev_id)
            p = whatif.predict_one(dev, mode, tgt, int(w.prompt_tokens or 128), int(w.gen_tokens or 128), LEVEL,
                                   model=model)
        except whatif.WhatIfError as exc:
            notes.append(f"{dev_id}: {exc}")
            continue
        same = tuple(r.decode_tps for r in whatif.same_model_rows(tgt, rows, dev.id) if r.decode_tps)
        points.append(Point(p.label, p.basis, _band(p.decode), _band(p.j_per_token),
                            not (p.j_per_token and p.j_per_token.kind == "measured-power"), same,
                            p.power_basis))
    points.append(_own(rec))
    return Chart(tgt.model_name, tuple(points), tuple(notes))


def charts(records: list[Record], limit: int = 3) -> list[Chart]:
    """One chart per distinct model file among the ok records (the first ``limit``)."""
    seen, out = set(), []
    for r in records:
        key = (r.artifact.sha256 or r.artifact.path, r.artifact.size_bytes)
        if not r.ok or r.metric("decode_tokens_per_s") is None or key in seen:
            continue
        seen.add(key)
        c = chart_for(r)
        if c is not None:
            out.append(c)
        if len(out) >= limit:
            break
    return out
