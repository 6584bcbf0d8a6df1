"""``q`` during a run: a question first, since quitting cancels the running case. ``y`` quits
(the case is recorded as cancelled and the resume command finishes the run later), ``n`` or Esc
keeps the run going. Ctrl-C does not ask (it stops as ``edgeprof bench`` does)."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from edgeprof.errors import resume_command


class ConfirmQuit(ModalScreen[bool]):
    DEFAULT_CSS = """
    ConfirmQuit { align: center middle; }
    ConfirmQuit > Vertical { width: 72; max-width: 95%; height: auto; border: thick $warning;
                             background: $surface; padding: 0 1; }
    """
    BINDINGS = [Binding("y", "answer(True)", "quit"), Binding("n,escape", "answer(False)", "keep running",
                                                                  key_display="n/esc")]

    def __init__(self, run) -> None:
        super().__init__()
        self.run = run

    def compose(self) -> ComposeResult:
        st = self.run.state
        where = f"case {st.index}/{st.total}" if st.total else "the run is being prepared"
        lines = [Text(f"A run is in progress ({where}). Quit?", style="bold"),
                 Text("y: quit — the running case is recorded as cancelled, later cases do not start"
                      + (f"; finish the run later with: {resume_command(st.run_dir)}" if st.run_dir else "")),
                 Text("n or esc: keep running")]
        with Vertical():
            for t in lines:
                yield Static(t)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
