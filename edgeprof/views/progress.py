"""Headless progress on stderr: one line rewritten in place, fed only by events.

The rewritten line is drawn only on a terminal (CI logs stay clean); notices (fetching the model,
idle baseline, a probe taken again, failed cases) are plain lines on any stream, so a log or a
script sees why a run did what it did. ``--quiet`` silences both.
"""
from __future__ import annotations

import sys
import time

from edgeprof.engine import events as ev


class Progress:
    def __init__(self, enabled: bool, stream=None, live: bool | None = None, board: str | None = None):
        """``board``: one of several boards sharing the stream (``edgeprof fleet``): every line is
        prefixed with its name, and a case's start and end are plain lines, never rewritten."""
        self.enabled = enabled
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.prefix = f"[{board}] " if board else ""
        self.live = enabled and not board and (isatty() if live is None else live)
        self.total = 0
        self.index = 0
        self.label = ""
        self._last = 0.0
        self._width = 0

    def note(self, msg: str) -> None:
        if self.enabled:
            self._clear()
            print(f"edgeprof: {self.prefix}{msg}", file=self.stream, flush=True)

    def start(self, total: int, run_dir) -> None:
        self.total = total
        self.note(f"{total} case(s) -> {run_dir}")

    def _line(self, text: str, force: bool = False) -> None:
        if self.prefix and force:
            self.note(text)     # a board of a fleet: its milestones are lines of their own
        if not self.live:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        text = text[:120]
        pad = max(0, self._width - len(text))
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()
        self._width = len(text)

    def _clear(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self._width = 0

    def on_event(self, e: ev.Event) -> None:
        if isinstance(e, ev.CaseScheduled):
            self.index, self.total, self.label = e.index, e.total, e.label
            self._line(f"[{self.index}/{self.total}] {self.label}: starting", force=True)
        elif isinstance(e, ev.RunNotice):
            self.note(e.message)
        elif isinstance(e, ev.PhaseStarted) and e.name != "repetition":
            rep = f" rep {e.rep + 1}" if e.rep is not None else ""
            self._line(f"[{self.index}/{self.total}] {self.label}: {e.label or ''}{rep} {e.name}")
        elif isinstance(e, ev.TokenProgress):
            self._line(f"[{self.index}/{self.total}] {self.label}: rep {(e.rep or 0) + 1} decode {e.n}/{e.of}")
        elif isinstance(e, ev.CaseFailed):
            status = e.record.status if e.record else "failed"
            self.note(f"case {self.index}/{self.total} {status}: {e.error.message}")
        elif isinstance(e, ev.CaseFinished) and e.record is not None:
            m = e.record.metric("decode_tokens_per_s")
            if m:
                self._line(f"[{self.index}/{self.total}] {self.label}: {m.value:.1f} tok/s decode", force=True)

    def close(self) -> None:
        self._clear()
