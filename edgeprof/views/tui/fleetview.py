"""A fleet as the TUI holds it (``edgeprof tui --fleet FLEET.toml``): one ``BoardRun`` per board —
a ``runner.Run`` whose events come from that board's remote run, so the live screen, the power
chart and the server panel show a board exactly as a local run — and the fleet screen's one line
per board (``board_rows``), computed from each board's folded state and the laptop's clock.

The boards run on one asyncio loop in a thread of its own (``FleetController``); listeners only
append to each board's queue (the UI drains them on its timer, as for a local run). A board that
stops answering keeps its last values, marked stale with the time since its last event.
"""
from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from edgeprof.engine import events as ev
from edgeprof.engine.fanout import Fanout
from edgeprof.views.tui.runner import Run

STALE_S = 10.0          # a running board silent this long is shown greyed, with the time since
FAILED = ("cut-off", "unreachable", "refused", "busy", "failed")


class BoardRun(Run):
    """One board of a fleet: its events, when it last spoke, how it ended."""

    def __init__(self, name: str, target: str, labels: dict | None = None):
        super().__init__()
        self.name, self.target, self.labels = name, target, dict(labels or {})
        self.stage = "connecting"
        self.last_seen: float | None = None      # time.monotonic() of its last event
        self.ended = None                         # remote.Ended
        self.remote = None                        # remote.RemoteRun while it runs
        self.fleet: "FleetController | None" = None

    @property
    def alive(self) -> bool:
        """The fleet still runs (``--exit-when-done`` waits for every board, not this one)."""
        return self.fleet is not None and self.fleet.alive

    def listen(self, e: ev.Event) -> None:
        self.last_seen = time.monotonic()
        if self.stage == "connecting":
            self.stage = "running"
        self.events.append(e)

    def control(self, what: str) -> str:
        if what != "cancel":
            return f"{self.name} runs on a board: cancel it (x), pause and skip are for local runs"
        if self.fleet is None or self.stage not in ("connecting", "running"):
            return f"{self.name}: nothing running"
        self.fleet.cancel(self)
        return f"cancelling {self.name}: its running case is recorded as cancelled, later cases do not start"


class FleetController:
    """Runs a fleet's boards at once on a thread; ``boards`` are what the screens read."""

    def __init__(self, fleet, fleet_dir: Path, resume: bool = False):
        from edgeprof.fleet import fleetrun

        self.fleet, self.dir, self.resume = fleet, Path(fleet_dir), resume
        self.boards = [BoardRun(b.name, str(b.target), b.labels) for b in fleet.boards]
        for b in self.boards:
            b.fleet = self
        self.runs = fleetrun.runs(fleet, self.dir, resume, self._fanout, note=self._note, samples=True)
        for b in self.boards:
            if not any(r.spec.name == b.name for r in self.runs):
                b.stage = "done"   # a resume with nothing left on this board
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._main, name="edgeprof-tui-fleet", daemon=True)

    def board(self, name: str) -> BoardRun:
        return next(b for b in self.boards if b.name == name)

    def _fanout(self, name: str) -> Fanout:
        return Fanout([self.board(name).listen])

    def _note(self, message: str) -> None:
        name = message.split(":", 1)[0]
        if any(b.name == name for b in self.boards):
            self.board(name).events.append(ev.RunNotice(message=message))

    def start(self) -> "FleetController":
        self._thread.start()
        return self

    def _main(self) -> None:
        async def one(r) -> None:
            b = self.board(r.spec.name)
            b.remote = r
            ended = await r.run()
            b.ended, b.remote = ended, None
            b.stage = "done" if ended.state == "done" else "failed"
            if ended.state != "done":
                b.error = f"{ended.state}: {ended.message}"
                b.events.append(ev.RunNotice(message=b.error, level="warning"))

        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            await asyncio.gather(*(one(r) for r in self.runs))
        asyncio.run(main())

    def cancel(self, board: BoardRun | None = None) -> None:
        """Ask one board (or every board) to stop cleanly, from any thread."""
        for b in [board] if board else self.boards:
            r, loop = b.remote, self.loop
            if r is not None and loop is not None:
                loop.call_soon_threadsafe(r.cancel)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def drain(self) -> None:
        for b in self.boards:
            b.drain()


@dataclass(frozen=True)
class BoardRow:
    """One line of the fleet screen."""

    name: str
    target: str
    state: str
    case: str
    tps: float | None
    power_w: float | None
    temp_c: float | None
    since_s: float | None       # seconds since the board's last event
    stale: bool                 # greyed: silent while running, or ended badly


def board_rows(boards: list[BoardRun], now_s: float | None = None) -> list[BoardRow]:
    now_s = time.monotonic() if now_s is None else now_s
    return [_row(b, now_s) for b in boards]


def _row(b: BoardRun, now_s: float) -> BoardRow:
    st = b.state
    c = st.case
    if c is not None:
        case = f"{c.index}/{c.total} {c.label}"
    elif st.total:
        case = f"{st.done_before + len(st.finished)}/{st.total} done"
    else:
        case = ""
    tps = c.live_tps if c is not None else None
    if tps is None and st.finished:
        m = st.finished[-1].metric("decode_tokens_per_s")
        tps = m.value if m else None
    temps = [r.value for r in st.readings.values() if r.quantity == "temperature_c" and r.value is not None]
    since = None if b.last_seen is None else max(0.0, now_s - b.last_seen)
    state = b.ended.state if b.ended is not None else b.stage
    stale = state in FAILED or (b.stage == "running" and since is not None and since > STALE_S)
    return BoardRow(b.name, b.target, state, case, tps, st.power.last, max(temps) if temps else None, since, stale)
