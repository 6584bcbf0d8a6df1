"""``edgeprof tui`` as a command: without a terminal it exits 2 at once with one line pointing at
``edgeprof bench`` and writes nothing; on a terminal with a MODEL it runs at once and, after the
app ends, prints the table to stdout (``-o json`` here, redirected to a pipe) and exits like bench."""
from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import time

import pytest


def test_without_a_terminal_it_exits_2_at_once(tmp_path):
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-m", "edgeprof", "tui", "-p", "8"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, cwd=tmp_path, timeout=60,
                       env={**os.environ, "EDGEPROF_HOME": str(tmp_path / "home")})
    took = time.monotonic() - t0
    assert p.returncode == 2 and took < 10, (p.returncode, took)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs a terminal" in lines[0] and "edgeprof bench" in lines[0]
    assert p.stdout == "" and list(tmp_path.iterdir()) == []        # nothing written


def test_bad_flag_is_one_line_exit_2(tmp_path):
    p = subprocess.run([sys.executable, "-m", "edgeprof", "tui", "--refresh-hz", "100"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert p.returncode == 2 and len(p.stderr.strip().splitlines()) == 1 and "--refresh-hz" in p.stderr


@pytest.mark.slow
def test_on_a_terminal_it_runs_then_prints_like_bench(tmp_path, smollm2_gguf, seeded):
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    drained = []
    stop = threading.Event()

    def drain() -> None:   # the screen goes to the pty; keep reading so Textual never blocks
        while not stop.is_set():
            try:
                drained.append(os.read(master, 65536))
            except OSError:
                return

    threading.Thread(target=drain, daemon=True).start()
    env = {**os.environ, "EDGEPROF_HOME": str(tmp_path / "home"), "TERM": "xterm-256color"}
    p = subprocess.run([sys.executable, "-m", "edgeprof", "tui", str(smollm2_gguf), "-p", "8", "-n", "8", "--reps",
                        "1", "--min-seconds", "0", "--idle-seconds", "0.2", "-t", "1", "--exit-when-done",
                        "-o", "json", "--out", "run"], stdin=slave, stderr=slave, stdout=subprocess.PIPE,
                       cwd=tmp_path, env=env, timeout=300)
    stop.set()
    os.close(slave)
    os.close(master)
    assert p.returncode == 0
    printed = json.loads(p.stdout)
    written = [json.loads(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert printed == written and [r["status"] for r in printed] == ["ok"]
    screen = b"".join(drained).decode("utf-8", "replace")
    assert "edgeprof" in screen and "case 1/1" in screen


def test_the_form_writes_where_out_says(tmp_path):
    """Issue 20 item 16: ``edgeprof tui --out DIR`` without MODEL opened the form, whose run then
    wrote under ./edgeprof-runs/. The options the form starts a run with (what the home screen's
    ctrl+r builds, from the command line's own parse) keep --out; a second run from the same form
    goes beside the first (DIR-2), never over it and never back to the default."""
    from edgeprof.cli import build_parser
    from edgeprof.commands import bench as bench_cmd
    from edgeprof.engine.rundir import check_target
    from edgeprof.views.tui import homeform

    def form_options(argv):
        args = build_parser(argv).parse_args(argv)
        defaults = homeform.defaults_from(bench_cmd.options(args))
        values = {n: defaults[n] for n in homeform.FIELDS}
        return homeform.build_options(defaults["opts"], ["smollm2-135m-instruct"], values)

    mine = tmp_path / "mine"
    first = form_options(["tui", "--out", str(mine), "-p", "16"])
    assert first.out == mine and first.prompt == [16]
    check_target(first.out, first.overwrite)             # what the session checks before it writes
    mine.mkdir()
    (mine / "records.jsonl").write_text("")              # the first run wrote there
    second = form_options(["tui", "--out", str(mine), "-p", "16"])
    assert second.out == tmp_path / "mine-2" and not second.overwrite
    check_target(second.out, second.overwrite)
    assert form_options(["tui", "-p", "16"]).out is None  # no --out: bench's default, as before
