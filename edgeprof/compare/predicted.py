"""The ``predicted`` comparison kind (issue 25 item 5): when no measured server row matches a record
(today the packaged default model), what the what-if model predicts for the server classes the user
picked (``bench --predicted-server``, default H100 SXM and H200), each as its own row.

Never a match and never a verdict (``results.comparison.NO_VERDICT``): the ratios carry the
prediction's 95 % interval and ``verdict_why`` says it is a model; the comparison keeps the
``none`` comparison's reasons first, so "no measured row, because..." is still the first thing
read. It exists only while nothing measured matches: ``match`` runs first, and a measured row (a
set built on a GPU machine, ``reference build``) replaces it in the next bench.

The prediction is fitted on the public rows only (LocalScore; not this machine's history), so two
benches of one model on two machines compare with the same server figure.
"""
from __future__ import annotations

from dataclasses import replace

from edgeprof.analysis.whatif_types import Estimate, Prediction
from edgeprof.compare.ratios import edge_roofline
from edgeprof.results import reftext
from edgeprof.results.basics import Provenance
from edgeprof.results.comparison import Comparison, Ratio, RowMatch, Roofline, Side
from edgeprof.results.schema import Record

LEVEL = 0.95  # Ratio.ci95 is a 95 % interval
SET = "predicted"
VERDICT_WHY = "a prediction, not a measurement"
METRICS = (("decode_tokens_per_s", "decode"), ("prefill_tokens_per_s", "prefill"), ("ttft_ms", "ttft_ms"))


def _ratio(record: Record, metric: str, est: Estimate | None, pred: Prediction) -> Ratio | None:
    m = record.metric(metric)
    if m is None or est is None or not m.center:
        return None
    e_lo, e_hi = m.ci95 or (m.center, m.center)
    prov = Provenance("estimated", "edgeprof what-if model (predict --device)", "server class, predicted",
                      note=f"{est.note}; {LEVEL:.0%} interval {est.lo:.4g}–{est.hi:.4g} {est.unit}; basis "
                           f"{pred.basis}")
    return Ratio(metric, m.center / est.value, m.center, m.unit, metric, est.value, est.unit, m.provenance, prov,
                 note=f"edge ÷ predicted {pred.device.name}; interval = edge's ÷ the prediction's (both ends)",
                 ci95=(e_lo / est.hi, e_hi / est.lo), verdict=None, verdict_why=VERDICT_WHY,
                 extra={"predicted": {"value": est.value, "lo": est.lo, "hi": est.hi, "unit": est.unit}})


def _server_roofline(record: Record, pred: Prediction) -> Roofline:
    """The predicted decode rate as a share of the class's bandwidth limit for this file (published
    bandwidth ÷ the file's bytes, weights read once per token), interval from the prediction's."""
    bw, size = pred.device.bandwidth_gbs, record.artifact.size_bytes
    if not bw or not size:
        return Roofline(why=f"no published bandwidth for {pred.device.name}" if not bw else "the file's size is unknown")
    limit = bw * 1e9 / size
    d = pred.decode
    return Roofline(d.value / limit, (d.lo / limit, d.hi / limit),
                    f"derived: predicted decode ÷ ({bw:g} GB/s published ÷ {size:,} file bytes); a prediction")


def _row(record: Record, pred: Prediction) -> RowMatch:
    ratios = tuple(r for metric, attr in METRICS if (r := _ratio(record, metric, getattr(pred, attr), pred)))
    basis = (f"fit on {len(pred.rows)} LocalScore rows of this class" if pred.basis == "fit" else
             f"EXTRAPOLATED from {len(pred.neighbours)} similar classes")
    rows = ", ".join(pred.rows[:4]) + (f" and {len(pred.rows) - 4} more" if len(pred.rows) > 4 else "")
    return RowMatch("predicted", SET, pred.device.spec_id or pred.device.id, "PREDICTED", "llamafile (the rows' runtime)",
                    None, pred.device.name, "datacenter-gpu", record.model.name or record.model.id,
                    record.artifact.quant, record.artifact.format, ratios=ratios,
                    edge_roofline=edge_roofline(record), server_roofline=_server_roofline(record, pred),
                    runtime_note="a prediction from public llamafile rows; this run used " + (record.runtime.name or "?"),
                    notes=(f"predicted, NOT a measurement: {basis} ({rows})", *pred.notes),
                    extra={"basis": pred.basis, "rests_on": list(pred.rows), "level": LEVEL})


def comparison(record: Record, none: Comparison, servers: str, predictions: list[Prediction] | None = None
               ) -> Comparison:
    """``none`` turned into a ``predicted`` comparison for ``servers`` (comma-separated device ids),
    or ``none`` itself when nothing can be predicted (no file size, no such device): its notes say why."""
    if none.kind != "none" or not servers or servers.strip().lower() == "none":
        return none
    if predictions is None:
        predictions, why = predict(record, servers)
        if not predictions:
            return replace(none, notes=none.notes + (f"no predicted server figure: {why}",))
    picked = tuple(_row(record, p) for p in predictions)
    first = picked[0]
    notes = (f"no measured server row matches — {none.reason} — shown instead: edgeprof's PREDICTION for "
             + ", ".join(p.device.name for p in predictions) + f" ({LEVEL:.0%} intervals), never a match, no "
             "verdict; a measured row replaces it once one exists", *none.notes[1:])
    comp = Comparison("predicted", SET, first.row, "PREDICTED", none.edge_side,
                      Side(record.model.name or record.model.id, record.artifact.format, record.artifact.quant,
                           None, first.device, first.runtime), "", first.ratios, notes, picked, none.context,
                      len(picked), short_reason=none.short_reason, extra={"replaces": "none"})
    return replace(comp, summary=reftext.summary(comp))


def predict(record: Record, servers: str) -> tuple[list[Prediction], str]:
    """Predictions for ``servers`` at this record's model size and workload; ([], why) when none."""
    from edgeprof.compare import whatif

    tgt = whatif.target_of_record(record)
    if tgt is None:
        return [], "the model file's size is unknown"
    w = record.workload
    model = whatif.fitted(include_history=False)[0]
    out, why = [], []
    for sid in (s.strip() for s in servers.split(",") if s.strip()):
        try:
            dev = whatif.device_of(sid)
            out.append(whatif.predict_one(dev, None, tgt, int(w.prompt_tokens or 128), int(w.gen_tokens or 128),
                                          LEVEL, model=model))
        except whatif.WhatIfError as exc:
            why.append(str(exc))
    return out, "; ".join(why) or "no server id given"
