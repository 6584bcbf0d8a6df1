"""Runs inside a private mount namespace (``unshare -m``, made by test_filesystems.py): mounts
small tmpfs filesystems, benches onto them with the real CLI, fills them mid-run, and prints what
happened as one JSON object. Nothing is mounted outside the namespace; it dies with the process.

    python fullfs_driver.py BASE_DIR GGUF
"""
from __future__ import annotations

import errno
import json
import subprocess
import sys
import time
from pathlib import Path

FAST = ["-p", "8", "-n", "4,5,6", "--reps", "1", "--warmup", "0", "--min-seconds", "0", "--idle-seconds", "0.2",
        "-t", "1", "-q"]


def mount(target: Path, options: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], check=True)


def fill(d: Path) -> None:
    """Write until the filesystem says ENOSPC. Unbuffered: a buffered file still holds the bytes the
    disk refused and raises ENOSPC again when it is closed."""
    with open(d / "fill", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc


def edgeprof(*args: object, wait: bool = True):
    cmd = [sys.executable, "-m", "edgeprof", "bench", *map(str, args)]
    if wait:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        return {"rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr}
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def until_first_case(run: Path) -> None:
    """Wait until case 1's record AND its samples file are written."""
    deadline = time.monotonic() + 180
    rec = run / "records.jsonl"
    while time.monotonic() < deadline:
        if rec.exists() and rec.read_bytes().count(b"\n") >= 1:
            cid = json.loads(rec.read_text().splitlines()[0])["case_id"]
            if (run / "samples" / f"{cid}.csv").exists():
                time.sleep(0.2)
                return
        time.sleep(0.02)
    raise TimeoutError("the first case never finished")


def full_while_running(base: Path, gguf: str, where: str) -> dict:
    """Bench 3 cases; after the first, fill the run's disk (``records``) or a tiny tmpfs mounted
    over its samples folder (``samples``); then free the space and resume."""
    m = base / where
    mount(m, "size=8m")
    run = m / "run"
    proc = edgeprof(gguf, *FAST, "--out", run, wait=False)
    until_first_case(run)
    if where == "records":
        fill(m)
    else:
        mount(run / "samples", "size=4k")
        fill(run / "samples")
    out, err = proc.communicate(timeout=300)
    kept = (run / "records.jsonl").read_text()
    if where == "records":
        (m / "fill").unlink()
    else:
        subprocess.run(["umount", "-l", str(run / "samples")], check=True)
    resumed = edgeprof("--resume", run, "-o", "json")
    return {"rc": proc.returncode, "stdout": out, "stderr": err, "kept": kept, "resume": resumed,
            "final": (run / "records.jsonl").read_text(), "plan": json.loads((run / "plan.json").read_text())}


def main() -> None:
    base, gguf = Path(sys.argv[1]), sys.argv[2]
    result = {}
    ro = base / "ro"
    mount(ro, "size=1m,ro")
    r = edgeprof(gguf, *FAST, "--out", ro / "run")
    result["readonly"] = {**r, "created": (ro / "run").exists()}
    result["records"] = full_while_running(base, gguf, "records")
    result["samples"] = full_while_running(base, gguf, "samples")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
