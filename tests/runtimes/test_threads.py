"""Thread counts against the cores (issue 20, item 7): ``-t 999`` on 2 cores was accepted silently
and drove the load to 160. Above the logical cores: a warning (stderr and the row); far above:
refused in one line, exit 2, no run directory; a contended row with -t = every core suggests fewer."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgeprof.engine.threads import OVERSUBSCRIBE, check_threads, row_warnings, usable_cores
from edgeprof.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]


def _cli(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, EDGEPROF_HOME=str(tmp / "home"), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "edgeprof", *args], capture_output=True, text=True, env=env,
                          cwd=tmp, timeout=300)


def test_the_rule_warns_above_the_cores_and_refuses_far_above():
    assert check_threads([1, 2], cores=2) == []
    [w] = check_threads([2, 3], cores=2)
    assert "-t 3 is above the 2 logical core(s)" in w
    assert check_threads([OVERSUBSCRIBE * 2], cores=2)
    for t in (OVERSUBSCRIBE * 2 + 1, 64, 999):
        with pytest.raises(UsageError, match=rf"-t {t} is far above the 2 logical core"):
            check_threads([1, t], cores=2)


def test_a_contended_row_with_every_core_suggests_fewer_threads():
    from edgeprof.results.schema import ResolvedPlacement

    def pl(threads):
        return ResolvedPlacement.from_dict({"threads": threads, "cpu_affinity": [0, 1]})

    from edgeprof.results.conditions import Load

    contended, quiet = Load(during_status="contended"), Load(during_status="quiet")
    [w] = row_warnings(pl(2), contended)
    assert "every logical core" in w and "-t 1 may be faster" in w
    assert row_warnings(pl(2), quiet) == []
    assert row_warnings(pl(1), contended) == []
    [over] = row_warnings(pl(3), quiet)
    assert "-t 3 is above the 2 logical core(s)" in over


def test_far_too_many_threads_is_one_line_exit_2_and_no_run_dir(smollm2_gguf, tmp_path):
    far = OVERSUBSCRIBE * usable_cores() + 1
    for t in sorted({str(far), str(max(far, 64))}):  # 64 on the 2-core machine of the issue
        out = tmp_path / f"run-{t}"
        proc = _cli(tmp_path, "bench", str(smollm2_gguf), "-t", t, "--out", str(out))
        assert proc.returncode == 2, proc.stderr
        [line] = proc.stderr.strip().splitlines()
        assert line.startswith(f"edgeprof: error: -t {t} is far above") and "Traceback" not in proc.stderr
        assert not out.exists()


@pytest.mark.slow
def test_threads_above_the_cores_run_with_a_warning_in_the_row(smollm2_gguf, tmp_path, seeded):
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    t = usable_cores() + 1
    out = tmp_path / "run"
    proc = _cli(tmp_path, "bench", str(smollm2_gguf), "-t", str(t), "-p", "8", "-n", "4", "--reps", "1",
                "--warmup", "0", "--min-seconds", "0", "--idle-seconds", "0.2", "--out", str(out), "-o", "json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"-t {t} is above the" in proc.stderr
    [row] = json.loads(proc.stdout)
    assert any(w.startswith(f"-t {t} is above the {t - 1} logical core") for w in row["warnings"]), row["warnings"]
