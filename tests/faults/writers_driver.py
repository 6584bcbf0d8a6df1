"""Runs inside a private mount namespace (``unshare -m``, made by test_writers.py): every command
that writes, pointed at a read-only filesystem, a full one and a path below a file, through the
real CLI. Prints one JSON object: for each attempt its exit status, stderr and what it left.

    python writers_driver.py BASE_DIR GGUF
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "tests" / "fixtures" / "runs" / "q8_0"
TSV = ROOT / "assets" / "reference" / "localscore" / "localscore_results.tsv"


def mount(target: Path, options: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)], check=True)


def fill(d: Path) -> None:
    """Write until the filesystem is full (unbuffered: nothing left to flush into a full disk)."""
    with open(d / "fill", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def edgeprof(home: Path, *args: object) -> dict:
    env = dict(os.environ, EDGEPROF_HOME=str(home), HF_ENDPOINT="http://127.0.0.1:9")  # no network, ever
    r = subprocess.run([sys.executable, "-m", "edgeprof", *map(str, args)], capture_output=True, text=True,
                       timeout=300, env=env, cwd=ROOT)
    return {"rc": r.returncode, "stderr": r.stderr}


def leftovers(d: Path) -> list[str]:
    """Files (not directories) under ``d`` other than the filler: what a refused write left."""
    return sorted(str(p.relative_to(d)) for p in d.rglob("*") if p.is_file() and p.name != "fill")


def attempts(out: Path, home: Path, gguf: str, only: tuple[str, ...] | None = None) -> dict:
    """Every writing command (or ``only`` those) once, its output under ``out``, its home ``home``."""
    todo = {
        "export": lambda: edgeprof(home, "export", "smollm2-135m-instruct-hf", "--to", "gguf:q8_0", "--out",
                                   out / "exp"),
        "report": lambda: edgeprof(home, "report", RUN, "--out", out / "rep"),
        "reference add": lambda: edgeprof(home, "reference", "add", RUN, "--name", "mine"),
        "reference import": lambda: edgeprof(home, "reference", "import", "localscore", TSV, "--name", "ls"),
        "reference build": lambda: edgeprof(home, "reference", "build", gguf, "--suite", "localscore", "--name",
                                            "built", "--out", out / "build"),
        "models prepare": lambda: edgeprof(home, "models", "prepare", "smollm2-135m-instruct-hf"),
        "models pull": lambda: edgeprof(home, "models", "pull", "llama-3.2-1b-instruct-q4_k_m"),
        "models fetch": lambda: edgeprof(home, "models", "fetch", "smollm2-135m-instruct"),
        "devices --probe": lambda: edgeprof(home, "devices", "--probe"),
    }
    return {k: run() for k, run in todo.items() if only is None or k in only}


def main() -> None:
    base, gguf = Path(sys.argv[1]), sys.argv[2]
    result: dict = {"base": str(base)}
    ro = base / "ro"
    mount(ro, "size=64k")
    (ro / "home").mkdir()
    subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
    result["read-only"] = attempts(ro, ro / "home", gguf)
    full = base / "full"
    mount(full, "size=256k")
    (full / "home").mkdir()
    fill(full)
    result["full"] = attempts(full, full / "home", gguf, ("export", "report", "reference add", "reference import",
                                                          "models fetch"))
    result["full-leftovers"] = leftovers(full)
    afile = base / "afile"
    afile.write_text("x")
    ok_home = base / "home"
    outs = attempts(afile / "out", ok_home, gguf, ("export", "report"))
    result["below-a-file"] = {**attempts(afile / "out", afile / "home", gguf), **outs}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
