"""A snapshot of a running sweep, folded from events. Pure: the app renders it, tests feed it."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from edgeprof.engine import events as ev

HISTORY = 240  # samples kept for each sparkline (12 s at 20 Hz)


@dataclass
class Snapshot:
    total: int = 0
    index: int = 0
    case: str = ""
    phase: str = ""
    rep: int | None = None
    tokens: tuple[int, int] | None = None
    notices: deque = field(default_factory=lambda: deque(maxlen=6))
    power_w: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    rss_mib: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    power_label: str = ""
    finished: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False

    def apply(self, e: dict) -> None:
        t = e["type"]
        if t == ev.RUN_NOTICE:
            if e.get("message") == "case":
                self.index, self.total, self.case = e["index"] + 1, e["total"], e["case"]
                self.phase, self.tokens = "starting", None
            else:
                self.notices.append(e["message"])
        elif t == ev.PHASE_STARTED and e["name"] != "repetition":
            self.phase, self.rep = f"{e.get('label') or ''} {e['name']}".strip(), e.get("rep")
        elif t == ev.TOKEN_PROGRESS:
            self.tokens = (e["n"], e["of"])
        elif t == ev.SAMPLE:
            if e.get("power_w") is not None:
                self.power_w.append(float(e["power_w"]))
                self.power_label = e.get("power_label") or ""
            for r in e["readings"]:
                if r["sensor"] == "worker:rss" and r["value"] is not None:
                    self.rss_mib.append(r["value"] / 2**20)
        elif t in ev.TERMINAL:
            self.finished.append(e["record"])
            self.phase = "finished" if t == ev.CASE_FINISHED else "failed"
