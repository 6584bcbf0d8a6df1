"""One record, many printers (llama-bench): md, csv, json, jsonl over the same rows.

The Markdown table is for people: a few columns that read like a deployment decision, each figure
as median ± half the 95 % interval, estimated figures marked ``~`` with a legend saying how they
were estimated. CSV/JSON carry every field (CSV flattened with dots).
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any, Callable, Iterable

from edgeprof.results.flatten import flatten

FORMATS = ("md", "csv", "json", "jsonl")


def _m(rec: dict, name: str) -> dict | None:
    return (rec.get("metrics") or {}).get(name)


def _fmt_metric(m: dict | None, scale: float = 1.0, digits: int = 2) -> str:
    if not m or m.get("value") is None:
        return ""
    v = m["value"] * scale
    s = f"{v:.{digits}f}"
    ci = m.get("ci95")
    if ci and m.get("n", 0) > 1 and m["value"] == m.get("median"):
        s += f" ± {abs(ci[1] - ci[0]) * scale / 2:.{digits}f}"
    kind = (m.get("provenance") or {}).get("kind")
    if kind == "estimated":
        s = "~" + s
    return s


def _test(rec: dict) -> str:
    w = rec.get("workload") or {}
    p, n, d = w.get("prompt_tokens", 0), w.get("gen_tokens", 0), w.get("depth", 0)
    parts = ([f"pp{p}"] if p else []) + ([f"tg{n}"] if n else [])
    return "+".join(parts) + (f" @ d{d}" if d else "")


def _quality(rec: dict) -> str:
    """Perplexity on the bundled eval text and its retention vs the source (from the manifest)."""
    q = (rec.get("artifact") or {}).get("quality") or {}
    if q.get("perplexity") is None:
        return ""
    return f"ppl {q['perplexity']:.1f} ({q.get('quality_retention', float('nan')):.2f})"


def _reference_cell(rec: dict) -> str:
    """Short form for the table; the full comparison with both sides' provenance is in the JSON."""
    ref = rec.get("reference") or {}
    if not ref or ref.get("kind") == "none":
        return "no reference" if ref else ""
    ratios = [x for x in ref.get("ratios") or [] if x.get("ratio") is not None][:2]
    parts = ", ".join(f"{x['metric'].replace('_tokens_per_s', ' t/s').replace('_', ' ')} {x['ratio']:.3g}x" for x in ratios)
    status = str(ref.get("verification") or "").split(":")[0].lower()
    head = "vs" if ref.get("kind") == "exact" else "normalized vs"
    return f"{head} {ref.get('set_name')}:{ref.get('row')} [{status}] {parts}".strip()


def _roofline_cell(rec: dict) -> str:
    ms = rec.get("metrics") or {}
    if not (ms.get("roofline_fraction") or ms.get("compute_utilization")):
        return ""
    from edgeprof.analysis.roofline import cell

    return cell(ms)


def _size(rec: dict) -> str:
    b = (rec.get("artifact") or {}).get("size_bytes")
    return f"{b / 2**20:.1f}" if b else ""


Column = tuple[str, Callable[[dict], str]]
COLUMNS: list[Column] = [
    ("model", lambda r: (r.get("model") or {}).get("id", "")),
    ("format", lambda r: (r.get("artifact") or {}).get("format", "")),
    ("quant", lambda r: (r.get("artifact") or {}).get("quant") or ""),
    ("size MiB", _size),
    ("runtime", lambda r: (r.get("runtime") or {}).get("name", "")),
    ("threads", lambda r: str(((r.get("runtime") or {}).get("placement") or {}).get("threads", ""))),
    ("fa", lambda r: str(((r.get("runtime") or {}).get("placement") or {}).get("flash_attn", ""))),
    ("test", _test),
    ("TTFT ms", lambda r: _fmt_metric(_m(r, "ttft_ms"))),
    ("TPOT ms", lambda r: _fmt_metric(_m(r, "tpot_ms"))),
    ("prefill t/s", lambda r: _fmt_metric(_m(r, "prefill_tokens_per_s"), digits=1)),
    ("decode t/s", lambda r: _fmt_metric(_m(r, "decode_tokens_per_s"), digits=1)),
    ("J/token", lambda r: _fmt_metric(_m(r, "energy_per_token_j"), digits=4)),
    ("avg W", lambda r: _fmt_metric(_m(r, "avg_power_w"), digits=1)),
    ("peak RSS MiB", lambda r: _fmt_metric(_m(r, "peak_rss_bytes"), scale=2**-20, digits=0).split(" ")[0]),
    ("compr.", lambda r: _fmt_metric(_m(r, "compression_rate"), digits=2)),
    ("quality", lambda r: _quality(r)),
    ("MCR", lambda r: _fmt_metric(_m(r, "mcr"), digits=2)),
    ("roofline", lambda r: _roofline_cell(r)),
    ("vs server", lambda r: _reference_cell(r)),
    ("status", lambda r: r.get("status", "") if r.get("status") == "ok"
     else f"{r.get('status')}: {((r.get('error') or {}).get('message') or '')[:60]}"),
]


def legend(records: list[dict]) -> list[str]:
    """Footnotes: where estimated and measured energy came from (a number without provenance is a bug)."""
    notes: dict[str, str] = {}
    for r in records:
        for name in ("energy_per_token_j", "avg_power_w", "idle_power_w"):
            m = _m(r, name)
            if not m:
                continue
            p = m.get("provenance") or {}
            key = f"{p.get('kind')}:{p.get('source')}"
            mark = "~ estimated" if p.get("kind") == "estimated" else p.get("kind", "")
            notes.setdefault(key, f"{mark} energy/power — source {p.get('source')}, scope {p.get('scope')}"
                                  + (f": {p['note']}" if p.get("note") else ""))
    return [f"- {v}" for v in notes.values()]


def markdown(records: list[dict]) -> str:
    rows = [[fn(r) for _, fn in COLUMNS] for r in records]
    keep = [i for i, (name, _) in enumerate(COLUMNS) if any(row[i] for row in rows) or name == "status"]
    head = [COLUMNS[i][0] for i in keep]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" if h not in ("model", "format", "quant", "runtime", "test", "status", "vs server") else "---" for h in head) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(row[i] for i in keep) + " |")
    notes = legend(records)
    if notes:
        lines += [""] + notes
    return "\n".join(lines) + "\n"


def to_csv(records: list[dict]) -> str:
    flat = [flatten(r) for r in records]
    cols: list[str] = []
    for f in flat:
        for k in f:
            if k not in cols:
                cols.append(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for f in flat:
        w.writerow(f)
    return buf.getvalue()


def render(records: Iterable[dict], fmt: str) -> str:
    records = list(records)
    if fmt == "md":
        return markdown(records)
    if fmt == "csv":
        return to_csv(records)
    if fmt == "json":
        return json.dumps(records, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def print_records(records: list[dict[str, Any]], fmt: str, stream) -> None:
    stream.write(render(records, fmt))
    stream.flush()
