"""Rows of one side picked by what they are (``--a-where quant=q4_k_m``): two artifacts of one run
compared with each other — what a user of ``bench EXPORT_DIR`` asks (issue 20: q4_k_m against
int4 could only be compared across two runs).

A key is a row field people read in the bench table: ``model``, ``format``, ``quant``, ``runtime``,
``device``, ``host``, ``board`` (a fleet board's name), any key of the resolved placement (``threads``, ``provider``,
``flash_attn``, ...) or a power setting the row ran under (``power_mode``, ``governor``, ...). Values compare as text (``threads=2``). An unknown key or a value no row has
is a one-line error listing what the rows do have.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from edgeprof.compare.paired import CompareError, Side
from edgeprof.results.schema import Record

FIELDS = ("model", "format", "quant", "runtime", "device", "host", "board")


def field_value(rec: Record, key: str) -> Any:
    named = {"model": rec.model.id, "format": rec.artifact.format, "quant": rec.artifact.quant,
             "runtime": rec.runtime.name, "device": rec.device.id, "host": rec.host,
             "board": rec.conditions.board.name if rec.conditions.board else None}
    if key in named:
        return named[key]
    power = rec.get("power") if isinstance(rec.get("power"), dict) else {}
    return power[key] if key in power else rec.runtime.placement.to_dict().get(key)


def parse_where(items: Sequence[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise CompareError(f"{flag} {item!r}: use KEY=VALUE, e.g. {flag} quant=q4_k_m (keys: "
                               f"{', '.join(FIELDS)}, or a placement key such as threads)")
        out[key.strip()] = value.strip()
    return out


def select(side: Side, where: dict[str, str], flag: str) -> Side:
    """The rows of ``side`` whose fields equal every ``where`` value; the label says the filter."""
    if not where:
        return side
    known = set(FIELDS) | {k for r in side.records for k in [*r.runtime.placement.to_dict(),
                                                             *(r.get("power") or {})]}
    for key in where:
        if key not in known:
            raise CompareError(f"{flag}: no row field {key!r}; use one of {', '.join(sorted(known))}")
    rows = [r for r in side.records if all(str(field_value(r, k)) == v for k, v in where.items())]
    if not rows:
        have = {k: sorted({str(field_value(r, k)) for r in side.records}) for k in where}
        raise CompareError(f"{flag}: no row of {side.label} has " + ", ".join(f"{k}={v}" for k, v in where.items())
                           + "; its rows have " + "; ".join(f"{k}: {', '.join(v)}" for k, v in have.items()))
    text = ", ".join(f"{k}={v}" for k, v in where.items())
    return replace(side, label=f"{side.label} [{text}]", records=rows)
