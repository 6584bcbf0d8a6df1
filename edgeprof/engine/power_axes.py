"""Power settings as sweep axes (``--power-mode``, ``--gpu-power-limit``, ``--governor``,
``--jetson-clocks``) and the run context stamped on every row.

Why it is its own step: a setting outlives the case that set it. Before the first change of a knob
its original is written to the restore journal (``devices/knobs/journal.py``, fsynced); a case
whose setting differs from the one in force applies it, confirms it by reading it back, and — after
any change — waits until every thermal zone is back within ``--power-cooldown-c`` of the run's
start temperature (or ``--power-cooldown`` seconds, recorded), then the idle baseline is measured
again under the new setting. A refusal (no root) is that case's ``failed`` row naming the command
that grants it; the rest of the sweep goes on. ``restore`` puts every original back at the end of
the sweep, on Ctrl-C, SIGTERM and SIGHUP; after a SIGKILL the next edgeprof command does it from
the journal.

The context (``devices/context.py``) is read before and after every case; a power field that
changed during the case is a warning on the row. Stamped into ``Record.extra``: ``power`` (the
case's settings) and ``context`` (``results/runctx.py`` reads it).
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from edgeprof.devices.context import Context, is_power, read_context, temperatures
from edgeprof.devices.errors import DeviceError, NoPermission
from edgeprof.devices.knobs import AXES, Commands, Knob, open_knob
from edgeprof.devices.knobs.journal import NAME as JOURNAL, Journal
from edgeprof.devices.sysfs import FileReader
from edgeprof.engine.config import BenchOptions, Settings
from edgeprof.engine.launcher import Outcome
from edgeprof.errors import UsageError
from edgeprof.results.runctx import runtime_build
from edgeprof.results.schema import ErrorInfo, Record

Note = Callable[[str], None]


def commands_from_home(root: Path) -> Commands:
    """The commands knobs run: the real tools on ``/``, those named under ``[commands]`` in
    ``$EDGEPROF_HOME/config.toml`` (e.g. ``nvpmodel = ["sudo", "-n", "nvpmodel"]``, or a stand-in for
    a fixture tree)."""
    from edgeprof import home

    try:
        return Commands.for_root(root, home.config().get("commands") or {})
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def state_dir() -> Path:
    from edgeprof import home

    return home.home() / "power"


def power_plan(opts: BenchOptions, devices: list, root: Path) -> list[dict[str, str]]:
    """The power axes' cross product, each value resolved on this machine (``15W`` and ``0`` name
    the same mode); a value the machine does not offer, or an axis it lacks, is a usage error now."""
    given = [(axis, getattr(opts, axis)) for axis in AXES if getattr(opts, axis, None)]
    if not given:
        return [{}]
    commands = commands_from_home(root)
    values = []
    for axis, texts in given:
        flag = "--" + axis.replace("_", "-")
        try:
            knob = open_knob(axis, devices, root, commands, state_dir())
            values.append(list(dict.fromkeys(knob.resolve(t) for t in texts)))
        except (DeviceError, ValueError) as exc:
            raise UsageError(f"{flag}: {exc}") from None
    names = [a for a, _ in given]
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def hottest(reader: FileReader) -> float | None:
    ctx = Context()
    temperatures(ctx, reader)
    temps = [v for k, v in ctx.values.items() if k.startswith("temp_c.")]
    return max(temps) if temps else None


@dataclass
class Applied:
    """What ``apply`` did before one case: the outcome of a case that must not run, the axes it
    changed, and the cool-down it waited (seconds, and why it ended)."""

    failure: Outcome | None = None
    changed: list[str] = field(default_factory=list)
    cooldown: dict[str, Any] | None = None


class PowerControl:
    """One run's power knobs and context reader (see the module docstring)."""

    def __init__(self, devices: list, root: Path, settings: Settings, commands: Commands, journal: Journal,
                 state: Path, note: Note = lambda s: None, write=None):
        self.devices, self.root, self.settings = devices, Path(root), settings
        self.commands, self.journal, self.state, self.note, self.write = commands, journal, state, note, write
        self.reader = FileReader(root)
        self.knobs: dict[str, Knob | DeviceError] = {}
        self.original: dict[str, dict[str, Any]] = {}
        self.in_force: dict[str, str] = {}
        self.told: set[str] = set()
        self.start_c: float | None = None

    @classmethod
    def for_run(cls, devices: list, root: Path, settings: Settings, run_dir: Path, note: Note) -> "PowerControl":
        from edgeprof import home

        return cls(devices, root, settings, commands_from_home(root),
                   Journal(home.home() / JOURNAL, root, str(run_dir)), state_dir(), note)

    # -- context ---------------------------------------------------------------------------
    def read(self) -> Context:
        if self.start_c is None:
            self.start_c = hottest(self.reader)
        return read_context(self.devices, self.root, self.commands)

    def stamp(self, rec: Record, before: Context | None, case_power: dict, applied: Applied | None) -> Record:
        """The record with its context (before, what changed during the case, end temperatures,
        runtime build) and its power settings; a power field that changed is a warning."""
        if before is None:
            return rec
        after = self.read()
        keys = sorted(set(before.values) | set(after.values))
        changed = {k: [before.values.get(k), after.values.get(k)] for k in keys
                   if is_power(k) and before.values.get(k) != after.values.get(k)}
        ctx = {"fields": before.values, "unknown": before.unknown, "changed": changed,
               "end_temp_c": {k[7:]: v for k, v in after.values.items() if k.startswith("temp_c.")},
               "runtime_build": runtime_build(rec),
               **({"cooldown": applied.cooldown} if applied and applied.cooldown else {})}
        warnings = rec.warnings
        if changed:
            warnings += ("power context changed during the case: " +
                         ", ".join(f"{k} {a} -> {b}" for k, (a, b) in changed.items()),)
        extra = {**rec.extra, "context": ctx, **({"power": dict(case_power)} if case_power else {})}
        return replace(rec, warnings=warnings, extra=extra)

    # -- settings --------------------------------------------------------------------------
    def knob(self, axis: str) -> Knob:
        if axis not in self.knobs:
            try:
                self.knobs[axis] = open_knob(axis, self.devices, self.root, self.commands, self.state, self.write)
            except DeviceError as exc:
                self.knobs[axis] = exc
        k = self.knobs[axis]
        if isinstance(k, DeviceError):
            raise k
        return k

    def apply(self, power: dict[str, str], stopped: Callable[[], bool] = lambda: False) -> Applied:
        """Put the case's settings in force (journal first, read back after); see the module docstring."""
        out = Applied()
        if self.start_c is None:  # the run's start temperature, before anything changes
            self.start_c = hottest(self.reader)
        for axis in [a for a in AXES if a in power]:
            value = power[axis]
            if self.in_force.get(axis) == value:
                continue
            try:
                knob = self.knob(axis)
                if axis not in self.original:  # the original, journaled before anything changes
                    snap = knob.snapshot()
                    self.journal.add(knob.journal_entry(snap))
                    self.original[axis] = snap
                    self.in_force[axis] = str(snap.get("value"))
                if not knob.matches(value, knob.current()):
                    self.in_force.pop(axis, None)
                    knob.apply(value)
                    out.changed.append(axis)
                now = knob.current()
                if not knob.matches(value, now):
                    raise DeviceError(f"read back as {now!r} after setting it")
                self.in_force[axis] = value
            except DeviceError as exc:
                out.failure = self._refused(axis, value, exc)
                return out
        if out.changed:
            out.cooldown = self.cool_down(stopped)
            # a log line per change: the idle baseline measured next is this setting's, and a log
            # without the live line (not a terminal) would otherwise not say which setting it is
            self.note(f"set {', '.join(f'{a} {power[a]}' for a in out.changed)} (read back); cool-down "
                      f"{out.cooldown['waited_s']:g} s: {out.cooldown['ended']}")
        return out

    def _refused(self, axis: str, value: str, exc: DeviceError) -> Outcome:
        flag = "--" + axis.replace("_", "-")
        hint = exc.hint or ""
        grant = isinstance(exc, NoPermission)
        message = f"{flag} {value} not set: {exc}" + (f"; grant it with: {hint} (or run edgeprof as root)" if grant
                                                       else f"; {hint}" if hint else "")
        if (axis, value) not in self.told:
            self.told.add((axis, value))  # type: ignore[arg-type]
            self.note(message)
        return Outcome(error=ErrorInfo("power_setting", message, "power", extra={"grant": hint} if grant else {}))

    def cool_down(self, stopped: Callable[[], bool]) -> dict[str, Any]:
        """Wait until the hottest thermal zone is within ``power_cooldown_c`` of the run's start
        temperature, or ``power_cooldown_s`` at most; what happened, for the row."""
        s, t0 = self.settings, time.monotonic()
        start = self.start_c
        if start is None:
            return {"waited_s": 0.0, "ended": "no thermal zone to gate on: no wait"}
        limit = start + s.power_cooldown_c
        while True:
            now_c = hottest(self.reader)
            waited = time.monotonic() - t0
            if now_c is None or now_c <= limit:
                return {"waited_s": round(waited, 2), "ended": f"back within {s.power_cooldown_c:g} C of the start "
                                                               f"({now_c} C <= {start} + {s.power_cooldown_c:g} C)"}
            if waited >= s.power_cooldown_s or stopped():
                return {"waited_s": round(waited, 2), "ended": f"timeout at {now_c} C (start {start} C, limit "
                                                               f"{limit:g} C) after {s.power_cooldown_s:g} s",
                        "timed_out": True}
            time.sleep(min(1.0, max(0.05, s.power_cooldown_s - waited)))

    def restore(self) -> list[str]:
        """Every original back (last axis first); one line per knob. A knob that cannot be put
        back stays in the journal, for the next command to try again."""
        lines = []
        for axis in reversed([a for a in AXES if a in self.original]):
            snap, knob = self.original[axis], self.knobs.get(axis)
            try:
                if not isinstance(knob, Knob):
                    raise DeviceError("its knob is gone")
                if not knob.matches(str(snap.get("value")), knob.current()) or axis == "governor":
                    knob.restore(snap)
                self.journal.drop(axis, knob.device_id)
                lines.append(f"restored {knob.describe(snap)}")
            except DeviceError as exc:
                lines.append(f"could not restore {axis} {snap.get('value')}: {exc}"
                             + (f"; {exc.hint}" if exc.hint else "") + " (kept in the journal: the next edgeprof "
                                                                     "command tries again)")
            del self.original[axis]
            self.in_force.pop(axis, None)
        return lines
