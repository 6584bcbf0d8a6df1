"""A run as the TUI holds it: prepared and run on a thread of its own, its events queued and folded
into a :class:`RunState` on the UI's timer.

Why a queue instead of ``call_from_thread`` per event (STYLE T1): ``call_from_thread`` blocks the
calling thread until the UI has run the callback, and the callers here are the sweep (between a
worker's events) and the sampler (20 Hz): neither may ever wait for a redraw. ``deque.append`` is
atomic, so listeners append and the UI drains at its refresh rate.

Why a plain thread instead of a Textual thread worker: after the app has exited (``q`` during a
case) the sweep must still write the cancelled row and index the run before the command prints the
table, so the command joins this thread; a Textual worker does not outlive its app.
"""
from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from pathlib import Path

from edgeprof.engine import events as ev
from edgeprof.errors import EdgeprofError
from edgeprof.views.tui.state import RunState


class Run:
    """What a screen reads of a run: its state, its stage and its controls."""

    replay = False
    own = False      # started by this app (here or on a host): quitting cancels it and waits for its row

    def __init__(self) -> None:
        self.state = RunState()
        self.stage = "preparing"          # preparing | running | done | failed
        self.error: str | None = None
        self.records: list = []
        self.t_start = time.monotonic()
        self.events: deque = deque()

    @property
    def run_dir(self) -> Path | None:
        return Path(self.state.run_dir) if self.state.run_dir else None

    def drain(self) -> list[ev.Event]:
        """Fold every queued event into the state; returns them (oldest first)."""
        out = []
        while True:
            try:
                e = self.events.popleft()
            except IndexError:
                return out
            self.state.apply(e)
            out.append(e)

    def control(self, what: str) -> str:   # pragma: no cover - overridden
        return "this run cannot be controlled"


class OwnRun(Run):
    """A run this app started (here, or on a host: ``hostrun.HostRun``) on a thread of its own:
    quitting cancels it and the command joins it, so its cancelled row is written before the
    table is printed."""

    own = True

    def __init__(self, thread_name: str):
        super().__init__()
        self.exc: EdgeprofError | None = None
        self.from_command_line = False
        self.interrupted = False          # Ctrl-C or a stop signal: the command exits 130 with the resume command
        self._cancel = False
        self._thread = threading.Thread(target=self._main, name=thread_name, daemon=True)

    def start(self) -> "OwnRun":
        self._thread.start()
        return self

    def note(self, message: str) -> None:
        self.events.append(ev.RunNotice(message=message))

    def _main(self) -> None:   # pragma: no cover - overridden
        raise NotImplementedError

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)


class RunController(OwnRun):
    """A run started from the TUI (home screen or command line): the same session, files and
    history entry as ``edgeprof bench``."""

    def __init__(self, opts=None, session=None):
        super().__init__("edgeprof-tui-run")
        self.opts, self.session, self.sweep = opts, session, None

    def _main(self) -> None:
        from edgeprof.engine.fanout import Fanout
        from edgeprof.engine.session import RunSession

        try:
            if self.session is None:
                self.note("resolving the model and opening the devices…")
                self.session = RunSession.for_bench(self.opts, note=self.note, fanout=Fanout())
            else:
                self.session.note = self.note
            if self._cancel:
                self.session.interrupted = self.interrupted
                self.session.close()
                self.stage = "done"
                return
            self.session.fanout.want_samples = True
            self.session.fanout.add(self.events.append)
            self.sweep = self.session.start(quiet_workers=True)  # a worker writing to the terminal tears the screen
            self.stage = "running"
            self.records = self.session.run()
            self.stage = "done"
        except EdgeprofError as exc:
            self.exc, self.error, self.stage = exc, str(exc), "failed"
        except Exception as exc:  # noqa: BLE001 - shown on screen and kept, never a frozen UI
            self.error = f"{type(exc).__name__}: {exc}"
            self.stage = "failed"
            self.note("internal error:\n" + traceback.format_exc(limit=6))

    def control(self, what: str) -> str:
        """``pause`` (toggles; the running case finishes first), ``skip``, ``cancel``, or
        ``interrupt`` (a cancel that ends like bench's Ctrl-C: exit 130 and the resume command)."""
        sw = self.sweep
        if self.stage not in ("preparing", "running"):
            return "the run has ended"
        if what == "interrupt":
            self.interrupted = True
            if self.session is not None:
                self.session.interrupted = True
            what = "cancel"
        if what == "cancel":
            self._cancel = True
            if sw is not None:
                sw.cancel()
            return "cancelling: the running case is recorded as cancelled, later cases do not start"
        if sw is None:
            return "the run is still being prepared"
        if what == "skip":
            sw.skip()
            return "skipping the running case (recorded as skipped)"
        if sw.paused:
            sw.resume()
            self.state.paused = False
            return "resumed"
        sw.pause()
        self.state.paused = True
        return "paused: the running case finishes, the next one waits (p resumes)"


class MonitorRun(Run):
    """The device's sensors between runs (``engine.monitor.Monitor``): a state with the device
    and its live ``sample`` events, no cases. The devices are opened on a thread of its own (that
    takes a moment); ``stop()`` closes them, also when it comes before they are open."""

    def __init__(self, root: Path):
        super().__init__()
        self.stage = "monitor"
        self._mon = None
        self._stopped = False
        self._lock = threading.Lock()
        threading.Thread(target=self._open, args=(root,), name="edgeprof-tui-monitor", daemon=True).start()

    def _open(self, root: Path) -> None:
        from edgeprof.engine.monitor import Monitor

        try:
            mon = Monitor(root, self.events.append).start()
        except EdgeprofError as exc:
            self.error = str(exc)
            return
        with self._lock:
            if self._stopped:
                mon.stop()
                return
            self._mon = mon
            self.state.device, self.state.power_label = mon.device, mon.power_label

    def stop(self) -> None:
        with self._lock:
            self._stopped, mon, self._mon = True, self._mon, None
        if mon is not None:
            mon.stop()

    def control(self, what: str) -> str:
        return "no run: the sensors are read live until one starts"


class ReplayRun(Run):
    """A recorded event stream (``Event.to_dict`` lines), for snapshots, demos and the README
    picture; the clock stops at the last event shown."""

    replay = True

    def __init__(self, events: list[ev.Event]):
        super().__init__()
        self.events.extend(events)
        self.drain()
        self.stage = "done" if self.state.ended else "running"
        self.records = list(self.state.finished)

    @classmethod
    def from_file(cls, path: str | Path, upto: int | None = None) -> "ReplayRun":
        import json

        lines = Path(path).read_text().splitlines()
        events = [ev.from_dict(json.loads(x)) for x in lines if x.strip()]
        return cls(events[:upto] if upto else events)

    def control(self, what: str) -> str:
        return "this is a recorded run (replay): nothing to pause, skip or cancel"
