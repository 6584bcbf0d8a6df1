"""``edgeprof devices``: the detected devices and every sensor with its status and provenance."""
from __future__ import annotations

import argparse
import json
import sys

from edgeprof.commands.common import add_format

HELP = "list this machine's devices and sensors (status, source, measured/estimated)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_format(p, ("md", "json"))
    p.add_argument("--json", dest="format", action="store_const", const="json", help="alias of -o json")
    p.add_argument("--check", action="store_true", help="read every sensor twice and print a verdict per sensor")
    p.add_argument("--probe", action="store_true", help="measure memory bandwidth and matrix FLOP/s and store them")
    p.add_argument("--cpu-tdp-w", type=float, default=None, help="TDP for the CPU power estimate")


def describe(found: list, check: bool = False, window_s: float = 0.3, meter=None) -> list[dict]:
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
        sensors = []
        verdicts = {}
        if check:
            from edgeprof.devices.check import check as run_check

            verdicts = {v.sensor: v.to_dict() for v in run_check(d)}
        t_ns = time.monotonic_ns()
        for s in d.sensors():
            row = s.info.to_dict()
            row["status"] = "available" if s.available else "unavailable"
            if s.available:
                row["readings"] = [{"sensor": r.sensor, "quantity": r.quantity, "value": r.value, "unit": r.unit,
                                    "reason": r.reason, "note": r.note} for r in s.read(t_ns)]
            if s.info.name in verdicts:
                row["check"] = verdicts[s.info.name]
            sensors.append(row)
        entry = {"device": info.to_dict(), "sensors": sensors}
        if window is not None and info.kind == "cpu":
            status, why = judge([window])
            entry["load"] = {"status": status, "why": why, "window": window}
        out.append(entry)
    return out


def load_line(load: dict) -> str:
    """``machine load over these 0.30 s: quiet — 3 % of all cores busy; ...`` over the window the
    table's readings span, judged as every bench row and probe is."""
    w, status = load["window"], load["status"]
    busy = w.get("busy_fraction")
    return (f"machine load over these {w['window_s']:.2f} s: {status if status == 'quiet' else status.upper()} — "
            + ("" if busy is None else f"{100 * busy:.0f} % of all cores busy; ")
            + f"{load['why']} (the rule of every bench row and probe)")


def _spec(v, why: str | None) -> str:
    """A device figure: lists joined; a figure read nowhere says ``unknown (why)``, never ``None``."""
    if v is None:
        return f"unknown ({why})" if why else "unknown"
    return ", ".join(map(str, v)) if isinstance(v, list) else str(v)


def _fmt(v) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def markdown(desc: list[dict]) -> str:
    from edgeprof.views.tui.fmt import reading  # a reading in a unit people read, as the live view shows it

    lines = []
    for d in desc:
        dev = d["device"]
        mem = dev.get("memory_bytes")
        lines.append(f"## {dev['name']} ({dev['kind']}, id {dev['id']}" + (f", {mem / 2**30:.1f} GiB" if mem else "") + ")")
        extra = {k: v for k, v in dev.items() if k not in ("id", "kind", "name", "memory_bytes", "unknown")}
        unknown = dev.get("unknown") or {}
        if extra:
            lines.append("")
            lines.append("; ".join(f"{k}: {_spec(v, unknown.get(k))}" for k, v in extra.items()))
        lines += ["", "| sensor | quantity | status | value | source | scope | kind | note / how to enable |",
                  "|---|---|---|---:|---|---|---|---|"]
        for s in d["sensors"]:
            vals = ", ".join(reading(r["value"], r["unit"], r.get("quantity") or "") for r in s.get("readings", [])[:1])
            status = s["status"] + (" (total)" if s.get("total") else "")
            if s.get("check"):
                status += f"; check: {s['check'].get('status')}"
            note = s.get("note") or ""
            first = (s.get("readings") or [{}])[0]
            if first.get("value") is None and first.get("reason"):
                note = str(first["reason"])
            if s["status"] != "available":
                note = f"{s.get('reason')}" + (f" — {s['hint']}" if s.get("hint") else "")
            lines.append(f"| {s['name']} | {s['quantity']} | {status} | {vals} | {s['source']} | {s['scope']} | "
                         f"{s['kind']} | {note} |")
        if d.get("load"):
            lines += ["", load_line(d["load"])]
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
                if d["device"]["kind"] == "cpu":  # its first attempt is judged on the window the table shows
                    where = probe_path(d["device"]["id"]).parent  # a probe takes ~30 s: check first
                    check_writable(where, named=f"the probe folder {where}", fix=home_fix(where))
                    d["probe"] = probe.probe(before=(d.get("load") or {}).get("window"))
                    d["probe_path"] = str(save_probe(d["device"]["id"], d["probe"]))
    finally:
        for d in found:
            d.close()
    if args.format == "json":
        print(json.dumps(desc, indent=2, default=str))
    else:
        print(markdown(desc))
        for d in desc:
            if d.get("probe"):
                bw, fl = d["probe"]["bandwidth"], d["probe"]["flops"]
                from edgeprof.devices.probe import probe_label

                print(f"probe ({d['device']['name']}): memory bandwidth {_fmt(bw.get('value'))} GB/s, "
                      f"matrix fp32 {_fmt(fl.get('value'))} {fl.get('unit', '')} — measured, "
                      f"{probe_label(d['probe'])}, stored in {d['probe_path']}")
                if d["probe"].get("quality") != "quiet":
                    print(f"  {d['probe'].get('quality_note')}")
                if d["probe_path"].endswith(".contended.json"):
                    print("  rooflines keep using the quiet probe stored earlier (a contended probe never replaces it)")
    return 0
