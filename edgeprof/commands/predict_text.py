"""What ``edgeprof predict --device / --require / --list-devices`` prints: Markdown (default), CSV or
JSON. Every figure is labelled ``estimated`` with its interval, the basis (a fit on the class's own
rows or an extrapolation from similar classes) and the rows it rests on; nothing here computes."""
from __future__ import annotations

import json


def _f(x: float | None, digits: int = 3) -> str:
    """``digits`` significant digits, never an exponent for a figure people read (``2820``, not
    ``2.82e+03``); plain digits so ``-o csv`` stays numeric."""
    if x is None:
        return "n/a"
    if 10 ** digits <= abs(x) < 1e15:
        return f"{float(f'{x:.{digits}g}'):.0f}"
    return f"{x:.{digits}g}"


def _params(n: float | None) -> str:
    return "n/a" if not n else f"{n / 1e6:.1f} M" if n < 1e9 else f"{n / 1e9:.2f} B"


def _band(est, digits: int = 3) -> str:
    return "n/a" if est is None else f"{_f(est.lo, digits)}–{_f(est.hi, digits)}"


def _table(rows: list[dict], fmt: str) -> str:
    from edgeprof.compare.paired import render_table

    return render_table(rows, fmt)


def _rows_text(sources: tuple[str, ...], limit: int = 6) -> str:
    more = f" and {len(sources) - limit} more" if len(sources) > limit else ""
    return ", ".join(sources[:limit]) + more


def one(pred, tgt, rows, fmt: str) -> str:
    """One device (and mode): the four figures, their basis, the rows, the notes."""
    from edgeprof.compare.whatif import same_model_rows

    lvl = f"{pred.decode.level:.0%}"
    figs = [("decode", pred.decode, "tokens/s"), ("prefill", pred.prefill, "tokens/s"),
            ("TTFT", pred.ttft_ms, "ms"), ("energy", pred.j_per_token, "J/token")]
    table = [{"figure": name, "predicted": _f(e.value if e else None, 4), f"{lvl} interval": _band(e), "unit": unit,
              "kind": (e.kind if e else "n/a")} for name, e, unit in figs]
    if fmt == "json":
        return json.dumps({"target": {"label": tgt.label, "model": tgt.model_name, "bytes_per_token": tgt.bytes_per_token,
                                      "params": tgt.params, "basis": tgt.basis},
                           "prediction": pred.to_dict(), "rows_excluded": rows.excluded, "row_sources": rows.sources},
                          indent=2, default=str)
    if fmt == "csv":
        return _table(table, "csv")
    out = [f"{tgt.model_name} on {pred.label} (-p {pred.prompt_tokens} -n {pred.gen_tokens}; {lvl} interval for one "
           f"new measurement; estimated, not measured)", "", _table(table, "md"), ""]
    out.append(f"- model: {tgt.bytes_per_token / 1e9:.3g} GB read per token ({tgt.basis}); parameters "
               f"{_params(tgt.params)}" + ("" if tgt.params else " (unknown: no prefill, TTFT)"))
    out.append(f"- power: {pred.power_basis}" + ("" if pred.power_w else "; no J/token"))
    if pred.basis == "fit":
        out.append(f"- basis: fit on {len(pred.rows)} measured rows of {pred.device.name}: {_rows_text(pred.rows)}")
    else:
        tot = sum(n.weight for n in pred.neighbours) or 1.0
        out.append(f"- basis: EXTRAPOLATED — {pred.device.name} has no measured rows; from "
                   f"{len(pred.neighbours)} similar classes ("
                   + ", ".join(f"{n.name} {n.weight / tot:.0%} of {n.n_rows} rows" for n in pred.neighbours[:4])
                   + f"); e.g. {_rows_text(pred.rows, 4)}")
    for note in pred.notes:
        out.append(f"- {note}")
    same = same_model_rows(tgt, rows, pred.device.id)
    if same:
        out.append(f"- measured rows of this very model on {pred.device.name}: "
                   + ", ".join(f"{r.decode_tps:g} t/s ({r.source})" for r in same[:5]))
    for rec in tgt.measured[:3]:
        m = rec.metric("decode_tokens_per_s")
        out.append(f"- this run measured, on {rec.device.name or rec.device.id}: decode "
                   f"{_f(m.value if m else None, 4)} tokens/s ({rec.case_id})")
    out.append(f"- rows: {'; '.join(rows.sources)}" + (f"; left out: " + ", ".join(
        f"{n} ({why})" for why, n in rows.excluded.items()) if rows.excluded else ""))
    out.append("- runtime of the public rows: llamafile (LocalScore); a device's figure is what that runtime "
               "reached there, not a bound")
    return "\n".join(out)


def ranked(kept, left, reqs, tgt, prompt: int, gen: int, level: float, fmt: str) -> str:
    """Devices and modes that meet the requirements, best first."""
    table = [{"device": p.device.name, "mode": p.mode.name if p.mode else "", "P(meets)": f"{prob:.2f}",
              "decode t/s": _f(p.decode.value), f"decode {level:.0%}": _band(p.decode),
              "TTFT ms": _f(p.ttft_ms.value if p.ttft_ms else None),
              "power W": _f(p.power_w), "J/token": _f(p.j_per_token.value if p.j_per_token else None),
              "basis": "extrapolated" if p.extrapolated else "fit", "id": p.device.spec_id or p.device.id}
             for p, prob, _ in kept]
    if fmt == "json":
        return json.dumps({"requirements": [str(r) for r in reqs], "target": tgt.label, "level": level,
                           "meeting": [{"prediction": p.to_dict(), "probability": prob, "each": each}
                                       for p, prob, each in kept], "left_out": left}, indent=2, default=str)
    if fmt == "csv":
        return _table(table, "csv")
    head = (f"Devices and power modes meeting {', '.join(str(r) for r in reqs)} for {tgt.model_name} "
            f"(-p {prompt} -n {gen}), best first; estimated, {level:.0%} intervals")
    body = _table(table, "md") if table else "(none)"
    foot = ["", "- P(meets): each requirement's probability from its interval (log-normal), multiplied "
            "(independence assumed); power is the measured draw, else the mode's budget or the TDP (estimated)"]
    if left:
        foot.append("- left out: " + "; ".join(f"{n} ({why})" for why, n in sorted(left.items(), key=lambda t: -t[1])))
    return "\n".join([head, "", body] + foot)


def device_list(fmt: str) -> str:
    from edgeprof.analysis import specs

    al: dict[str, list[str]] = {}
    for a, d in specs.aliases().items():
        al.setdefault(d, []).append(a)
    rows = []
    for r in specs.load_table():
        modes = specs.power_modes(r.id)
        rows.append({"id": r.id, "name": r.name, "kind": r.kind, "family": specs.family(r),
                     "GB/s": _f(r.peak_mem_bandwidth_gbs, 4), "aliases": " ".join(al.get(r.id, [])),
                     "power modes": " ".join(m.name + ("*" if m.default else "") for m in modes)
                     or (f"TDP {r.tdp_w:g} W" if r.tdp_w else "")})
    if fmt == "json":
        return json.dumps(rows, indent=2)
    text = _table(rows, fmt)
    return text + ("\n\n* = the board's default mode; ids, aliases or the id without its vendor prefix are accepted"
                   if fmt == "md" else "")
