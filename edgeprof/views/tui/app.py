"""``edgeprof tui``: the front door. Screens (modes) over runs that fold the event stream: home /
new run, live, history, references, export and sensors; row detail, compare and help on top.

The app never reads hardware: a run's state comes from its events (``runner.Run``); the device
shown before a run comes from the engine's device detection (``open_devices``: what is there and
which sensors are unavailable and why — nothing is sampled). One timer refreshes the screen
(``refresh_hz``, default 2 Hz) and drains the queued events; nothing else wakes the UI.
"""
from __future__ import annotations

import importlib
import time
from datetime import datetime
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches

from edgeprof.results.described import DeviceDesc
from edgeprof.views.tui import homeform, refview
from edgeprof.views.tui.runner import MonitorRun, Run, RunController
from edgeprof.views.tui.theme import THEMES, cursor_colours

DEFAULT_REFRESH_HZ = 2.0
# the app's letter keys: while a text field has focus they are the field's text, not actions
FIELD_KEYS = ("quit", "help", "mode", "screenshot", "toggle_theme")


class EdgeprofApp(App):
    TITLE = "edgeprof"
    # the footer's key letters in the theme's text colour: its accent is unreadable in the light theme
    CSS = "FooterKey .footer-key--key { color: $foreground; text-style: bold; }"
    MODES = {name: (lambda mod=mod, cls=cls: getattr(importlib.import_module(f"edgeprof.views.tui.screens.{mod}"),
                                                      cls)())
             for name, mod, cls in (("home", "home", "HomeScreen"), ("live", "live", "LiveScreen"),
                                    ("history", "history", "HistoryScreen"),
                                    ("references", "references", "ReferencesScreen"),
                                    ("export", "export", "ExportScreen"), ("sensors", "sensors", "SensorsScreen"),
                                    ("fleet", "fleet", "FleetScreen"))}
    BINDINGS = [
        Binding("q", "quit", "quit"),
        Binding("ctrl+c", "interrupt", "stop like bench's Ctrl-C", show=False, priority=True),
        Binding("escape", "leave_field", "leave the field"),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("n", "mode('home')", "new run"),
        Binding("l", "mode('live')", "live"),
        Binding("h", "mode('history')", "history"),
        Binding("r", "mode('references')", "references"),
        Binding("d", "mode('sensors')", "sensors"),
        Binding("e", "mode('export')", "export"),
        Binding("i", "screenshot", "screenshot"),
        Binding("t", "toggle_theme", "theme"),
    ]

    def __init__(self, *, opts=None, run: Run | None = None, start_mode: str | None = None,
                 exit_when_done: bool = False, refresh_hz: float = DEFAULT_REFRESH_HZ, clock=None,
                 home_defaults: dict | None = None, sets: list | None = None, fleet=None, ssh=None):
        super().__init__()
        from multiprocessing import resource_tracker

        # start the tracker while sys.stderr is still a real file: under Textual it is not, and a
        # spawn that has to start it then fails ("bad value(s) in fds_to_keep")
        resource_tracker.ensure_running()
        self.runs: list[Run] = []
        self.current: Run | None = None
        self.exit_when_done = exit_when_done
        self.refresh_hz = refresh_hz
        self.clock = clock                         # (monotonic_ns, wall text) for recorded runs
        self.home_defaults = home_defaults or homeform.defaults_from(None)
        self.sets = sets
        self.device_hint: DeviceDesc | None = None       # the device as detected (home), before any run
        self.error: str | None = None              # a command-line run that could not start
        self._planned: dict[str, refview.Planned] = {}
        self.monitor: MonitorRun | None = None     # the sensors read live between runs (sensors screen)
        self.pending_pick: str | None = None       # "bench these": the export the form must pick alone
        self._pending_opts = opts
        self.fleet = fleet                          # views/tui/fleetview.FleetController: one Run per board
        self.ssh = ssh                              # fleet.ssh.SshOptions of runs on a host (tui --identity ...)
        if run is not None:
            self.add_run(run)
        for board in fleet.boards if fleet else ():
            self.runs.append(board)
        if fleet is not None:
            self.bind("f", "mode('fleet')", description="fleet")   # only with a fleet: the fleet screen's key
        self.current = self.current or (fleet.boards[0] if fleet and fleet.boards else None)
        self._start_mode = start_mode or ("fleet" if fleet else "live" if (run is not None or opts is not None)
                                          else "home")

    def get_css_variables(self) -> dict[str, str]:
        """The theme's variables, with a highlighted row that reads at 4.5:1 (``theme.cursor_colours``)."""
        variables = super().get_css_variables()
        variables.update(cursor_colours(variables))
        return variables

    # -- lifecycle ----------------------------------------------------------------------------
    def on_mount(self) -> None:
        self._catch_stop_signals()
        if self.sets is None:
            self.load_sets()
        if self._pending_opts is not None:
            self.start_run(self._pending_opts, from_command_line=True)
        self.switch_mode(self._start_mode)
        self.set_interval(1 / self.refresh_hz, self.tick)
        self.call_after_refresh(self.tick)

    @work(thread=True, exclusive=True, group="sets")
    def load_sets(self) -> None:
        from edgeprof.compare.reference import ReferenceSetError, load_sets

        try:
            sets = load_sets()
        except ReferenceSetError as exc:
            self.call_from_thread(self.notify, f"reference sets not loaded: {exc}", severity="warning")
            sets = []
        self.call_from_thread(self._sets_loaded, sets)

    def _sets_loaded(self, sets: list) -> None:
        self.sets = sets
        self._planned.clear()

    def add_run(self, run: Run) -> None:
        self.runs.append(run)
        self.current = run
        self._planned.clear()

    def start_run(self, opts, from_command_line: bool = False, host: str | None = None) -> Run:
        """A run of these options, here or (``host``: USER@BOARD[:PORT]) on that machine over SSH,
        as ``bench --host`` runs it. Raises ``UsageError`` (a bad host, a run directory in use)."""
        self.stop_monitor()     # a run opens and samples the devices itself; nothing else may load them
        run = self.host_run(opts, host) if host else RunController(opts)
        run.from_command_line = from_command_line
        self.add_run(run)
        return run.start()

    def host_run(self, opts, host: str | None):
        """The run on a host, not started (its events stream into the same live screen)."""
        from edgeprof.views.tui.hostrun import HostRun

        return HostRun.of(opts, host, self.ssh)

    def start_monitor(self) -> None:
        """Sensors read live while no run measures (the sensors screen asks for it)."""
        if self.monitor is None and self.running() is None and not (self.current and self.current.replay):
            from edgeprof import home

            self.monitor = MonitorRun(home.sysroot())

    def stop_monitor(self) -> None:
        mon, self.monitor = self.monitor, None
        if mon is not None:
            mon.stop()

    def on_unmount(self) -> None:
        self._release_stop_signals()
        self.stop_monitor()

    def _catch_stop_signals(self) -> None:
        """``kill`` or a container stop (SIGTERM), a closed terminal or SSH session (SIGHUP) and a
        SIGINT from outside stop the TUI as its Ctrl-C key does, as they stop ``edgeprof bench``:
        the running case is recorded as cancelled, the app leaves (the terminal restored), then the
        rows and the resume command are printed and the command exits 130; a second one leaves at
        once. Without this the default action killed the process mid-screen: the terminal left in
        raw mode, the running case lost. Handled on the event loop (never inside whatever the
        signal interrupted). A signal the caller ignores stays ignored (``nohup``); a headless app
        (tests' pilot) leaves the process's handlers alone."""
        import asyncio
        import signal

        from edgeprof.engine.launcher import STOP_SIGNALS   # bench's: SIGINT, SIGTERM, SIGHUP

        self._stop_signals: list[int] = []
        if self.is_headless:
            return
        loop = asyncio.get_running_loop()
        for name in STOP_SIGNALS:
            sig = getattr(signal, name, None)
            if sig is None or signal.getsignal(sig) is signal.SIG_IGN:
                continue
            try:
                loop.add_signal_handler(sig, self.action_interrupt)
            except (ValueError, RuntimeError, NotImplementedError):   # not the main thread; no such signals here
                continue
            self._stop_signals.append(sig)

    def _release_stop_signals(self) -> None:
        import asyncio

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        for sig in getattr(self, "_stop_signals", ()):
            loop.remove_signal_handler(sig)
        self._stop_signals = []

    def tick(self) -> None:
        if self.monitor is not None:
            self.monitor.drain()
        if self.fleet is not None:
            self.fleet.drain()      # every board, not only the one on screen: the fleet screen shows them all
        run = self.current
        if run is not None:
            run.drain()
            if run.stage == "failed" and getattr(run, "from_command_line", False) and not run.state.run_dir:
                self.error = run.error      # e.g. an unknown model: the command prints it, exit 2
                self.exit(self.runs)
                return
            if self.exit_when_done and run.stage in ("done", "failed") and not getattr(run, "alive", False):
                self.exit(self.runs)
                return
        if not self.screen_stack:   # starting up or shutting down
            return
        refresh = getattr(self.screen, "refresh_view", None)
        if refresh is not None and self.screen.is_mounted:
            try:
                refresh()
            except NoMatches:   # the screen is still composing its widgets: next tick
                pass

    def now_ns(self) -> int:
        if self.clock is not None:
            return self.clock[0]
        if self.current is not None and self.current.replay:
            return self.current.state.last_t_ns
        return time.monotonic_ns()

    def clock_text(self) -> str:
        if self.clock is not None:
            return self.clock[1]
        return "replay" if self.current is not None and self.current.replay else datetime.now().strftime("%H:%M:%S")

    def planned_for(self, case) -> refview.Planned:
        """The reference row the running case meets (cached per case; recomputed when sets load)."""
        if self.sets is None:
            return refview.Planned("none", notes=["loading the reference sets…"])
        key = case.case_id or case.label
        if key not in self._planned:
            self._planned[key] = refview.plan(case.model or {}, (case.artifact or {}).get("quant"), case.workload,
                                              self.sets)
        return self._planned[key]

    # -- keys and text fields ------------------------------------------------------------------
    def in_field(self) -> bool:
        """A text field has focus: it gets the letters it accepts (a number field refuses the
        others), none of them acts, and the footer shows only what works there (esc leaves)."""
        from textual.widgets import Input

        return isinstance(self.focused, Input)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action == "leave_field":
            return self.in_field()
        if action in FIELD_KEYS and self.in_field():
            return False
        return True

    def action_leave_field(self) -> None:
        """Esc in a field: focus goes to the screen's main list (``LEAVE_TO``), where letters act."""
        target = getattr(self.screen, "LEAVE_TO", None)
        self.screen.set_focus(self.screen.query_one(target) if target else None)

    # -- actions ------------------------------------------------------------------------------
    def action_mode(self, mode: str) -> None:
        if self.current_mode != mode or len(self.screen_stack) > 1:
            while len(self.screen_stack) > 1:
                self.pop_screen()
            self.switch_mode(mode)

    def action_help(self) -> None:
        from edgeprof.views.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_toggle_theme(self) -> None:
        self.theme = THEMES[1] if self.theme == THEMES[0] else THEMES[0]
        self.tick()

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        self.deliver_screenshot(filename, path)

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """An SVG of the screen into the run directory (else the working directory), never a
        missing ~/Downloads."""
        folder = Path(path) if path else (self.current.run_dir if self.current and self.current.run_dir and not self.current.replay
                                          else Path.cwd())
        name = filename or f"edgeprof-{self.current_mode}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.svg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            saved = self.save_screenshot(name, str(folder))
        except OSError as exc:
            self.notify(f"screenshot not saved: {exc}", severity="error")
            return None
        self.notify(f"screenshot saved: {saved}", timeout=6)
        return saved

    def running(self) -> Run | None:
        """The run this app started (here or on a host) while it still runs."""
        run = self.current
        return run if run is not None and run.own and run.alive else None

    async def action_quit(self) -> None:
        """``q``: leaves at once when nothing runs; during a run it asks first (the running case
        would be recorded as cancelled)."""
        run = self.running()
        if run is None:
            self.exit(self.runs)
            return
        from edgeprof.views.tui.screens.confirm import ConfirmQuit

        if not isinstance(self.screen, ConfirmQuit):
            self.push_screen(ConfirmQuit(run), self._quit_answer)

    def _quit_answer(self, yes: bool | None) -> None:
        run = self.running()
        if yes and run is not None:
            run.control("cancel")
            self.notify("cancelling the running case; its row is written, then edgeprof exits", timeout=10)
            self._wait_and_exit()
        elif yes:
            self.exit(self.runs)

    def action_interrupt(self) -> None:
        """Ctrl-C, as in ``edgeprof bench``: no question; the running case is recorded as
        cancelled, later cases do not start, and after the app the rows and the resume command
        are printed (exit 130). A second Ctrl-C leaves the screen at once."""
        run = self.running()
        if run is None:
            self.exit(self.runs)
            return
        if run.interrupted:
            self.exit(self.runs)
            return
        run.control("interrupt")
        self.notify("interrupted: the running case is recorded as cancelled, then edgeprof exits with the "
                    "resume command (Ctrl-C again leaves now)", timeout=10)
        self._wait_and_exit()

    @work(exclusive=True, group="quit")
    async def _wait_and_exit(self) -> None:
        import asyncio

        while any(r.own and r.alive for r in self.runs):
            await asyncio.sleep(0.1)
            self.tick()
        self.exit(self.runs)
