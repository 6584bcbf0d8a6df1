"""Whether and when a bench probes this machine's peaks: the engine's decision, not the comparison's.

The probe (devices/probe.py) takes 30 s of memory-bandwidth and matrix work on a quiet machine and
up to 90 s on a busy one (its retries), so it is run from the engine, once per device, and stored;
the comparison layer only reads tables and stored probes (compare/enrich.py ``table_spec``).

The rule (issue 20 item 5, and its re-take rate):

1. A CPU with no bandwidth known is probed before its first row is written (once; stored).
2. A stored probe that recorded no load (taken before edgeprof measured it; it may be the
   several-fold-low figure of a busy machine) is probed again, once: the new one records its load.
3. A stored probe taken on a busy machine (``contended``) is used, labelled CONTENDED, by the rows
   of the run, and taken again only ``after`` the sweep (never between two of its cases: 30–90 s of
   probe heat and wait inside a sweep), and only when all of these hold —
   - it is older than ``RETAKE_PERIOD_S`` (a day): on a machine that is never quiet for long, the
     re-take is paid at most once a day however many benches run (a re-take that is contended
     again is stored with its own date, which restarts the day);
   - this bench's own idle-baseline window lasted at least ``MIN_QUIET_S`` and was quiet by the one
     rule for "quiet" (devices/load.py ``judge``) — not a 0.3 s glance that any gap between two
     other jobs passes;
   - the run finished (an interrupted run re-takes nothing).
   A quiet re-take is stored and every later roofline uses it; a contended one never displaces a
   quiet one (analysis/specs.py ``save_probe``).
4. ``edgeprof devices --probe`` always probes: the user asked.

Every probe a bench takes is announced with its reason; a run whose rooflines rest on a contended
probe says so once, with when it will be re-taken and how to re-take it now.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from edgeprof.analysis import specs
from edgeprof.analysis.spec_types import DeviceSpec, ProbeResult
from edgeprof.compare.enrich import device_table
from edgeprof.engine.fanout import Fanout
from edgeprof.results.conditions import IdleBaseline
from edgeprof.results.schema import DeviceRef

#: a contended probe is re-taken at most once per this many seconds
RETAKE_PERIOD_S = 24 * 3600.0
#: the bench's idle window must be at least this long, and quiet, for a re-take
MIN_QUIET_S = 2.0

Log = Callable[[str], None]
Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def device_spec(device_info: DeviceRef, log: Log = lambda s: None, probe_if_missing: bool = True,
                run_probe: Callable[[], dict] | None = None) -> DeviceSpec | None:
    """The device's peaks, probing this machine first when rule 1 or 2 of the module docstring says
    so (``run_probe`` is injectable for tests); a contended probe is returned as stored."""
    table = device_table(log)
    spec = specs.device_spec(device_info, table=table)
    if not probe_if_missing or device_info.kind != "cpu":
        return spec
    why = probe_reason(device_info, spec)
    if why is None:
        return spec
    _take(device_info.id, why, log, run_probe)
    return specs.device_spec(device_info, table=table)  # the stored one: a busy re-probe never displaces a quiet one


def probe_reason(device_info: DeviceRef, spec: DeviceSpec | None) -> str | None:
    """Why this CPU must be probed before its first row (the line logged), or None to use what is known."""
    stored = specs.load_probe(device_info.id) if device_info.id else None
    if stored is not None and not stored.quality:
        return (f"the stored probe ({_date(stored)}) recorded no machine load, so its figures may be several "
                f"times low: probing again (stored)")
    if spec is None or not spec.peak_mem_bandwidth_gbs:
        return "no bandwidth/peak known for this CPU: probing memory bandwidth and matrix FLOP/s once (stored)"
    return None


def retake_reason(stored: ProbeResult | None, idle: IdleBaseline | None, now: datetime) -> str | None:
    """Why a contended ``stored`` probe is taken again after this sweep (rule 3), or None."""
    if stored is None or stored.quality != "contended":
        return None
    age_s = age_seconds(stored, now)
    if age_s is not None and age_s < RETAKE_PERIOD_S:
        return None
    window = idle.load if idle is not None else None
    if window is None or (window.window_s or 0.0) < MIN_QUIET_S or not quiet(window.to_dict()):
        return None
    age = "of unknown age" if age_s is None else f"{age_s / 3600:.0f} h old"
    return (f"the stored probe ({_date(stored)}, {age}) was taken on a busy machine and this bench's "
            f"{window.window_s:.1f} s idle window was quiet: probing again now that the sweep is over "
            f"(30–90 s; at most once a day; later runs use it)")


def contended_note(stored: ProbeResult, now: datetime) -> str:
    """The line a run prints once when its rooflines rest on a contended probe."""
    age_s = age_seconds(stored, now)
    due = ("after a bench whose idle window is quiet" if age_s is None or age_s >= RETAKE_PERIOD_S else
           f"after a quiet bench from {(RETAKE_PERIOD_S - age_s) / 3600:.0f} h on (at most once a day)")
    return (f"rooflines on this CPU rest on a probe taken on a busy machine, {stored.label}: its "
            f"peaks may be several times low; it is taken again {due}, or now with 'edgeprof devices --probe' "
            f"on a quiet machine")


def age_seconds(stored: ProbeResult, now: datetime) -> float | None:
    """Seconds since the probe was measured; None when its date is missing or unreadable."""
    try:
        when = datetime.fromisoformat(str(stored.measured_at))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (now - when).total_seconds()


def quiet(window: dict) -> bool:
    """The one rule for "quiet" (devices/load.py ``judge``) over one load window."""
    from edgeprof.devices.load import QUIET, judge

    return judge([window])[0] == QUIET


def _date(stored: ProbeResult) -> str:
    return stored.date


def _take(device_id: str, why: str, log: Log, run_probe: Callable[[], dict] | None) -> None:
    if run_probe is None:
        from edgeprof.devices.probe import probe as run_probe
    log(why)
    specs.save_probe(device_id, run_probe())


class Peaks:
    """A bench's peaks: ``spec`` for the enricher (rules 1–2, and rule 3's notice once per device),
    ``retake`` after the sweep (rule 3). ``clock`` is injectable so tests state the time."""

    def __init__(self, log: Log = lambda s: None, run_probe: Callable[[], dict] | None = None,
                 retake_probe: Callable[[], dict] | None = None, clock: Clock = _utcnow):
        self.log, self.run_probe, self.clock = log, run_probe, clock
        self.retake_probe = retake_probe or run_probe   # a session announces this one as "after the sweep"
        self.contended: dict[str, ProbeResult] = {}   # device id -> stored contended probe the rows rest on

    def spec(self, device_info: DeviceRef) -> DeviceSpec | None:
        out = device_spec(device_info, self.log, run_probe=self.run_probe)
        stored = specs.load_probe(device_info.id) if device_info.kind == "cpu" and device_info.id else None
        if stored is not None and stored.quality == "contended" and device_info.id not in self.contended:
            self.contended[device_info.id] = stored
            self.log(contended_note(stored, self.clock()))
        return out

    def retake(self, baselines: dict[str, IdleBaseline]) -> list[str]:
        """After a finished sweep: re-take each contended probe rule 3 allows; the device ids probed."""
        done = []
        for device_id in list(self.contended):
            why = retake_reason(specs.load_probe(device_id), baselines.get(device_id), self.clock())
            if why is None:
                continue
            try:
                _take(device_id, why, self.log, self.retake_probe)
            except KeyboardInterrupt:  # every row is written: a stopped re-take stores nothing, and the run ends
                self.log("probe re-take interrupted: nothing stored; the stored probe stays")
                break
            done.append(device_id)
        return done


def enricher(log: Log, run_probe: Callable[[], dict] | None = None, predicted_server: str = "h100,h200",
             peaks: Peaks | None = None):
    """The bench's enricher: roofline and server reference, with this module's probe decision
    (``peaks``, or one made from ``run_probe``: a session passes ``announced_probe``) and the server
    classes predicted when no measured row matches (``--predicted-server``)."""
    from edgeprof.compare.enrich import Enricher

    peaks = peaks or Peaks(log, run_probe)
    return Enricher(log=log, spec=peaks.spec, predicted_server=predicted_server)


def announced_probe(fanout: Fanout, after_sweep: bool = False) -> Callable[[], dict]:
    """The hardware probe (30–90 s) between two notices a live view shows as a state —
    ``data={"probe": "running", "after_sweep": …}`` before, ``{"probe": "done", "seconds": s}``
    after — so a first run does not look frozen while its first row waits for the peaks, and a
    finished run does not look hung while a contended probe is re-taken (``after_sweep``)."""
    def run() -> dict:
        import time

        from edgeprof.devices.probe import probe

        t0 = time.monotonic()
        fanout.notice("probing this machine's memory bandwidth and FLOP/s (stored for later runs); " +
                      ("every row is written already" if after_sweep else "the row is written after it"),
                      data={"probe": "running", "after_sweep": after_sweep})
        try:
            return probe()
        finally:
            took = time.monotonic() - t0
            fanout.notice(f"probe done in {took:.0f} s", data={"probe": "done", "seconds": round(took, 1)})
    return run
