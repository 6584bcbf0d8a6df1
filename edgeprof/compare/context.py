"""Two rows measured on one machine under different power contexts (another nvpmodel mode, power
limit, governor, clock ceiling, AC vs battery...) are not a comparison of their configurations: a speed or energy
difference may be the setting's. ``compare`` names those differences FIRST and gives no
better/worse verdict on such a pair unless ``--allow-context-mismatch`` (then the verdicts stand,
marked). The fields are ``results/runctx.py``'s: every context field but the temperatures.
"""
from __future__ import annotations

from typing import Any

from edgeprof.results.runctx import LABELS, power_differences
from edgeprof.results.schema import Record

HELD = "no verdict: measured under another power context"
ALLOW = "--allow-context-mismatch"


def difference_text(diff: dict[str, tuple[Any, Any]]) -> str:
    """``power_mode 15W -> 25W; GPU max MHz 612.0 -> 918.0``."""
    def name(k: str) -> str:
        return ("setting " + k[8:]) if k.startswith("setting.") else LABELS.get(k, k)
    return "; ".join(f"{name(k)} {a} -> {b}" for k, (a, b) in diff.items())


def pair_context(ra: Record, rb: Record) -> str | None:
    """What differs in the power context of a pair, in words, or None when nothing does. Two
    devices (or hosts) have contexts of their own: between them the context is part of what is
    compared, named but not a reason to withhold (``held`` is False)."""
    diff = power_differences(ra, rb)
    return difference_text(diff) if diff else None


def same_machine(ra: Record, rb: Record) -> bool:
    """One device of one machine: the same device id, hostname and board (two boards cloned from
    one image share the first two)."""
    ka, kb = (r.conditions.board.key if r.conditions.board else None for r in (ra, rb))
    return ra.device.id == rb.device.id and ra.host == rb.host and ka == kb


def gated(verdict: str, differs: str | None, allow: bool, same: bool = True) -> str:
    """The verdict, or HELD when the pair's power context differs on one machine and the user did
    not allow it."""
    if not differs or not same:
        return verdict
    return f"{verdict} (power context differs: {ALLOW})" if allow else HELD


def header(contexts: list[str], allow: bool) -> list[str]:
    """The lines ``compare`` prints before anything else."""
    if not contexts:
        return []
    tail = ("verdicts are given anyway (" + ALLOW + ")" if allow else
            f"no better/worse verdict on these pairs; pass {ALLOW} to judge them anyway")
    return [f"power context differs: {c}" for c in contexts] + [tail]
