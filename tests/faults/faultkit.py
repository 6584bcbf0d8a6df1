"""Helpers for the fault tests: run the real CLI in a subprocess and check what a user sees.
Loaded by tests/faults/conftest.py under the private module name ``faultkit``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "fixtures" / "bad_models"
FAST = ["-p", "8", "--reps", "1", "--warmup", "0", "--min-seconds", "0", "--idle-seconds", "0.2", "-t", "1"]


def env(home: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), EDGEPROF_HOME=str(home), EDGEPROF_HISTORY=str(home / "h.sqlite"))


def cli(args: list, home: Path, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "edgeprof", *map(str, args)], env=env(home), capture_output=True,
                          text=True, timeout=timeout, **kw)


def one_line_error(stderr: str) -> str:
    """The single ``edgeprof: error:`` line of a refusal (no traceback, nothing else of note)."""
    assert "Traceback" not in stderr, stderr[-3000:]
    errors = [x for x in stderr.splitlines() if x.startswith("edgeprof: error:")]
    assert len(errors) == 1, stderr[-3000:]
    return errors[0]


def records(run_dir: Path) -> list[dict]:
    """Every line of records.jsonl parsed (a torn or invalid line fails the test)."""
    text = (run_dir / "records.jsonl").read_text()
    assert text.endswith("\n")
    return [json.loads(x) for x in text.splitlines()]


def once_each(run_dir: Path) -> list[dict]:
    """The records, asserting every case of the plan appears exactly once."""
    recs = records(run_dir)
    plan = json.loads((run_dir / "plan.json").read_text())
    ids = [r["case_id"] for r in recs]
    assert sorted(ids) == sorted(c["case_id"] for c in plan["cases"]), (ids, [c["case_id"] for c in plan["cases"]])
    return recs


def unshare_prefix() -> list[str]:
    """The command prefix that gives a private mount namespace where tmpfs can be mounted (the
    test is skipped with the reason where this machine cannot make one)."""
    import shutil

    import pytest

    if not shutil.which("unshare") or not sys.platform.startswith("linux"):
        pytest.skip("needs Linux unshare(1) to mount a small tmpfs")
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=4k tmpfs $d && umount $d && rmdir $d"
    for prefix in (["unshare", "-m"], ["unshare", "-Urm"]):
        if subprocess.run([*prefix, "sh", "-c", probe], capture_output=True, timeout=30).returncode == 0:
            return prefix
    pytest.skip("cannot mount a tmpfs in a private mount namespace here (no CAP_SYS_ADMIN, user namespaces off)")
