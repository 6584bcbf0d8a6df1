"""What ``compare`` finds, as values: one ``PairedRow`` per paired case and metric (both medians,
the ratio B/A, its interval, the p-value, the margin and the verdict), each metric's ``Margin``
and the whole ``PairedResult``. The command, the TUI and the tests read attributes; ``to_dict``
is the JSON/CSV the command prints, key for key what it printed before the types."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class PairedRow:
    """One metric of one pair. ``why``: the reason a metric is not measurable here (only then);
    ``workload``/``axes``/``unit``/``estimated`` are the pair's label, what differs in it (only
    when pairs differ in different ways), the unit, and which sides' figures are estimates."""
    metric: str
    a_median: float | None
    b_median: float | None
    ratio_b_over_a: float | None
    ci95: tuple[float, float] | None
    p_value: float | None
    n_a: int
    n_b: int
    margin: float
    verdict: str
    why: str | None = None
    workload: str | None = None
    axes: str | None = None
    unit: str | None = None
    estimated: str | None = None

    def to_dict(self) -> dict[str, Any]:
        head: dict[str, Any] = {} if self.workload is None else {"workload": self.workload}
        if self.axes is not None:
            head["axes"] = self.axes
        if self.unit is not None:
            head["unit"] = self.unit
        row = {"metric": self.metric, "a_median": self.a_median, "b_median": self.b_median,
               "ratio_b_over_a": self.ratio_b_over_a, "ci95": list(self.ci95) if self.ci95 else None,
               "p_value": self.p_value, "n_a": self.n_a, "n_b": self.n_b, "margin": self.margin,
               "verdict": self.verdict}
        return {**head, **row, **({} if self.why is None else {"why": self.why}),
                **({"estimated": self.estimated} if self.estimated else {})}


@dataclass(frozen=True)
class Margin:
    """A metric's equivalence margin and where it came from (stated, or measured drift)."""
    margin: float
    basis: str


@dataclass(frozen=True)
class PairedResult:
    a: str
    b: str
    rows: tuple[PairedRow, ...]
    margins: Mapping[str, Margin]
    axes: str | None = None                 # what differs, when every pair differs in the same way
    busy: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    context_other_devices: tuple[str, ...] = ()
    allow_context_mismatch: bool = False
    unpaired_a: tuple[tuple, ...] = ()
    ratio: str = "B/A (medians)"
    note: str = "each metric is oriented so that a ratio > 1 means B better; the margin is that metric's own"
    legend: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "ratio": self.ratio, "axes": self.axes, "busy": list(self.busy),
                "context": list(self.context), "context_other_devices": list(self.context_other_devices),
                "allow_context_mismatch": self.allow_context_mismatch,
                "margins": {m: {"margin": v.margin, "basis": v.basis} for m, v in self.margins.items()},
                "rows": [r.to_dict() for r in self.rows], "unpaired_a": [list(k) for k in self.unpaired_a],
                "note": self.note, "legend": list(self.legend)}
