"""The TUI over a recorded event stream (``Event.to_dict`` lines): snapshot tests, the README
picture, demos and bug reports see exactly what a live run showed, drawn by the same code."""
from __future__ import annotations

from pathlib import Path

from edgeprof.views.tui.runner import ReplayRun


def count(events: Path, upto: float | None) -> int | None:
    """``upto`` below 1 is a fraction of the recording, 1 or more a number of events, None all."""
    if upto is None:
        return None
    n = sum(1 for line in Path(events).read_text().splitlines() if line.strip())
    return max(1, int(upto * n)) if upto < 1 else int(upto)


def replay_app(events: str | Path, *, reference_dir: str | Path | None = None, upto: float | None = None,
               mode: str = "live", theme: str = "textual-dark", wall: str = "12:00:00"):
    """An app showing ``events`` (optionally only the first ``upto``) with the packaged reference
    sets plus those in ``reference_dir``, on a clock stopped at the last event shown."""
    from edgeprof.compare.reference import load_sets
    from edgeprof.views.tui.app import EdgeprofApp

    run = ReplayRun.from_file(events, upto=count(Path(events), upto))
    sets = load_sets(user_dir=reference_dir) if reference_dir else None
    app = EdgeprofApp(run=run, start_mode=mode, sets=sets, clock=(run.state.last_t_ns, wall))
    app.theme = theme
    return app
