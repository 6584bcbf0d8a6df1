"""Issue 21 item 7: the worker's native output goes to ``logs/<case_id>.log`` in the run directory,
never into the parent's stdout or stderr (``-o json`` stays JSON), and a failed row quotes its end."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from faultkit import FAST, ROOT, env


def test_native_writes_land_in_the_log_not_on_the_terminal(tmp_path):
    """A C-level write(2) to fds 1 and 2 (what llama.cpp's loader or a native abort does) after
    ``redirect``: nothing reaches the process's own streams, all of it is in the log."""
    log = tmp_path / "logs" / "c.log"
    code = ("import ctypes, sys; from edgeprof.engine.worker_log import redirect; redirect(sys.argv[1]); "
            "libc = ctypes.CDLL(None); libc.write(1, b'[New LWP 4242]\\n', 15); libc.write(2, b'GGML_ASSERT\\n', 12); "
            "print('python too', flush=True)")
    res = subprocess.run([sys.executable, "-c", code, str(log)], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=60)
    assert res.returncode == 0 and res.stdout == "" and res.stderr == ""
    assert log.read_text() == "[New LWP 4242]\nGGML_ASSERT\npython too\n"


def test_excerpt_is_bounded_and_printable(tmp_path):
    from edgeprof.engine.worker_log import EXCERPT_CHARS, excerpt, settle

    log = tmp_path / "a.log"
    log.write_bytes(b"\x00\x1b[31mred\xff\n" * 50_000 + b"the last line\n")
    out = excerpt(log)
    assert out.endswith("the last line") and len(out) <= EXCERPT_CHARS and "\x1b" not in out and "\x00" not in out
    empty = tmp_path / "logs" / "b.log"
    empty.parent.mkdir()
    empty.write_bytes(b"")
    assert settle(empty) is None and not empty.parent.exists()


@pytest.mark.slow
def test_a_worker_crash_is_quoted_in_its_row_and_json_stays_json(tmp_path, smollm2_gguf, seeded):
    """SIGSEGV in the worker mid-case: faulthandler's stack goes to the log, the failed row quotes
    it, and ``-o json`` on stdout still parses."""
    import psutil

    out, home = tmp_path / "run", seeded(tmp_path / "home")
    proc = subprocess.Popen([sys.executable, "-m", "edgeprof", "bench", str(smollm2_gguf), *FAST, "-n", "2000",
                             "--out", str(out), "-o", "json"], env=env(home), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline, worker = time.monotonic() + 120, None
    while time.monotonic() < deadline and worker is None and proc.poll() is None:
        kids = [c for c in psutil.Process(proc.pid).children() if "spawn" in " ".join(c.cmdline())]
        worker = kids[0] if kids else None
        time.sleep(0.05)
    assert worker is not None
    time.sleep(2.0)  # inside load or decode: either way a native crash
    worker.send_signal(signal.SIGSEGV)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1, stderr[-2000:]
    (row,) = json.loads(stdout)
    err = row["error"]
    assert row["status"] == "failed" and err["signal"] == "SIGSEGV"
    assert "Segmentation fault" in err["worker_log"]["tail"] and err["worker_log"]["path"].startswith("logs/")
    assert "worker output in logs/" in err["message"]
    assert "Fatal Python error" not in stderr and "Segmentation fault" in (out / err["worker_log"]["path"]).read_text()
