"""Filesystem faults through the real CLI: a read-only --out, /proc, a file in the way, and a disk
that fills up in the middle of a run — while records are written and while a samples file is.
The full and read-only disks are real tmpfs mounts made inside a private mount namespace
(``unshare -m``; skipped with the reason where this machine cannot make one)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from faultkit import FAST, ROOT, cli, env, one_line_error, unshare_prefix

HERE = Path(__file__).resolve().parent


@pytest.mark.parametrize("where", ["/proc/edgeprof-run", "/proc/self/edgeprof-run", "/sys/edgeprof-run"])
def test_out_under_proc_or_sys_is_one_line_and_exit_2(tmp_path, home, where):
    res = cli(["bench", "--out", where, *FAST, "-n", "4"], home, timeout=60)
    assert res.returncode == 2
    line = one_line_error(res.stderr)
    assert f"--out {where}" in line and "pass --out DIR" in line
    assert "No such file" not in line, line   # /proc exists: it takes no new files (was "cannot write /proc (No such file …)")


def test_out_naming_a_file_or_below_one(tmp_path, home):
    f = tmp_path / "file"
    f.write_text("x")
    for out, words in ((f, "is a file; name a directory"), (f / "run", f"{f} is a file, not a directory")):
        res = cli(["bench", "--out", out, *FAST, "-n", "4"], home, timeout=60)
        assert res.returncode == 2 and words in one_line_error(res.stderr)
    assert f.read_text() == "x"


@pytest.mark.slow
def test_full_and_read_only_disks(tmp_path, home, smollm2_gguf):
    prefix = unshare_prefix()
    proc = subprocess.run([*prefix, sys.executable, str(HERE / "fullfs_driver.py"), str(tmp_path), str(smollm2_gguf)],
                          env=env(home), capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout)

    ro = res["readonly"]
    assert ro["rc"] == 2 and not ro["created"]
    assert "read-only filesystem; pass --out DIR on a writable disk" in one_line_error(ro["stderr"])

    for where, names in (("records", "records.jsonl"), ("samples", "samples/")):
        r = res[where]
        line = one_line_error(r["stderr"])
        assert r["rc"] == 1, (where, r["stderr"][-2000:])
        assert "no space left on the device writing" in line and names in line, line
        assert f"free space, then run: edgeprof bench --resume {tmp_path / where / 'run'}" in line
        kept = [json.loads(x) for x in r["kept"].splitlines()]  # every line whole: nothing torn is left
        assert r["kept"].endswith("\n") and len(kept) == (1 if where == "records" else 2)
        assert all(k["status"] == "ok" for k in kept)
        assert r["stdout"].count("| smollm2-135m-instruct |") == len(kept)  # the finished rows are shown
        assert r["resume"]["rc"] == 0, r["resume"]["stderr"][-2000:]
        final = [json.loads(x) for x in r["final"].splitlines()]
        ids = [x["case_id"] for x in final]
        assert sorted(ids) == sorted(c["case_id"] for c in r["plan"]["cases"]) and len(set(ids)) == 3
        assert [x["case_id"] for x in final[:len(kept)]] == [k["case_id"] for k in kept]  # kept, not redone
        assert all(x["status"] == "ok" for x in final)


def test_read_only_history_is_a_notice_not_a_lost_run(tmp_path, smollm2_gguf, seeded):
    """The history index is a convenience: an unwritable one costs a notice, never the run."""
    home = seeded(tmp_path / "home")
    e = env(home)
    e["EDGEPROF_HISTORY"] = "/proc/history.sqlite"
    res = subprocess.run([sys.executable, "-m", "edgeprof", "bench", str(smollm2_gguf), *FAST, "-n", "4", "--out",
                          str(tmp_path / "run")], env=e, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert (tmp_path / "run" / "records.jsonl").read_text().count("\n") == 1
    assert os.path.exists(tmp_path / "run" / "plan.json")


def test_a_reader_that_stops_early_gets_no_error(home):
    """``edgeprof reference show ... | head -1``: the reader closes the pipe; edgeprof stops quietly
    (was "edgeprof: error: a file: Broken pipe")."""
    proc = subprocess.Popen([sys.executable, "-m", "edgeprof", "reference", "show", "localscore", "--model",
                             "llama-3.2-1b-instruct-q4_k_m"], env=env(home), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("localscore")
    proc.stdout.close()                    # 625 rows (~150 kB) are still to come: more than a pipe holds
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 141 and err == "", err
