"""Peak RSS is the worker's own (issue 20, item 1).

The worker is a spawn child (fork + exec) and Linux keeps ``ru_maxrss`` across exec, so a worker
that reported ``getrusage`` showed the bench parent's high-water mark: 383 MiB for a 181 MiB
model, and 294 MiB for every GGUF row after a torch case. These run the real bench: once under a
parent that touched 600 MiB more than the model needs, once with a GGUF row alone and after an HF
(torch) case in one sweep."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
MiB = 2**20

#: a bench parent that holds 600 MiB of touched memory before it starts the worker
FAT_PARENT = """
import resource, sys
ballast = bytearray(600 * 2**20)
for i in range(0, len(ballast), 4096):
    ballast[i] = 1
from edgeprof.cli import main
rc = main(sys.argv[1:])
print("PARENT_PEAK", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, file=sys.stderr)
sys.exit(rc)
"""


def _bench(tmp: Path, name: str, models: list[Path], script: str | None = None) -> tuple[list[dict], str]:
    env = dict(os.environ, EDGEPROF_HOME=str(tmp / "home"), PYTHONPATH=str(ROOT))
    head = [sys.executable, "-c", script] if script else [sys.executable, "-m", "edgeprof"]
    proc = subprocess.run([*head, "bench", *map(str, models), "-p", "16", "-n", "8", "--reps", "2", "--warmup", "0",
                           "--min-seconds", "0", "--idle-seconds", "0.2", "-t", "1", "--out", str(tmp / name),
                           "-o", "json"], capture_output=True, text=True, env=env, cwd=tmp, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout), proc.stderr


def _peak(row: dict) -> float:
    assert row["status"] == "ok", row["error"]
    return row["metrics"]["peak_rss_bytes"]["value"]


def test_a_fat_parent_does_not_lend_the_worker_its_peak(smollm2_gguf, tmp_path, seeded):
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    [row], err = _bench(tmp_path, "fat", [smollm2_gguf], FAT_PARENT)
    parent = int(err.rsplit("PARENT_PEAK", 1)[1].split()[0])
    peak = _peak(row)
    assert parent > 600 * MiB                      # the parent really held the ballast
    assert 60 * MiB < peak < parent - 400 * MiB, (peak / MiB, parent / MiB)
    prov = row["metrics"]["peak_rss_bytes"]["provenance"]
    assert prov["source"].startswith("VmHWM"), prov


def test_a_gguf_row_weighs_the_same_alone_and_after_a_torch_case(smollm2_gguf, tiny, tmp_path, seeded):
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    [alone], _ = _bench(tmp_path, "alone", [smollm2_gguf])
    rows, _ = _bench(tmp_path, "after-hf", [tiny["hf"], smollm2_gguf])
    assert [r["artifact"]["format"] for r in rows] == ["hf", "gguf"]
    _peak(rows[0])
    a, b = _peak(alone), _peak(rows[1])
    assert abs(a - b) < 0.1 * a, (a / MiB, b / MiB)
