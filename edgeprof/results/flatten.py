"""Flatten a record for tabular sinks: nested fields joined with dots (CONTRACTS.md), e.g.
``metrics.ttft_ms.median``, ``artifact.quant``, ``runtime.placement.threads``. Lists of samples
and long per-token arrays are left out of flat rows (they live in records.jsonl)."""
from __future__ import annotations

from typing import Any

SKIP = {"samples", "phases", "files", "reps", "extra", "traceback"}


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in record.items():
        if k in SKIP:
            continue
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, list):
            if all(isinstance(x, (int, float)) for x in v) and len(v) <= 4:
                out[key] = "[" + ", ".join(f"{x:.6g}" if isinstance(x, float) else str(x) for x in v) + "]"
            else:
                continue
        else:
            out[key] = v
    return out


def flat_rows(records) -> tuple[list[str], list[dict]]:
    """(columns in first-seen order, one flat dict per record) for the tabular printers."""
    flat = [flatten(r.to_dict()) for r in records]
    cols: dict[str, None] = {}
    for f in flat:
        cols.update(dict.fromkeys(f))
    return list(cols), flat
