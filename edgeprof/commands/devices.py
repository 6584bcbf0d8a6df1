"""``edgeprof devices``: the detected devices and every sensor with its status and provenance."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

from edgeprof.commands.common import add_format

HELP = "list this machine's devices and sensors (status, source, measured/estimated)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_format(p, ("md", "json"))
    p.add_argument("--json", dest="format", action="store_const", const="json", help="alias of -o json")
    p.add_argument("--check", action="store_true", help="read every sensor twice and print a verdict per sensor")
    p.add_argument("--probe", action="store_true", help="measure memory bandwidth and matrix FLOP/s and store them")
    p.add_argument("--cpu-tdp-w", type=float, default=None, help="TDP for the CPU power estimate")


@dataclass(frozen=True)
class SensorRow:
    """One sensor as the table shows it: what it is, what it read now (None: unavailable, not
    read), and its ``--check`` verdict."""

    info: Any                                   # devices.base.SensorInfo
    readings: tuple | None                      # devices.base.Reading
    check: Any = None                           # devices.check.Verdict

    def to_dict(self) -> dict[str, Any]:
        row = self.info.to_dict()
        row["status"] = "available" if self.readings is not None else "unavailable"
        if self.readings is not None:
            row["readings"] = [{"sensor": r.sensor, "quantity": r.quantity, "value": r.value, "unit": r.unit,
                                "reason": r.reason, "note": r.note} for r in self.readings]
        if self.check is not None:
            row["check"] = self.check.to_dict()
        return row


@dataclass(frozen=True)
class MachineLoad:
    """The window the table's readings span, judged by the rule of every bench row and probe."""

    status: str
    why: str
    window: dict                                # devices.load.LoadMeter.between

    def line(self) -> str:
        """``machine load over these 0.30 s: quiet — 3 % of all cores busy; ...``"""
        from edgeprof.results.conditions import LoadWindow

        w = LoadWindow.from_dict(self.window)
        busy = w.busy_fraction
        return (f"machine load over these {w.window_s:.2f} s: "
                f"{self.status if self.status == 'quiet' else self.status.upper()} — "
                + ("" if busy is None else f"{100 * busy:.0f} % of all cores busy; ")
                + f"{self.why} (the rule of every bench row and probe)")


@dataclass
class DeviceEntry:
    info: Any                                   # devices.base.DeviceInfo
    sensors: list[SensorRow]
    load: MachineLoad | None = None             # the CPU's entry only
    probe: dict | None = None                   # devices.probe.probe(), with --probe
    probe_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"device": self.info.to_dict(), "sensors": [x.to_dict() for x in self.sensors]}
        if self.load is not None:
            out["load"] = {"status": self.load.status, "why": self.load.why, "window": self.load.window}
        if self.probe is not None:
            out["probe"], out["probe_path"] = self.probe, self.probe_path
        return out


def describe(found: list, check: bool = False, window_s: float = 0.3, meter=None) -> list[DeviceEntry]:
    """One entry per device. Sensors that need a window (utilization, derived power) say
    ``warming up`` on their first read, so every sensor is read, read again once their start-up
    window has closed (it held edgeprof's own imports: 85 % "utilization" beside a quiet verdict,
    issue 20), and read a last time ``window_s`` later; the CPU entry's ``load`` is that same
    window judged by the rule of every bench row and probe (``devices.load.judge``).
    (``--check`` already reads twice, 0.5 s apart.)"""
    import time

    from edgeprof.devices.load import LoadMeter, judge

    window = None
    if not check:
        for pause in (0.15, None):
            t_ns = time.monotonic_ns()
            for d in found:
                for s in d.sensors():
                    s.read(t_ns)
            if pause:
                time.sleep(pause)
        meter = meter or LoadMeter()
        a = meter.snapshot()
        time.sleep(window_s)
        window = meter.between(a, meter.snapshot())
    out = []
    for d in found:
        info = d.info()
        verdicts = {}
        if check:
            from edgeprof.devices.check import check as run_check

            verdicts = {v.sensor: v for v in run_check(d)}
        t_ns = time.monotonic_ns()
        rows = [SensorRow(s.info, tuple(s.read(t_ns)) if s.available else None, verdicts.get(s.info.name))
                for s in d.sensors()]
        load = MachineLoad(*judge([window]), window) if window is not None and info.kind == "cpu" else None
        out.append(DeviceEntry(info, rows, load))
    return out


def _spec(v, why: str | None) -> str:
    """A device figure: lists joined; a figure read nowhere says ``unknown (why)``, never ``None``."""
    if v is None:
        return f"unknown ({why})" if why else "unknown"
    return ", ".join(map(str, v)) if isinstance(v, list) else str(v)


def probe_lines(d: DeviceEntry) -> str:
    """What ``--probe`` measured, read from the probe's result (devices/probe.py)."""
    from edgeprof.devices.probe import probe_label

    bw, fl = d.probe["bandwidth"], d.probe["flops"]
    line = (f"probe ({d.info.name}): memory bandwidth {_fmt(bw.get('value'))} GB/s, matrix fp32 "
            f"{_fmt(fl.get('value'))} {fl.get('unit', '')} — measured, {probe_label(d.probe)}, stored in {d.probe_path}")
    if d.probe.get("quality") != "quiet":
        line += f"\n  {d.probe.get('quality_note')}"
    return line


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def markdown(desc: list[DeviceEntry]) -> str:
    from edgeprof.views.tui.fmt import reading  # a reading in a unit people read, as the live view shows it

    lines = []
    for d in desc:
        dev, mem = d.info, d.info.memory_bytes
        lines.append(f"## {dev.name} ({dev.kind}, id {dev.id}" + (f", {mem / 2**30:.1f} GiB" if mem else "") + ")")
        extra = {k: v for k, v in dev.specs.items() if k not in ("id", "kind", "name", "memory_bytes", "unknown")}
        unknown = dev.specs.get("unknown") or {}
        if extra:
            lines.append("")
            lines.append("; ".join(f"{k}: {_spec(v, unknown.get(k))}" for k, v in extra.items()))
        lines += ["", "| sensor | quantity | status | value | source | scope | kind | note / how to enable |",
                  "|---|---|---|---:|---|---|---|---|"]
        for row in d.sensors:
            s, first = row.info, (row.readings or (None,))[0]
            vals = reading(first.value, first.unit, first.quantity or "") if first is not None else ""
            status = ("available" if row.readings is not None else "unavailable") + (" (total)" if s.total else "")
            if row.check is not None:
                status += f"; check: {row.check.status}"
            note = s.note or ""
            if first is not None and first.value is None and first.reason:
                note = str(first.reason)
            if row.readings is None:
                note = f"{s.reason}" + (f" — {s.hint}" if s.hint else "")
            lines.append(f"| {s.name} | {s.quantity} | {status} | {vals} | {s.source} | {s.scope} | {s.kind} | {note} |")
        if d.load is not None:
            lines += ["", d.load.line()]
        lines.append("")
    return "\n".join(lines)


def run(args) -> int:
    from edgeprof import home
    from edgeprof.engine.device_choice import open_devices

    found = open_devices(home.sysroot(), args.cpu_tdp_w)
    try:
        desc = describe(found, check=args.check)
        if args.probe:
            from edgeprof.devices import probe

            from edgeprof.analysis.specs import probe_path, save_probe
            from edgeprof.errors import check_writable
            from edgeprof.home import home_fix

            for d in desc:
                if d.info.kind == "cpu":  # its first attempt is judged on the window the table shows
                    where = probe_path(d.info.id).parent  # a probe takes ~30 s: check first
                    check_writable(where, named=f"the probe folder {where}", fix=home_fix(where))
                    d.probe = probe.probe(before=d.load.window if d.load else None)
                    d.probe_path = str(save_probe(d.info.id, d.probe))
    finally:
        for d in found:
            d.close()
    if args.format == "json":
        print(json.dumps([d.to_dict() for d in desc], indent=2, default=str))
    else:
        print(markdown(desc))
        for d in desc:
            if d.probe:
                print(probe_lines(d))
                if d.probe_path.endswith(".contended.json"):
                    print("  rooflines keep using the quiet probe stored earlier (a contended probe never replaces it)")
    return 0
