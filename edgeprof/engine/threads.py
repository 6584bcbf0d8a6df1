"""How many threads a case may ask for on this machine (issue 20, item 7).

Why: ``-t 999`` on 2 cores was accepted silently and drove the load average to 160; a result
measured with more runnable threads than cores measures the scheduler, not the model. llama.cpp's
threads meet at a barrier after every graph node, so a thread that waits for a core stalls all the
others: above the logical core count the run is warned about, far above it (``OVERSUBSCRIBE`` ×
the cores) it is refused before anything is written. And a row measured on contended cores with
as many threads as cores says that fewer threads may be faster there: one core that another
process takes stalls every barrier.

The cores are the ones this process may run on (``sched_getaffinity``: a ``taskset`` mask or a
container's cpuset), the same set the worker inherits; where a row recorded the worker's
``cpu_affinity``, that is the set it ran on.
"""
from __future__ import annotations

import os
from typing import Sequence

from edgeprof.errors import UsageError
from edgeprof.results.conditions import Load
from edgeprof.results.schema import ResolvedPlacement

#: refuse a thread count above this many times the logical cores
OVERSUBSCRIBE = 4


def usable_cores() -> int:
    """Logical cores this process may run on (its affinity mask), else ``os.cpu_count()``."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_threads(threads: Sequence[int], cores: int | None = None) -> list[str]:
    """Warnings for thread counts above the logical cores; UsageError (exit 2, nothing written)
    for one above ``OVERSUBSCRIBE`` × the cores."""
    cores = cores or usable_cores()
    limit = OVERSUBSCRIBE * cores
    far = sorted({t for t in threads if t > limit})
    if far:
        raise UsageError(f"-t {far[-1]} is far above the {cores} logical core(s) this process may use (at most "
                         f"{limit} = {OVERSUBSCRIBE} x cores is accepted): that many runnable threads measure the "
                         f"scheduler, not the model; use -t {cores} or fewer")
    return [oversubscribed(t, cores) for t in sorted({t for t in threads if t > cores})]


def oversubscribed(threads: int, cores: int) -> str:
    return (f"-t {threads} is above the {cores} logical core(s) this process may use: threads take turns on the "
            f"cores (each waits for the others at every step), so the figures are slower than -t {cores} would give")


def row_cores(placement: ResolvedPlacement) -> int:
    """The cores a row's worker could run on: its recorded ``cpu_affinity``, else this process's."""
    aff = placement.cpu_affinity
    return len(aff) if isinstance(aff, (list, tuple)) and aff else usable_cores()


def row_warnings(placement: ResolvedPlacement, load: Load | None) -> list[str]:
    """A row's thread warnings: above its cores, or every core on a contended machine."""
    threads = placement.threads
    if not isinstance(threads, int) or threads < 1:
        return []
    cores = row_cores(placement)
    if threads > cores:
        return [oversubscribed(threads, cores)]
    if threads == cores and cores > 1 and load is not None and load.during_status == "contended":
        return [f"measured on contended cores with -t {threads} = every logical core: a core that another process "
                f"takes stalls all {threads} threads at every step; on a busy machine -t {cores - 1} may be faster "
                f"(try it), or re-run when the machine is quiet"]
    return []
