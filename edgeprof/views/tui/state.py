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
    finished: list = field(default_factory=list)   # Records
    done: bool = False

    def apply(self, e: ev.Event) -> None:
        if isinstance(e, ev.CaseScheduled):
            self.index, self.total, self.case = e.index, e.total, e.label
            self.phase, self.tokens = "starting", None
        elif isinstance(e, ev.RunNotice):
            self.notices.append(e.message)
        elif isinstance(e, ev.PhaseStarted) and e.name != "repetition":
            self.phase, self.rep = f"{e.label or ''} {e.name}".strip(), e.rep
        elif isinstance(e, ev.TokenProgress):
            self.tokens = (e.n, e.of)
        elif isinstance(e, ev.SampleEvent):
            if e.power_w is not None:
                self.power_w.append(float(e.power_w))
                self.power_label = e.power_label or ""
            for r in e.readings:
                if r.sensor == "worker:rss" and r.value is not None:
                    self.rss_mib.append(r.value / 2**20)
        elif isinstance(e, ev.TERMINAL) and e.record is not None:
            self.finished.append(e.record)
            self.phase = "finished" if isinstance(e, ev.CaseFinished) else "failed"
