"""Chart data from a case's trace and phases, independent of any drawing library: the power and
memory series (each labelled measured / estimated / derived), the phase spans to shade (load,
idle baseline, warm-up, prefill, decode) on the samples' monotonic clock, the per-token timeline
and the per-repetition distributions.

Why here and not in the report: the TUI draws the same series live and the terminal report draws
them with plotext; all three must agree on what is shaded as "decode" and which line is an estimate.
"""
from __future__ import annotations

from dataclasses import dataclass

from edgeprof.results.labels import row_label
from edgeprof.results.samples import Column, Trace
from edgeprof.results.schema import Record
from edgeprof.views.charts.axes import BYTE_UNITS, scale_for

#: shading order and colours (hex, usable by matplotlib and Textual alike)
PHASE_COLORS = {"idle": "#9e9e9e", "load": "#8d6e63", "warm-up": "#ffb74d", "prefill": "#64b5f6", "decode": "#81c784"}
#: how far before the trace an idle window may end and still be drawn (the baseline is taken once,
#: just before the first case; later cases show no idle span)
IDLE_GAP_S = 2.0


@dataclass(frozen=True, slots=True)
class Series:
    """One line: x in seconds since the trace start (or a token index), y already scaled to ``unit``."""

    name: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    unit: str
    kind: str              # measured | estimated | derived | unlabelled
    source: str = ""

    @property
    def estimated(self) -> bool:
        return self.kind == "estimated"

    @property
    def label(self) -> str:
        return f"{self.name} [{self.kind}{': ' + self.source if self.source else ''}]"


@dataclass(frozen=True, slots=True)
class PhaseSpan:
    name: str              # a key of PHASE_COLORS
    t0_s: float
    t1_s: float
    rep: int | None = None


def _pairs(trace: Trace, col: Column, factor: float = 1.0) -> tuple[tuple[float, ...], tuple[float, ...]]:
    t0 = trace.t_ns[0] if trace.t_ns else 0
    xs, ys = [], []
    for t, v in zip(trace.t_ns, trace.values[col.name]):
        if v is not None:
            xs.append((t - t0) / 1e9)
            ys.append(v * factor)
    return tuple(xs), tuple(ys)


def power_series(trace: Trace) -> list[Series]:
    """Every power column, plus power derived from cumulative energy counters (ΔE/Δt, kind
    ``derived`` from a measured counter, an estimate stays ``estimated``)."""
    out = []
    for col in trace.by_quantity("power_w"):
        x, y = _pairs(trace, col)
        if y:
            out.append(Series(col.sensor, x, y, "W", col.kind, col.source))
    for col in trace.by_quantity("energy_j"):
        x, y = _pairs(trace, col)
        px, py = [], []
        for i in range(1, len(x)):
            dt = x[i] - x[i - 1]
            if dt > 0 and y[i] >= y[i - 1]:  # a counter wrap or reset leaves a gap, not a negative watt
                px.append(x[i])
                py.append((y[i] - y[i - 1]) / dt)
        if py:
            kind = "estimated" if col.estimated else "derived"
            out.append(Series(f"{col.sensor} ΔE/Δt", tuple(px), tuple(py), "W", kind,
                              f"from {col.kind} energy counter {col.source}".strip()))
    return out


def memory_series(trace: Trace) -> list[Series]:
    """Memory the model holds: byte columns that are not system-wide (worker RSS/USS, GPU memory of
    the process), scaled to one readable unit for all of them."""
    cols = [c for c in trace.columns if c.quantity.endswith("_bytes") and c.scope != "system"]
    peak = max((v for c in cols for v in trace.values[c.name] if v is not None), default=0.0)
    factor, unit = scale_for("B", peak)
    out = []
    for col in cols:
        x, y = _pairs(trace, col, factor)
        if y:
            out.append(Series(f"{col.sensor} {col.quantity.removesuffix('_bytes')}", x, y, unit, col.kind, col.source))
    return out


def phase_spans(record: Record, trace_t0_ns: int, baseline: dict | None = None) -> list[PhaseSpan]:
    """Spans to shade, in seconds since ``trace_t0_ns``: the idle baseline (when it ends close to the
    trace), the model load, each warm-up repetition (one span) and each measured prefill/decode."""
    s = lambda t: (t - trace_t0_ns) / 1e9  # noqa: E731
    out: list[PhaseSpan] = []
    b = baseline if isinstance(baseline, dict) else {}
    t0, t1 = (b.get(k) if type(b.get(k)) in (int, float) else None for k in ("t0_ns", "t1_ns"))  # a hand-edited file
    if t0 and t1 and (t1 - trace_t0_ns) / 1e9 > -IDLE_GAP_S:
        out.append(PhaseSpan("idle", s(t0), s(t1)))
    for p in record.phases:
        if p.t1_ns is None:
            continue
        warm = (p.label or "") == "warmup"
        if p.name == "load":
            out.append(PhaseSpan("load", s(p.t0_ns), s(p.t1_ns)))
        elif p.name == "idle":
            out.append(PhaseSpan("idle", s(p.t0_ns), s(p.t1_ns)))
        elif warm and p.name == "repetition":
            out.append(PhaseSpan("warm-up", s(p.t0_ns), s(p.t1_ns), p.rep))
        elif not warm and p.name in ("prefill", "decode"):
            out.append(PhaseSpan(p.name, s(p.t0_ns), s(p.t1_ns), p.rep))
    if not any(x.name == "warm-up" for x in out):  # older files: warm-up prefill/decode without a repetition span
        out += [PhaseSpan("warm-up", s(p.t0_ns), s(p.t1_ns), p.rep) for p in record.phases
                if p.t1_ns is not None and p.label == "warmup" and p.name in ("prefill", "decode")]
    return sorted(out, key=lambda x: x.t0_s)


def token_series(tokens: dict[str, list]) -> list[Series]:
    """Per-repetition inter-token latency against the token's position in the decode: the file's
    ``itl_ms`` column when it has one, else differences of ``t_ns`` within each repetition."""
    t = tokens.get("t_ns") or []
    reps = tokens.get("rep") or [0] * len(t)
    itl = tokens.get("itl_ms")
    by_rep: dict[int, tuple[list, list]] = {}
    last: dict[int, float] = {}
    for i, tt in enumerate(t):
        rep = int(reps[i] or 0) if reps[i] is not None else 0
        xs, ys = by_rep.setdefault(rep, ([], []))
        if itl is not None and itl[i] is not None:
            value = itl[i]
        elif tt is not None and rep in last:
            value = (tt - last[rep]) / 1e6
        else:
            value = None
        if tt is not None:
            last[rep] = tt
        if value is not None:
            xs.append(float(len(xs) + 1))
            ys.append(float(value))
    return [Series(f"rep {r}", tuple(xs), tuple(ys), "ms", "measured", "per-token timeline")
            for r, (xs, ys) in sorted(by_rep.items()) if ys]


def itl_values(tokens: dict[str, list]) -> list[float]:
    return [v for s in token_series(tokens) for v in s.y]


def itl_marks(record: Record, itl: list[float]) -> dict[int, float]:
    """The p50/p90/p99 lines of an ITL histogram: the record's own ``itl_ms`` figures (what its
    table says), else the same computation over the timeline (``analysis.itl.itl_quantiles``); a
    quantile the record does not state (p99 under 20 tokens) is not drawn."""
    from edgeprof.analysis.itl import itl_quantiles

    m = record.metric("itl_ms")
    qs = {50: m.center, 90: m.p90, 99: m.p99} if m is not None else itl_quantiles(itl)
    return {q: float(v) for q, v in qs.items() if v is not None}


@dataclass(frozen=True, slots=True)
class PeakMark:
    """The table's ``peak_rss_bytes`` on a memory chart, so the chart never contradicts the table:
    the worker's own high-water mark can lie above the sampled line (reached between samples, e.g.
    while loading)."""

    y: float            # in the memory series' unit
    unit: str
    label: str
    note: str           # why it may differ from the sampled line ("" when it does not)


def peak_mark(record: Record, memory: list[Series]) -> PeakMark | None:
    m = record.metric("peak_rss_bytes")
    if m is None or not m.value:
        return None
    top = max((max(s.y) for s in memory if s.y), default=None)
    factor, unit = scale_for("B", float(m.value))
    if memory:  # the chart's own unit
        unit = memory[0].unit
        factor = next((1.0 / size for size, name in BYTE_UNITS if name == unit), factor)
    y = float(m.value) * factor
    src = m.provenance.source or ""
    note = ""
    if src.startswith("getrusage ru_maxrss") and top is not None and y > top * 1.02:
        note = ("recorded with getrusage ru_maxrss, which a spawned worker inherits from the bench parent: it may "
                "be the parent's peak, not the model's (fixed in later runs, which record VmHWM)")
    elif top is not None and y > top * 1.02:
        note = "the worker's own high-water mark lies above the sampled line: reached between samples (e.g. in load)"
    return PeakMark(y, unit, f"peak RSS (table) {y:.1f} {unit}", note)


def rep_samples(records: list[Record], metric: str) -> list[tuple[str, tuple[float, ...], bool]]:
    """(case label, repetition-level samples, estimated) of ``metric`` for each case that has them."""
    out = []
    for r in records:
        m = r.metric(metric)
        if m and m.samples:
            out.append((case_label(r, records), m.samples, m.provenance.estimated))
    return out


def case_label(r: Record, among: list[Record] | None = None) -> str:
    """``format quant`` plus what sets the row apart among ``among`` (``results.labels.row_label``:
    one name for a row in the tables, legends, charts and recommendations)."""
    return row_label(r, among)


def trace_extent(trace: Trace) -> float:
    return (trace.t_ns[-1] - trace.t_ns[0]) / 1e9 if len(trace.t_ns) > 1 else 0.0

