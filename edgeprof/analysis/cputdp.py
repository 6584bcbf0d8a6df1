"""TDP lookup for the CPU power estimate (data in ``assets/devices/cpus.csv``, not code).

The last row ``*`` is the documented per-core assumption for unknown CPUs; its basis travels
into every estimated reading's provenance note.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from edgeprof.devices.cpu import TdpSpec

from edgeprof.assets_access import asset


@dataclass(frozen=True)
class CpuRow:
    """One row of ``cpus.csv``: a brand-string pattern (``*``: any other CPU, per core) and its TDP."""
    pattern: str
    name: str
    tdp_w: float
    socket_cores: int | None
    idle_fraction: float
    source: str


def read_cpu_rows() -> list[CpuRow]:
    with open(asset("devices", "cpus.csv"), newline="") as f:
        return [CpuRow(r["pattern"], r["name"], float(r["tdp_w"]), int(r["socket_cores"]) if r["socket_cores"] else None,
                       float(r["idle_fraction"]), r["source"]) for r in csv.DictReader(f)]


def lookup(cpu_name: str, logical_cores: int, override_w: float | None = None) -> TdpSpec:
    if override_w is not None:
        return TdpSpec(tdp_w=float(override_w), socket_cores=None, idle_fraction=0.1,
                       basis=f"--cpu-tdp-w {override_w:g} (user-supplied, applied to the visible cores)")
    rows = read_cpu_rows()
    for row in rows:
        if row.pattern != "*" and re.search(row.pattern, cpu_name):
            return TdpSpec(tdp_w=row.tdp_w, socket_cores=row.socket_cores, idle_fraction=row.idle_fraction,
                           basis=f"assets/devices/cpus.csv '{row.name}' ({row.source})")
    star = next(r for r in rows if r.pattern == "*")
    return TdpSpec(tdp_w=star.tdp_w * logical_cores, socket_cores=None, idle_fraction=star.idle_fraction,
                   basis=f"unknown CPU {cpu_name!r}: {star.tdp_w:g} W x {logical_cores} visible cores ({star.source})")
