"""Which repetitions were not measuring the model: the worker stopped or starved mid-repetition.

Why (issue 21 item 3): a 30 s SIGSTOP inside a repetition made an ``ok`` row 6x too slow with 6x
the energy per token. Two kinds of evidence, either enough:

- the worker's heartbeat (``engine/stallwatch.py``) saw a hole: seconds of wall time in which the
  process's CPU time hardly moved (``Repetition.extra["stalls"]``);
- the token timeline has a gap no decode step explains: one token took at least ``MIN_STALL_S``
  and ``GAP_FACTOR`` times the repetition's median step.

A repetition is dropped when the stalled time is at least ``MIN_STALL_S`` and ``MIN_SHARE`` of its
window (below that it cannot move a median); the reason says how long, and what can cause it.
"""
from __future__ import annotations

import statistics
from dataclasses import replace
from typing import Sequence

from edgeprof.results.schema import Repetition

MIN_STALL_S = 1.0
MIN_SHARE = 0.05
GAP_FACTOR = 20.0
CAUSES = "stopped (Ctrl-Z, SIGSTOP, a debugger, a paused VM) or starved of CPU"


def stall_reason(rep: Repetition) -> str | None:
    """Why ``rep`` does not measure the model, or None."""
    if not (rep.prefill or rep.decode):
        return None
    t0, t1 = rep.window
    window_s = max(t1 - t0, 1) / 1e9
    holes = [h for h in rep.extra.get("stalls") or () if isinstance(h, (list, tuple)) and len(h) == 3]
    held_s = sum(max(0.0, (h[1] - h[0]) / 1e9) for h in holes)
    if held_s >= MIN_STALL_S and held_s >= MIN_SHARE * window_s:
        cpu = sum(float(h[2]) for h in holes)
        return (f"the worker did not run for {held_s:.1f} s of this repetition's {window_s:.1f} s (it used "
                f"{cpu:.2f} s of CPU meanwhile): {CAUSES}")
    steps = rep.token_ns
    if len(steps) >= 3:
        med = statistics.median(steps)
        worst = max(steps)
        if worst >= MIN_STALL_S * 1e9 and worst >= GAP_FACTOR * max(med, 1) and worst >= MIN_SHARE * window_s * 1e9:
            return (f"one decode step took {worst / 1e9:.1f} s, {worst / max(med, 1):,.0f}x the median step: "
                    f"the worker was {CAUSES}")
    return None


def screen(reps: Sequence[Repetition]) -> tuple[list[Repetition], list[Repetition]]:
    """(kept, dropped): each dropped repetition carries ``extra["dropped"]``, its reason."""
    kept, dropped = [], []
    for r in reps:
        why = stall_reason(r)
        if why is None:
            kept.append(r)
        else:
            dropped.append(replace(r, extra={**r.extra, "dropped": why}))
    return kept, dropped


def dropped_warnings(dropped: Sequence[Repetition]) -> list[str]:
    """One warning per dropped repetition, for the row."""
    return [f"repetition {r.rep} dropped from the figures: {r.extra.get('dropped')}" for r in dropped]
