"""A run started from the TUI on another machine over SSH (the new-run screen's host field, or
``edgeprof tui --host USER@BOARD[:PORT] MODEL``): ``bench --host``'s remote run
(``fleet/hostbench.remote_run``), driven on an asyncio loop in a thread of its own.

The board runs the same session as a local bench and streams the same typed events back; they go
to this run's queue exactly as a local run's do, so the live screen, the power chart and the
server panel show a board's run as they show a local one. Records, samples, env and plan are
copied into the local run directory as ``bench --host`` copies them; after the app the command
prints the rows and ends as ``bench --host`` ends (``hostbench.finish``: the resume command after
an interruption or a board cut off).
"""
from __future__ import annotations

import asyncio
import traceback

from edgeprof.engine import events as ev
from edgeprof.views.tui.runner import OwnRun


class HostRun(OwnRun):
    """One remote run: ``stage`` is ``preparing`` while it connects and sends the model, then
    ``running`` from the board's first event, then ``done`` (finished or cancelled cleanly) or
    ``failed`` (refused, unreachable, cut off; ``error`` says why in one line)."""

    @classmethod
    def of(cls, opts, host: str | None, ssh=None) -> "HostRun":
        """The run of ``opts`` on ``host`` (or of ``opts.resume``, a run directory of a remote run),
        not started. Raises ``UsageError`` (a bad host, a run directory in use)."""
        from edgeprof.fleet.hostbench import remote_run
        from edgeprof.fleet.ssh import SshOptions

        return cls(remote_run(opts, host, ssh or SshOptions(), samples=True))

    def __init__(self, remote):
        super().__init__("edgeprof-tui-host")
        self.remote = remote                 # fleet.remote.RemoteRun
        self.host = str(remote.spec.target)
        self.ended = None                    # fleet.remote.Ended once over
        self._loop: asyncio.AbstractEventLoop | None = None
        remote.fanout.add(self._listen)
        remote.note = self.note

    def start(self) -> "HostRun":
        self.note(f"connecting to {self.host}…")
        return super().start()

    def _listen(self, e: ev.Event) -> None:
        if self.stage == "preparing" and isinstance(e, ev.RunStarted):
            self.stage = "running"
        self.events.append(e)

    def _main(self) -> None:
        async def main():
            self._loop = asyncio.get_running_loop()
            if self._cancel:      # cancelled before the loop ran: the remote run ends at its first check
                self.remote.cancel()
            return await self.remote.run()

        try:
            self.ended = asyncio.run(main())
        except Exception as exc:  # noqa: BLE001 - shown on screen and kept, never a frozen UI
            self.error, self.stage = f"{type(exc).__name__}: {exc}", "failed"
            self.note("internal error:\n" + traceback.format_exc(limit=6))
            return
        self.records = self.remote.records()
        if self.ended.state in ("done", "interrupted"):
            self.stage = "done"
        else:
            self.error, self.stage = self.ended.message, "failed"
            self.events.append(ev.RunNotice(message=f"{self.ended.state}: {self.ended.message}", level="warning"))

    def control(self, what: str) -> str:
        """``cancel`` (or ``interrupt``: a cancel that ends like bench's Ctrl-C) asks the board to
        stop cleanly; its running case is recorded as cancelled there and copied here."""
        if self.stage not in ("preparing", "running"):
            return "the run has ended"
        if what not in ("cancel", "interrupt"):
            return f"this run is on {self.host}: x cancels it (pause and skip are for runs on this machine)"
        self.interrupted = self.interrupted or what == "interrupt"
        self._cancel = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.remote.cancel)
        return f"cancelling on {self.host}: the running case is recorded as cancelled, later cases do not start"
