"""One name for a row wherever rows are listed (tables, legends, charts, recommendations): what a
reader recognises — ``format quant`` — plus only what sets the row apart from the others shown
(the model, the workload, the threads, the device, the runtime, a sweep's power setting, the
board: ``on pi5``), never a hex case id.

What sets rows apart is computed once per list of rows: labelling every row of a 1,000-row report
by rescanning the others made ``report`` quadratic (issue 21 item 10)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from edgeprof.results.schema import Record


@dataclass(frozen=True)
class _Apart:
    models: bool
    workloads: bool
    threads: bool
    devices: bool
    runtimes: dict      # (format, quant) -> the runtimes it ran in
    boards: dict        # board key -> how the label names it; empty when the rows share one board
    power: bool         # the power settings a sweep gave the rows differ (power_mode=15W ...)


_LAST: list = [None, None]   # the last ``among`` list and what differs in it


def _apart(among: Sequence[Record]) -> _Apart:
    if _LAST[0] is among:
        return _LAST[1]
    runtimes: dict[tuple, set] = {}
    for x in among:
        runtimes.setdefault((x.artifact.format, x.artifact.quant), set()).add(x.runtime.name)
    facts = _Apart(len({x.model.id for x in among}) > 1, len({x.workload.label for x in among}) > 1,
                   len({x.runtime.placement.threads for x in among}) > 1, len({x.device.id for x in among}) > 1,
                   runtimes, _boards(among), len({_power(x) for x in among}) > 1)
    _LAST[:] = [among, facts]
    return facts


def row_label(r: Record, among: Sequence[Record] | None = None) -> str:
    """``gguf q4_k_m``; with ``among`` (the rows shown together): ``smollm2 gguf q4_k_m pp512 t4``
    where the model, workload or threads differ between them, ``@device`` where devices do, and
    the runtime where one format/quant ran in two runtimes."""
    apart = _apart(among if among is not None else ())
    label = f"{r.artifact.format or '?'} {r.artifact.quant or '?'}"
    if apart.models:
        label = f"{r.model.id} {label}"
    if len(apart.runtimes.get((r.artifact.format, r.artifact.quant), ())) > 1:
        label += f" ({r.runtime.name})"
    if apart.workloads:
        label += f" {r.workload.label}"
    if apart.threads:
        label += f" t{r.runtime.placement.threads}"
    if apart.devices:
        label += f" @{r.device.name or r.device.id}"
    if apart.power and _power(r):
        label += f" {_power(r)}"
    if apart.boards:
        label += f" on {apart.boards[_key(r)]}"
    return label


def _power(r: Record) -> str:
    power = r.get("power")
    return " ".join(f"{k}={v}" for k, v in power.items()) if isinstance(power, dict) else ""


def _key(r: Record) -> str:
    b = r.conditions.board
    return b.key if b is not None else ""


def _boards(among: Sequence[Record]) -> dict[str, str]:
    """Board key -> its name in labels: the fleet name, or the whole key (name and hardware id)
    where two boards share a name; ``local`` for rows measured here. Empty for one board."""
    tags = {_key(x): x.conditions.board for x in among}
    if len(tags) < 2:
        return {}
    names = {(t.name if t is not None else "local") for t in tags.values()}
    unique = len(names) == len(tags)
    return {k: ("local" if t is None else (t.name or t.key) if unique else t.key) for k, t in tags.items()}
