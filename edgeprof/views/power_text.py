"""What ``bench`` prints under its table for a power sweep and a ``--sustain`` run: the trade-off
of the settings (analysis/tradeoff.py: the Pareto front of tok/s vs tok/J, the pick for efficiency
and the knee) and, per sustained case, burst against sustained (analysis/sustain.py)."""
from __future__ import annotations

from typing import TextIO

from edgeprof.results.schema import Record


def lines(records: list[Record]) -> list[str]:
    from edgeprof.analysis.tradeoff import legend_lines

    return legend_lines(records)


def print_under_table(records: list[Record], stream: TextIO) -> None:
    out = lines(records)
    if out:
        stream.write("\n" + "\n".join(out) + "\n")
        stream.flush()
