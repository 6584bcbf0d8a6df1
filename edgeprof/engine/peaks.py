"""Whether a bench probes this machine's peaks: the engine's decision, not the comparison's.

The probe (devices/probe.py) takes seconds of memory-bandwidth and matrix work, so it is run from
the engine, once per device, and stored; the comparison layer only reads tables and stored probes
(compare/enrich.py ``table_spec``). A CPU with no bandwidth known is probed; so is one whose stored
probe recorded no load (taken before edgeprof measured it: it may be the several-fold-low figure of
a busy machine, and every roofline on it would be inflated as much), and one whose stored probe was
contended when this machine is quiet now.
"""
from __future__ import annotations

from typing import Any, Callable

from edgeprof.analysis import specs
from edgeprof.compare.enrich import device_table
from edgeprof.engine.fanout import Fanout


def device_spec(device_info: dict, log: Callable[[str], None] = lambda s: None,
                probe_if_missing: bool = True, run_probe: Callable[[], dict] | None = None,
                quiet_now: Callable[[], bool] | None = None) -> dict[str, Any] | None:
    """The device's peaks, probing this machine first when the module docstring's rule says so
    (``run_probe`` and ``quiet_now`` are injectable for tests)."""
    table = device_table(log)
    spec = specs.device_spec(device_info, table=table)
    if not probe_if_missing or device_info.get("kind") != "cpu":
        return spec
    why = probe_reason(device_info, spec, quiet_now or _quiet_now)
    if why is None:
        return spec
    if run_probe is None:
        from edgeprof.devices.probe import probe as run_probe
    log(why)
    specs.save_probe(device_info["id"], run_probe())
    return specs.device_spec(device_info, table=table)  # the stored one: a busy re-probe never displaces a quiet one


def probe_reason(device_info: dict, spec: dict | None, quiet_now: Callable[[], bool]) -> str | None:
    """Why this CPU must be probed now (the line logged), or None to use what is known."""
    stored = specs.load_probe(device_info["id"]) if device_info.get("id") else None
    if stored is not None and not stored.get("quality"):
        return (f"the stored probe ({str(stored.get('measured_at') or '?')[:10]}) recorded no machine load, so its "
                f"figures may be several times low: probing again (stored)")
    if stored is not None and stored.get("quality") == "contended" and quiet_now():
        return (f"the stored probe ({str(stored.get('measured_at') or '?')[:10]}) was taken on a busy machine and "
                f"this one is quiet now: probing again (stored)")
    if spec is None or not spec.get("peak_mem_bandwidth_gbs"):
        return "no bandwidth/peak known for this CPU: probing memory bandwidth and matrix FLOP/s once (stored)"
    return None


def _quiet_now(seconds: float = 0.3) -> bool:
    """Whether other processes leave the cores alone right now (a short load window)."""
    from edgeprof.devices.load import QUIET, LoadMeter, judge

    meter = LoadMeter()
    try:
        return judge([meter.measure(seconds)])[0] == QUIET
    finally:
        close = getattr(getattr(meter, "stat", None), "close", None)
        if close:
            close()


def enricher(log: Callable[[str], None], run_probe: Callable[[], dict] | None = None,
             predicted_server: str = "h100,h200"):
    """The bench's enricher: roofline and server reference, with this module's probe decision
    (``run_probe``: how the probe runs; a session passes ``announced_probe``) and the server
    classes predicted when no measured row matches (``--predicted-server``)."""
    from edgeprof.compare.enrich import Enricher

    return Enricher(log=log, spec=lambda device: device_spec(device, log, run_probe=run_probe),
                    predicted_server=predicted_server)


def announced_probe(fanout: Fanout) -> Callable[[], dict]:
    """The hardware probe (about 30 s on a machine's first run) between two notices a live view
    shows as a state — ``data={"probe": "running"}`` before, ``{"probe": "done", "seconds": s}``
    after — so a first run does not look frozen while its first row waits for the peaks."""
    def run() -> dict:
        import time

        from edgeprof.devices.probe import probe

        t0 = time.monotonic()
        fanout.notice("probing this machine's memory bandwidth and FLOP/s (once, stored for later runs); the "
                      "row is written after it", data={"probe": "running"})
        try:
            return probe()
        finally:
            took = time.monotonic() - t0
            fanout.notice(f"probe done in {took:.0f} s", data={"probe": "done", "seconds": round(took, 1)})
    return run

