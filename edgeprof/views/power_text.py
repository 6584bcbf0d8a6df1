"""What ``bench`` prints under its table for a power sweep and a ``--sustain`` run: the trade-off
of the settings (analysis/tradeoff.py: the Pareto front of tok/s vs tok/J, the pick for efficiency
and the knee) and, per sustained case, burst against sustained (analysis/sustain.py)."""
from __future__ import annotations

from typing import TextIO

from edgeprof.results.schema import Record


def lines(records: list[Record]) -> list[str]:
    from edgeprof.analysis.sustain import Sustain
    from edgeprof.analysis.tradeoff import legend_lines
    from edgeprof.views.charts.series import case_label

    out = legend_lines(records)
    for r in records:
        if isinstance(r.get("sustain"), dict):
            out += Sustain.from_dict(r.get("sustain")).text(f"{r.model.id} {case_label(r, records)} {r.workload.label}")
    return out


def print_under_table(records: list[Record], stream: TextIO) -> None:
    out = lines(records)
    if out:
        stream.write("\n" + "\n".join(out) + "\n")
        stream.flush()


def context_facts(rec: Record) -> list[tuple[str, str]]:
    """The row's run context as (label, text) facts for the TUI's detail: the settings, what
    changed during the case, the cool-down after a power change."""
    from edgeprof.results.runctx import context_of

    ctx = context_of(rec)
    if ctx is None:
        return []
    out = [("run context", ctx.summary())]
    if ctx.power:
        out.insert(0, ("power setting", " ".join(f"{k}={v}" for k, v in ctx.power.items())))
    if ctx.changed:
        out.append(("changed during the case", "; ".join(f"{k} {a} -> {b}" for k, (a, b) in ctx.changed.items())))
    if ctx.cooldown:
        out.append(("cool-down", f"{ctx.cooldown.get('waited_s')} s: {ctx.cooldown.get('ended')}"))
    return out


def title_context(records: list[Record]) -> str:
    """The newest row's power settings for the TUI's title bar (``power mode 25W, governor ...``)."""
    from edgeprof.results.runctx import context_of

    for rec in reversed(records):
        ctx = context_of(rec)
        if ctx is not None and ctx.power_fields:
            return ctx.summary().split(";")[0]
    return ""


def tradeoff_caption(records: list[Record]) -> str:
    """One line for the results panel: each group's pick for efficiency and knee."""
    from edgeprof.analysis.tradeoff import tradeoffs

    return " | ".join(f"efficiency: {', '.join(t.efficient)} · knee: {', '.join(t.knee)}" for t in tradeoffs(records))
