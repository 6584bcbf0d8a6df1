"""TDP lookup for the CPU power estimate (data in ``assets/devices/cpus.csv``, not code).

The last row ``*`` is the documented per-core assumption for unknown CPUs; its basis travels
into every estimated reading's provenance note.
"""
from __future__ import annotations

import csv
import re

from edgeprof.devices.cpu import TdpSpec

from edgeprof.assets_access import asset


def lookup(cpu_name: str, logical_cores: int, override_w: float | None = None) -> TdpSpec:
    if override_w is not None:
        return TdpSpec(tdp_w=float(override_w), socket_cores=None, idle_fraction=0.1,
                       basis=f"--cpu-tdp-w {override_w:g} (user-supplied, applied to the visible cores)")
    with open(asset("devices", "cpus.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if row["pattern"] != "*" and re.search(row["pattern"], cpu_name):
            return TdpSpec(tdp_w=float(row["tdp_w"]), socket_cores=int(row["socket_cores"]) if row["socket_cores"] else None,
                           idle_fraction=float(row["idle_fraction"]),
                           basis=f"assets/devices/cpus.csv '{row['name']}' ({row['source']})")
    star = next(r for r in rows if r["pattern"] == "*")
    per_core = float(star["tdp_w"])
    return TdpSpec(tdp_w=per_core * logical_cores, socket_cores=None, idle_fraction=float(star["idle_fraction"]),
                   basis=f"unknown CPU {cpu_name!r}: {per_core:g} W x {logical_cores} visible cores ({star['source']})")
