"""Every command that writes, given a read-only filesystem, a full one, or a path below a file:
one line naming the path and the fix, never a traceback, nothing half-written left behind
(issue 20 item 11: ``export --out READ_ONLY_DIR`` was a traceback). The disks are real tmpfs
mounts in a private mount namespace; refusals that can be made before any work are (exit 2), so a
read-only home never costs a 30 s probe or a download first."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from faultkit import ROOT, env, one_line_error, unshare_prefix

HERE = Path(__file__).resolve().parent
HOME_FIX = "set EDGEPROF_HOME to a directory on a writable disk"


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory, smollm2_gguf) -> dict:
    base = tmp_path_factory.mktemp("writers")
    proc = subprocess.run([*unshare_prefix(), sys.executable, str(HERE / "writers_driver.py"), str(base),
                           str(smollm2_gguf)], env=env(base / "unused-home"), capture_output=True, text=True,
                          timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout)


def _line(res: dict) -> str:
    """The one error line (``edgeprof: error:`` or export's ``edgeprof export: error:``)."""
    assert "Traceback" not in res["stderr"], res["stderr"][-3000:]
    errors = [x for x in res["stderr"].splitlines() if x.startswith(("edgeprof: error:", "edgeprof export: error:"))]
    assert len(errors) == 1, res["stderr"][-3000:]
    return errors[0]


@pytest.mark.parametrize("cmd, words", [
    ("export", "--out {base}/ro/exp: {base}/ro is on a read-only filesystem; pass --out DIR on a writable disk"),
    ("report", "--out {base}/ro/rep: {base}/ro is on a read-only filesystem; pass --out DIR on a writable disk"),
    ("reference add", "the reference folder {base}/ro/home/reference: {base}/ro/home is on a read-only filesystem; "
                      + HOME_FIX),
    ("reference import", "{base}/ro/home is on a read-only filesystem; " + HOME_FIX),
    ("reference build", "{base}/ro/home is on a read-only filesystem; " + HOME_FIX),
    ("models prepare", "the models folder {base}/ro/home/models: {base}/ro/home is on a read-only filesystem; "
                       + HOME_FIX),
    ("models pull", "the models folder {base}/ro/home/models: {base}/ro/home is on a read-only filesystem; "
                    + HOME_FIX),
    ("models fetch", "{base}/ro/home is on a read-only filesystem; " + HOME_FIX),
    ("devices --probe", "the probe folder {base}/ro/home/devices: {base}/ro/home is on a read-only filesystem; "
                        + HOME_FIX),
])
def test_read_only_is_one_line_before_any_work(outcomes, cmd, words):
    res, base = outcomes["read-only"][cmd], outcomes["base"]
    assert res["rc"] == 2, res["stderr"][-2000:]
    assert words.format(base=base) in _line(res)
    assert "preparing" not in res["stderr"] and "pulling" not in res["stderr"]  # refused before the work


@pytest.mark.parametrize("cmd, rc, words", [
    ("export", 2, "preparing smollm2-135m-instruct-hf (float32 weights) needs about 538 MB of free disk in"),
    ("models fetch", 1, "fetching smollm2-135m-instruct needs about 197 MB of free disk in"),
    ("report", 1, "no space left on the device writing"),
    ("reference add", 1, "no space left on the device writing"),
    ("reference import", 1, "no space left on the device writing"),
])
def test_a_full_disk_is_one_line_and_leaves_no_half_file(outcomes, cmd, rc, words):
    res = outcomes["full"][cmd]
    line = _line(res)
    assert res["rc"] == rc and words in line, line
    assert "free space" in line
    assert outcomes["full-leftovers"] == []  # no .tmp figure, no half reference set, no .partial export


@pytest.mark.parametrize("cmd", ["export", "report", "reference add", "reference import", "reference build",
                                 "models prepare", "models pull", "models fetch", "devices --probe"])
def test_a_file_in_the_way_is_one_line(outcomes, cmd):
    res = outcomes["below-a-file"][cmd]
    line = _line(res)
    assert res["rc"] == 2, res["stderr"][-2000:]
    if cmd in ("export", "report"):
        assert "afile is a file, not a directory; pass --out DIR naming a directory" in line, line
    else:  # a home below a file is refused at the CLI's boundary, before any command runs
        assert "EDGEPROF_HOME=" in line and "afile/home cannot be created (Not a directory)" in line, line
