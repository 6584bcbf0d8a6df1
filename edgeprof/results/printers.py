"""One record, many printers (llama-bench): md, csv, json, jsonl and sql over the same rows.

The Markdown table is for people: a few columns that read like a deployment decision — the metric
columns come from the metric catalogue — each figure as median ± half the 95 % interval,
estimated figures marked ``~`` with a legend saying how they were estimated. CSV/JSON/SQL carry
every field (CSV and SQL flattened with dots, as CONTRACTS says).
"""
from __future__ import annotations

import csv
import io
import json
import re
from typing import Callable, Iterable

from edgeprof.results import metric_catalogue
from edgeprof.results.cells import csv_row, md_cell, one_line
from edgeprof.results.flatten import flat_rows
from edgeprof.results.conditions import Load, LoadWindow
from edgeprof.results.labels import row_label
from edgeprof.results.quality import MEASURES
from edgeprof.results.schema import Metric, Record
from edgeprof.results.sqlout import to_sql  # noqa: F401 - -o sql, re-exported

FORMATS = ("md", "csv", "json", "jsonl", "sql")


def fmt_metric(m: Metric | None, scale: float = 1.0, digits: int = 2, ci: bool = True) -> str:
    """``median ± half CI95``; ``~`` in front of an estimate."""
    if m is None or m.value is None:
        return ""
    s = f"{m.value * scale:.{digits}f}"
    half = m.half_ci
    if ci and half is not None and m.value == m.median:
        s += f" ± {half * scale:.{digits}f}"
    return ("~" + s) if m.provenance.estimated else s


def metric_cell(rec: Record, name: str) -> str:
    d = metric_catalogue.get(name)
    return fmt_metric(rec.metric(name), d.scale if d else 1.0, d.digits if d else 2, ci=d.table_ci if d else True)


def quality_cell(rec: Record) -> str:
    """Perplexity on the bundled eval text and its retention vs the source (from the manifest);
    a degraded artifact says so."""
    q = rec.artifact.quality
    if q.measure and q.quality_retention is not None:
        cell = f"{MEASURES[q.measure][0]} {q.quality_retention:.4f}"   # an encoder export's own measure
        return cell + (" DEGRADED" if q.degraded else "")
    if q.perplexity is None:
        return ""
    cell = f"ppl {q.perplexity:.1f} ({_nan(q.quality_retention):.2f})"
    return cell + (" DEGRADED" if q.degraded else "")


def reference_cell(rec: Record) -> str:
    """The ``vs server`` cell (``reftext.cell``): kind, class, headline ratio and verdict, or for
    ``none`` the short reason; the full comparison with both sides' provenance is in the JSON."""
    from edgeprof.results import reftext

    return reftext.cell(rec.reference)


def _basis(m: Metric) -> str:
    """Where the peak behind a roofline figure came from: ``spec <row>``, or the probe's date and
    quality (``probe 2026-11-29 (quiet)``), flagged when it is more than 2x below the published spec."""
    peak = m.provenance.extra.get("peak")
    if peak:
        flag = peak.get("flag") or ""
        short = f"; {flag.split(' is ', 1)[1].split(':')[0]}" if " is " in flag else ("; " + flag if flag else "")
        return f"{'measured, ' if peak.get('kind') == 'measured' else ''}{peak.get('label')}{short}"
    note = m.provenance.note
    if "[measured:" in note:
        return "measured"
    row = note.split("devices.csv row ", 1)[1].split()[0].rstrip("]") if "devices.csv row " in note else "?"
    return f"spec {row}"


def roofline_text(metrics: dict[str, Metric]) -> str:
    """One Markdown cell, e.g. ``61% of BW roofline (measured); 18.6% of peak FLOP/s (spec nvidia_h100_sxm)``."""
    parts = []
    if metrics.get("roofline_fraction"):
        m = metrics["roofline_fraction"]
        parts.append(f"{m.center:.0%} of BW roofline ({_basis(m)})"
                     + (" — above 100 %: the bandwidth figure is too low; re-run `edgeprof devices --probe` "
                        "on an idle machine" if m.center > 1.0 else ""))
    if metrics.get("compute_utilization"):
        m = metrics["compute_utilization"]
        parts.append(f"{m.center:.1%} of peak FLOP/s ({_basis(m)})"
                     + (" — above 100 %: the peak figure is too low for this precision or was probed on a busy "
                        "machine; re-run `edgeprof devices --probe` on an idle machine" if m.center > 1.0 else ""))
    return "; ".join(parts) or "n/a (no bandwidth/peak known; run `edgeprof devices --probe`)"


def roofline_cell(rec: Record) -> str:
    """The table's few words (``22% BW · 3.5% FLOP/s``); where the peaks came from is one legend line
    for all rows that share it (``roofline_legend``), not repeated in every cell."""
    bw, fl = rec.metric("roofline_fraction"), rec.metric("compute_utilization")
    parts = ([f"{bw.center:.0%} BW" + (" (!)" if bw.center > 1.0 else "")] if bw else []) + (
        [f"{fl.center:.1%} FLOP/s" + (" (!)" if fl.center > 1.0 else "")] if fl else [])
    return " · ".join(parts)


def roofline_legend(records: list[Record]) -> list[str]:
    """One line per distinct basis of the roofline cells (the probe: its date, quiet or contended; or
    the published spec row), naming the rows it applies to when the rows differ; a figure above
    100 % says which peak is too low."""
    groups: dict[str, list[Record]] = {}
    for r in records:
        bw, fl = r.metric("roofline_fraction"), r.metric("compute_utilization")
        if not (bw or fl):
            continue
        basis = "; ".join(x for x in (f"bandwidth from {_basis(bw)}" if bw else "",
                                      f"peak FLOP/s from {_basis(fl)}" if fl else "") if x)
        if bw and bw.center > 1.0:
            basis += "; (!) BW above 100 %: the bandwidth figure is too low, re-run `edgeprof devices --probe` idle"
        if fl and fl.center > 1.0:
            basis += "; (!) FLOP/s above 100 %: the peak is too low for this precision, re-probe idle"
        groups.setdefault(basis, []).append(r)
    out = []
    for basis, rows in groups.items():
        who = f" ({', '.join(row_label(r, records) for r in rows)})" if len(groups) > 1 else ""
        out.append(f"roofline{who}: BW = decode t/s as a share of the memory-bandwidth limit (bandwidth ÷ bytes "
                   f"per token), FLOP/s = achieved ÷ peak; {basis}")
    return out


def machine_cell(rec: Record) -> str:
    """``quiet`` or ``CONTENDED others 1.68 cores`` (engine/contention.py wrote ``load``), plus
    ``THROTTLED`` (its evidence is in the legend): a row measured on a busy or throttled device says
    so in the row itself."""
    return ", ".join(x for x in (_load_text(rec.conditions.load),
                                 "THROTTLED" if rec.conditions.throttled is True else "") if x)


def _nan(x: float | None) -> float:
    return float("nan") if x is None else x


def _load_text(load: Load | None) -> str:
    if load is None or load.status != "contended":
        return str((load.status if load else None) or "")
    during, before = load.during or LoadWindow(), load.before or LoadWindow()
    if load.during_status == "contended" and during.other_cpu_cores is not None:
        return f"CONTENDED others {during.other_cpu_cores:.2f} cores"
    return f"CONTENDED before the run (others {_nan(before.other_cpu_cores):.2f} cores)"


def load_header(records: list[Record]) -> str:
    """One line above the table: what other processes did before the run and during its cases."""
    loads = [r.conditions.load for r in records if r.conditions.load is not None]
    if not loads:
        return ""
    before = next((x.before for x in loads if x.before), None)
    during = [x.during.other_cpu_cores for x in loads if x.during and x.during.other_cpu_cores is not None]
    cores = (before.logical_cores if before else None) or next(
        (x.during.logical_cores for x in loads if x.during), "?")
    parts = [f"Machine load ({cores} logical cores):"]
    if before:
        parts.append(f"before the run other processes used {before.other_cpu_cores or 0:.2f} cores "
                     f"(load average {before.loadavg_1m});")
    if during:
        lo, hi = min(during), max(during)
        parts.append(f"during the cases {lo:.2f} cores" + (f" to {hi:.2f}" if hi > lo else "") + ";")
    bad = sum(1 for x in loads if x.status == "contended")
    parts.append(f"{bad} of {len(loads)} case(s) measured on a busy machine (column 'machine')." if bad
                 else "quiet.")
    return " ".join(parts)


def board_cell(rec: Record) -> str:
    """The board a remote run measured this row on (``bench --host``, ``fleet``: the name in
    FLEET.toml or the SSH target); empty for a local row, so the column only shows for boards."""
    board = rec.conditions.board
    return (board.name or board.key) if board is not None else ""


def latency_cell(rec: Record) -> str:
    """An inference case's per-inference latency as ``p50 / p90 / p99`` (ms; p99 from 20 passes on)."""
    m = rec.metric("latency_ms")
    if m is None:
        return ""
    return " / ".join("n/a" if v is None else f"{v:.3g}" for v in (m.value, m.p90, m.p99))


def status_cell(rec: Record) -> str:
    if rec.ok:
        return rec.status
    return f"{rec.status}: {((rec.error.message if rec.error else '') or '')[:60]}"


Column = tuple[str, Callable[[Record], str]]


def _text(v) -> str:
    return "" if v is None else str(v)


def columns() -> list[Column]:
    """The table's columns: identity, then one per catalogue metric with a label, then the
    quality, roofline, server-comparison and status cells."""
    head: list[Column] = [
        ("host", board_cell),
        ("model", lambda r: r.model.id or ""),
        ("format", lambda r: r.artifact.format or ""),
        ("quant", lambda r: r.artifact.quant or ""),
        ("size MiB", lambda r: f"{r.artifact.size_bytes / 2**20:.1f}" if r.artifact.size_bytes else ""),
        ("runtime", lambda r: r.runtime.name or ""),
        ("threads", lambda r: _text(r.runtime.placement.threads)),
        ("fa", lambda r: _text(r.runtime.placement.flash_attn)),
        ("test", lambda r: r.workload.label + (f" [{r.workload.suite}]" if r.workload.suite else "")),
        ("power", lambda r: " ".join(f"{k}={v}" for k, v in (r.get("power") or {}).items())),
    ]
    metric_cols: list[Column] = [("latency p50/p90/p99 ms", latency_cell)] + [
        (d.label, (lambda r, n=d.name: metric_cell(r, n)))
        for d in metric_catalogue.table_metrics()]
    tail: list[Column] = [("quality", quality_cell), ("roofline", roofline_cell), ("vs server", reference_cell),
                          ("machine", machine_cell), ("status", status_cell)]
    return head + metric_cols + tail


TEXT_COLUMNS = ("host", "model", "format", "quant", "runtime", "test", "power", "status", "vs server", "quality",
                "roofline", "machine")


def uncertainty_text(m: Metric | None, unit: str) -> str:
    """The sensor uncertainty of an energy figure (analysis/uncertainty.py), or that it is unknown."""
    if m is None or "uncertainty_basis" not in m.extra:
        return ""
    u, basis = m.extra.get("uncertainty"), m.extra["uncertainty_basis"]
    if u is None:
        return f"energy uncertainty from the sensor: {basis if basis.startswith('unknown') else 'unknown — ' + basis}"
    return f"energy uncertainty from the sensor: ±{u:.2g} {unit} per repetition — {basis}"


def legend(records: list[Record]) -> list[str]:
    """Footnotes: the run context the rows were measured under (results/runctx.py), then where
    estimated and measured energy came from (a number without provenance is a bug)."""
    from edgeprof.results.runctx import legend_lines

    notes: dict[str, str] = {f"context:{i}": line for i, line in enumerate(legend_lines(records))}
    for r in records:
        for name in ("energy_per_token_j", "avg_power_w", "idle_power_w"):
            m = r.metric(name)
            if not m:
                continue
            p = m.provenance
            partial = "partial:" in p.note
            mark = ("~ estimated" if p.estimated else p.kind) + (" PARTIAL" if partial else "")
            notes.setdefault(f"{p.kind}:{p.source}:{partial}", f"{mark} energy/power — source {p.source}, scope "
                                                               f"{p.scope}" + (f": {p.note}" if p.note else ""))
        u = uncertainty_text(r.metric("energy_per_token_j"), "J/token")
        if u:
            notes.setdefault(f"uncertainty:{u}", u)
    for line in roofline_legend(records):
        notes.setdefault(f"roofline:{line}", line)
    if any(r.reference is not None for r in records):
        from edgeprof.results import reftext

        for line in reftext.legend([r.reference for r in records if r.reference is not None]):
            notes.setdefault(f"legend:{line}", line)
    return [f"- {v}" for v in notes.values()] + [f"- {w}" for w in grouped_warnings(records)]


def warning_kind(text: str) -> str:
    """What a warning is about, without its figures: the words before its first ``(`` or ``:``,
    numbers in them blanked (``window 164 ms is shorter than ...`` is one kind for every case)."""
    return re.sub(r"\d+(?:\.\d+)?", "#", re.split(r" \(|:", text, maxsplit=1)[0].strip())


def grouped_warnings(records: list[Record]) -> list[str]:
    """One line per kind of warning with the rows it applies to, named as the table names them
    (issue 20: 22 near-identical bullets, one per case and each with a hex id, filled a screen)."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for r in records:
        for w in r.warnings:
            groups.setdefault(warning_kind(w), []).append((row_label(r, records), w))
    out = []
    for items in groups.values():
        names = list(dict.fromkeys(n for n, _ in items))
        texts = list(dict.fromkeys(w for _, w in items))
        if len(texts) == 1:
            out.append(f"warning ({', '.join(names)}): {texts[0]}")
        else:
            out.append(f"warning ({len(names)} cases: {', '.join(names)}): {texts[0]} — that is {names[0]}'s; "
                       f"the figures differ per case (each row's own are in its JSON)")
    return out


ABBREVIATED = ("compr.", "MCR", "cold ms", "RTFx")  # table labels a reader cannot guess: defined under the table


def column_notes(head: list[str] | tuple[str, ...]) -> list[str]:
    """Definitions of the abbreviated columns a table shows (from the metric catalogue's docs)."""
    defs = {d.label: d.doc for d in metric_catalogue.table_metrics() if d.label in ABBREVIATED and d.doc}
    notes = [f"{label} = {defs[label]}" for label in head if label in defs]
    if "quality" in head:
        notes.append("quality = perplexity on the bundled evaluation text (lower is better), with its retention "
                     "(the baseline's perplexity / the artifact's) in brackets, from the export's manifest; for "
                     "encoders, vision and audio models: cos = mean embedding cosine to the source, top-1 = "
                     "top-1 agreement with the source, 1-err = 1 - relative max abs error")
    return notes


def markdown(records: list[Record]) -> str:
    cols = columns()
    rows = [[fn(r) for _, fn in cols] for r in records]
    keep = [i for i, (name, _) in enumerate(cols) if any(row[i] for row in rows) or name == "status"]
    head = [cols[i][0] for i in keep]
    top = load_header(records)
    lines = ([top, ""] if top else []) + ["| " + " | ".join(head) + " |",
             "|" + "|".join("---" if h in TEXT_COLUMNS else "---:" for h in head) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(md_cell(row[i]) for i in keep) + " |")
    notes = legend(records) + [f"- {n}" for n in column_notes(head)]
    if notes:
        lines += [""] + [one_line(n) for n in notes]
    return "\n".join(lines) + "\n"


def to_csv(records: list[Record]) -> str:
    cols, flat = flat_rows(records)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for f in flat:
        w.writerow(csv_row(f))
    return buf.getvalue()


def render(records: Iterable[Record], fmt: str) -> str:
    records = list(records)
    if fmt == "md":
        return markdown(records)
    if fmt == "csv":
        return to_csv(records)
    if fmt == "json":
        return json.dumps([r.to_dict() for r in records], indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(r.to_dict(), separators=(",", ":")) + "\n" for r in records)
    if fmt == "sql":
        return to_sql(records)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def print_records(records: list[Record], fmt: str, stream) -> None:
    stream.write(render(records, fmt))
    stream.flush()
