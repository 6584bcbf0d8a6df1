"""Event fan-out: every event goes to every listener (progress, TUI, remote sinks), in order.

A listener that raises is dropped with a notice instead of ending the sweep: a broken view must
never cost a measurement. ``sample_events`` turns sampler ticks into ``sample`` events with the
headline power (Δenergy/Δt for counters) — only when a live view asks for them, since building
them costs the parent time on every tick.
"""
from __future__ import annotations

import sys
from typing import Callable

from edgeprof.analysis.metrics import PowerSource
from edgeprof.engine import events as ev

Listener = Callable[[ev.Event], None]


class Fanout:
    def __init__(self, listeners: list[Listener] | None = None):
        self.listeners: list[Listener] = list(listeners or [])
        self.want_samples = False

    def add(self, fn: Listener) -> None:
        self.listeners.append(fn)

    def emit(self, event: ev.Event) -> None:
        for fn in list(self.listeners):
            try:
                fn(event)
            except Exception as exc:  # noqa: BLE001 - a view's bug must not stop the sweep
                self.listeners.remove(fn)
                print(f"edgeprof: a listener failed and was detached ({type(exc).__name__}: {exc}); "
                      f"the run goes on", file=sys.stderr)

    def notice(self, message: str, level: str = "info", case_id: str | None = None, data: dict | None = None) -> None:
        self.emit(ev.RunNotice(case_id=case_id, message=message, level=level, data=data or {}))

    def sample_hook(self, power: PowerSource | None) -> Callable | None:
        """A sampler ``on_sample`` callback emitting ``sample`` events, or None when not wanted."""
        if not self.want_samples:
            return None
        last: dict[str, float] = {}
        label = f"{power.provenance.source} ({power.provenance.kind})" if power else "none"

        def on_sample(smp) -> None:
            pw = None
            if power is not None:
                v = smp.value(power.sensor, power.quantity)
                if power.quantity == "power_w":
                    pw = v
                elif v is not None:
                    if last and smp.t_ns > last["t"]:
                        pw = (v - last["v"]) / ((smp.t_ns - last["t"]) / 1e9)
                    last.update(t=smp.t_ns, v=v)
            self.emit(ev.SampleEvent(t_ns=smp.t_ns, readings=smp.readings, power_w=pw, power_label=label))
        return on_sample
