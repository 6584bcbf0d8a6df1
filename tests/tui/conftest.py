"""Shared by the TUI tests: the recorded stream of a real run (``tests/tui/data``, made by
``scripts/tui_screenshot.py record``), its reference set, and a pilot helper.

The recording is a real two-case SmolLM2 run on one CPU thread (prompt 32 and 64, 64 generated
tokens, 3 repetitions) whose first case has an exact reference row (``earlier-run``: an earlier
run of the same workload made into a reference set) and whose second has none."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
EVENTS = DATA / "events.jsonl"


@pytest.fixture(scope="session")
def recorded():
    from edgeprof.engine import events as ev

    return [ev.from_dict(json.loads(x)) for x in EVENTS.read_text().splitlines() if x.strip()]


@pytest.fixture(scope="session")
def refsets():
    from edgeprof.compare.reference import load_sets

    return load_sets(user_dir=DATA)


@pytest.fixture
def quiet_home(tmp_path, monkeypatch, seeded):
    """A private EDGEPROF_HOME (holding the machine's probe: a run starts measuring at once) and
    history, and a working directory of our own."""
    monkeypatch.setenv("EDGEPROF_HOME", str(seeded(tmp_path / "home")))
    monkeypatch.setenv("EDGEPROF_HISTORY", str(tmp_path / "home" / "history.sqlite"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def screen_text(app) -> str:
    """The screen as plain text (what a person reads), from the same render as the SVG."""
    import io

    from rich.console import Console

    w, h = app.size
    console = Console(width=w, height=h, file=io.StringIO(), force_terminal=True, color_system="truecolor",
                      record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()


async def until(pilot, app, cond, timeout_s: float = 120.0, what: str = "") -> None:
    """Pause (ticking the app) until ``cond()`` holds; after ``timeout_s`` fail with the screen.
    Polled by the clock, never a fixed number of pauses: a worker thread (device detection, the
    model list, a run resolving its model) takes seconds on a loaded 2-core machine, and a
    condition not met must fail here rather than let the test read a screen half drawn."""
    import time

    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout_s:
            pytest.fail(f"waited {timeout_s:.0f} s for {what or 'the TUI'}; the screen:\n{screen_text(app)}")
        await pilot.pause(0.05)
        app.tick()


def drive(app, steps, size=(160, 48)) -> None:
    """Run ``steps(pilot, app)`` (an async function) against the app, headless, at ``size``."""
    import asyncio

    async def go():
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            app.tick()
            await steps(pilot, app)
    asyncio.run(go())


def index_recorded(quiet_home, recorded, n_runs: int, device_name: str | None = None) -> None:
    """``n_runs`` runs of the recorded cases indexed in the private history, as if run on this
    host on consecutive days (``device_name``: a longer device name, as real ones are)."""
    import socket

    from edgeprof.results.history import index_run

    for i in range(n_runs):
        d = quiet_home / f"run{i}"
        d.mkdir()
        with open(d / "records.jsonl", "w") as fh:
            for e in recorded:
                if e.type == "case_finished":
                    r = e.record.to_dict()
                    r.update(host=socket.gethostname(), run_id=f"run{i}", started_at=f"2026-11-2{i}T10:00:00+00:00")
                    if device_name:
                        r["device"]["name"] = device_name
                    fh.write(json.dumps(r) + "\n")
        index_run(d, quiet_home / "home" / "history.sqlite")


def _terminal_signals() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


class Terminal:
    """A child process on a pty of ``cols``×``rows``: what it draws is collected (it must be read
    or the child blocks), keys are written to it, signals sent to it alone (as ``kill`` does)."""

    def __init__(self, argv: list[str], cwd, env: dict, cols: int = 120, rows: int = 36, session: bool = False):
        import fcntl
        import pty
        import struct
        import subprocess
        import termios
        import threading

        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.out = bytearray()
        # ``session``: a session of its own, so that whatever of it outlives it is found (``left_in_session``)
        # a terminal's defaults for Ctrl-C and a hang-up: a suite started in a background shell job or
        # under nohup inherits them ignored, and edgeprof keeps a stop signal its caller ignores ignored
        self.proc = subprocess.Popen(argv, stdin=slave, stderr=slave, stdout=subprocess.PIPE, cwd=cwd, env=env,
                                     start_new_session=session, preexec_fn=_terminal_signals)
        os.close(slave)
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.out += chunk

    def wait_for(self, text: bytes, timeout_s: float, start: int = 0) -> int:
        t0 = time.monotonic()
        while (i := self.out.find(text, start)) < 0:
            assert self.proc.poll() is None, f"exited {self.proc.returncode} before {text!r}"
            assert time.monotonic() - t0 < timeout_s, f"no {text!r} on the screen after {timeout_s} s"
            time.sleep(0.1)
        return i

    def key(self, data: bytes) -> None:
        os.write(self.master, data)

    def stop_with(self, sig: int, timeout_s: float = 180) -> tuple[str, str, list[int]]:
        """Send ``sig`` to the child alone (as ``kill PID`` or a hang-up does) and wait for it to
        end: (its stdout, everything it drew on the terminal, the PIDs left in its session)."""
        try:
            os.kill(self.proc.pid, sig)
            self.proc.wait(timeout=timeout_s)
            stdout = self.proc.stdout.read().decode()
            time.sleep(0.2)                               # the last lines the pty holds
            left = self.left_in_session()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            os.close(self.master)
        return stdout, self.out.decode("utf-8", "replace"), left

    def left_in_session(self, settle_s: float = 10.0) -> list[int]:
        """PIDs still alive in the child's session (``session=True``) once it has exited: a worker
        or a helper that outlived it. A loaded machine reaps late: polled up to ``settle_s``."""
        from pathlib import Path

        def alive() -> list[int]:
            out = []
            for stat in Path("/proc").glob("[0-9]*/stat"):
                try:
                    fields = stat.read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[3]) == self.proc.pid and fields[0] != "Z":
                    out.append(int(stat.parent.name))
            return out
        end = time.monotonic() + settle_s
        while (left := alive()) and time.monotonic() < end:
            time.sleep(0.1)
        return left
