"""Was the device throttled during a case, and on what evidence (issue 13, item 5)?

Devices report ``throttled`` readings (1.0 / 0.0) whose note says why: a thermal-throttle counter
that rose, a clock below base under load, a Jetson zone at a trip point, a clock ceiling below the
nvpmodel mode (devices/throttle.py). A bare ``throttled: null`` told users nothing; the row now
carries ``throttle_evidence`` next to it:

- ``throttled``: true when any reading in the case said 1, false when readings exist and all said
  0, null when nothing could decide (no sensor, or one still warming up);
- ``throttle_evidence``: ``{"status", "evidence": [...], "readings"}``: the distinct notes of the
  readings that decided it (each with its sensor), or, for null, why nothing could (the
  reasons of None readings, or of throttle sensors the device reports as unavailable).
"""
from __future__ import annotations

from typing import Any, Iterable

MAX_EVIDENCE = 5


def _distinct(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for x in items:
        if x and x not in out:
            out.append(x)
    return out[:MAX_EVIDENCE]


def throttle_state(samples: list, sensor_infos: Iterable[Any] = ()) -> tuple[bool | None, dict[str, Any]]:
    """``(throttled, throttle_evidence)`` of a case from its samples and the device's sensor infos
    (``SensorInfo``-like: ``name``, ``quantity``, ``available``, ``reason``)."""
    readings = [r for s in samples for r in s.readings if r.quantity == "throttled"]
    decided = [r for r in readings if r.value is not None]
    hot = [r for r in decided if r.value > 0]
    if hot:
        return True, {"status": "throttled", "readings": f"{len(hot)} of {len(decided)} readings said throttled",
                      "evidence": _distinct(f"{r.sensor}: {r.note}" for r in hot)}
    if decided:
        return False, {"status": "not throttled", "readings": f"{len(decided)} readings, none throttled",
                       "evidence": _distinct(f"{r.sensor}: {r.note}" for r in decided)}
    why = _distinct(f"{r.sensor}: {r.reason}" for r in readings if r.reason)
    why += _distinct(f"{i.name}: {i.reason}" for i in sensor_infos
                     if i.quantity == "throttled" and not i.available and i.reason)
    return None, {"status": "unknown", "readings": f"{len(readings)} readings",
                  "evidence": why or ["no throttle sensor on this device"]}


def throttle_warning(evidence: dict[str, Any]) -> str | None:
    """The row warning (hence a legend line) of a throttled case."""
    if evidence.get("status") != "throttled":
        return None
    return "throttled during the case (" + "; ".join(evidence.get("evidence") or []) + "): timings are slower than " \
           "the device's sustained rate"
