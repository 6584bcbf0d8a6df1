"""The quality gate: an artifact below its tier's limits fails the export with its figures in one
line and leaves no finished-looking directory; ``--allow-degraded`` keeps it, labelled ``degraded``
in the manifest, the export README, the CLI's table and the artifacts the bench reads.

The failing artifact is real, not faked: ``broken_tiny_dir`` (conftest) is a model whose vocabulary
matrix 8-bit blocks cannot hold, so its int8 export computes uniform logits. Both runs go through
the CLI (``python -m edgeprof export``), as a user would.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgeprof import exporters
from edgeprof.exporters import partial_dir
from edgeprof.exporters.quality.gate import TIERS, failure_message, judge, tier

ROOT = Path(__file__).resolve().parents[2]


def _cli(args: list[str], env: dict) -> subprocess.CompletedProcess:
    env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "edgeprof", "export", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=900)


@pytest.fixture(scope="module")
def gated(broken_tiny_dir, xdg_cache_home, tmp_path_factory):
    """Export the broken model's int8 once without and once with --allow-degraded; what the first
    run left behind is recorded before the second one resumes from it."""
    tmp = tmp_path_factory.mktemp("gate")
    env = {"EDGEPROF_HOME": str(tmp / "home"), "XDG_CACHE_HOME": str(xdg_cache_home)}
    out = tmp / "export"
    args = [str(broken_tiny_dir), "--to", "onnx:int8", "--out", str(out)]
    first = _cli(args, env)
    build = partial_dir(out)
    left = {"out_exists": out.exists(), "manifests": list(build.rglob("manifest.json")),
            "progress": json.loads((build / ".progress.json").read_text()) if build.is_dir() else None}
    second = _cli(args + ["--allow-degraded"], env)
    return out, first, left, second


def test_a_failing_artifact_fails_the_export_with_its_figures(gated):
    _, first, left, _ = gated
    assert first.returncode == 1, first.stderr[-2000:]
    last = first.stderr.strip().splitlines()[-1]
    assert last.startswith("edgeprof export: error: onnx:int8 failed the quality gate (8-bit limits): "
                           "greedy agreement 0.000 (limit >= 0.8)")
    assert "--allow-degraded" in last and "Traceback" not in first.stderr
    assert "check:onnx-int8 failed" in first.stderr  # the step that failed, in the progress lines
    assert not left["out_exists"] and left["manifests"] == []  # nothing that looks finished
    q = left["progress"]["checks"]["onnx-int8"]["quality"]
    assert q["greedy_agreement"] == 0.0 and q["perplexity"] == pytest.approx(49152, rel=1e-3)  # uniform logits


def test_allow_degraded_resumes_and_labels_it_everywhere(gated):
    out, _, _, second = gated
    assert second.returncode == 0, second.stderr[-2000:]
    for job in ("onnx:graph", "onnx:int8", "check:onnx-int8"):  # nothing rebuilt or re-scored
        assert f"{job} skipped: already done (resumed)" in second.stderr
    [a] = exporters.read_manifest(out)["artifacts"]
    assert a["quality_status"] == "degraded" and a["quality_gate"]["tier"] == "8-bit"
    assert a["quality_gate"]["failures"] == ["greedy agreement 0.000 (limit >= 0.8)"]
    readme = (out / "README.md").read_text()
    assert "| **DEGRADED** |" in readme and "Warning: degraded artifacts" in readme
    assert "DEGRADED" in next(ln for ln in second.stdout.splitlines() if ln.startswith("| onnx-int8"))
    assert exporters.list_artifacts(out)[0].quality_status == "degraded"


def test_the_bench_sees_the_label_on_the_export_and_on_the_file_alone(gated):
    from edgeprof.models.artifacts import resolve
    from edgeprof.results.printers import quality_cell
    from edgeprof.results.schema import Record

    out = gated[0]
    rows = {a.format: a for a in resolve(str(out))}
    assert rows["onnx"].quality_status == "degraded"
    assert rows["onnx"].info().quality.quality_status == "degraded"  # the record's artifact.quality keeps it
    [alone] = resolve(str(out / "onnx-int8" / "model.onnx"))
    assert alone.quality_status == "degraded" and alone.quality.greedy_agreement == 0.0
    info = alone.info()  # what a bench row carries, and what its table cell says
    assert info.extra["quality_status"] == "degraded"
    assert "DEGRADED" in quality_cell(Record("c", artifact=info))


@pytest.mark.parametrize("fmt, quant, expected", [
    ("onnx", "fp16", "16-bit"), ("gguf", "bf16", "16-bit"), ("onnx", "int8", "8-bit"), ("gguf", "q8_0", "8-bit"),
    ("gguf", "q6_k", "5/6-bit"), ("gguf", "q5_k_m", "5/6-bit"), ("onnx", "int4-rtn", "4-bit"),
    ("gguf", "iq4_xs", "4-bit"), ("gguf", "q4_0", "4-bit"), ("gguf", "q3_k_m", "3-bit"), ("gguf", "q2_k", "2-bit"),
    ("onnx", "int3-new", "4-bit"),  # an unknown name is held to the 4-bit limits, not waved through
])
def test_every_scheme_has_a_tier(fmt, quant, expected):
    assert tier(fmt, quant) == expected


def test_judge_reads_both_figures_and_nan_fails():
    good = {"perplexity": 50.5, "baseline_perplexity": 49.0, "perplexity_ratio": 1.03, "greedy_agreement": 0.9}
    assert judge("onnx", "int4", good).status == "ok" and judge("onnx", "int8", good).status == "ok"
    assert judge("onnx", "fp16", good).failures == ("perplexity 50.5 = 1.03x the baseline's 49 (limit 1.02x)",)
    bad = {**good, "perplexity": 681713.0, "perplexity_ratio": 13924.0, "greedy_agreement": 0.0}
    v = judge("onnx", "int8", bad)
    assert v.status == "degraded" and len(v.failures) == 2
    assert v.failures[0] == "perplexity 681713 = 1.392e+04x the baseline's 49 (limit 1.06x)"
    assert judge("gguf", "q4_k_m", {**good, "perplexity_ratio": math.nan}).status == "degraded"
    assert judge("gguf", "q4_k_m", None).status == "unchecked"
    msg = failure_message("onnx:int8", v)
    assert "\n" not in msg and "--allow-degraded" in msg and "onnx:int8 failed the quality gate" in msg


def test_limits_loosen_with_fewer_bits():
    ratios = [TIERS[t][0] for t in ("16-bit", "8-bit", "5/6-bit", "4-bit", "3-bit", "2-bit")]
    agreements = [TIERS[t][1] for t in ("16-bit", "8-bit", "5/6-bit", "4-bit", "3-bit", "2-bit")]
    assert ratios == sorted(ratios) and agreements == sorted(agreements, reverse=True)


def test_bench_export_stops_at_the_gate_and_allow_degraded_benches_it_labelled(broken_tiny_dir, xdg_cache_home,
                                                                                tmp_path, seeded):
    """``bench --export`` holds the gate too: without ``--allow-degraded`` nothing broken is benched
    and the one-line error names the flag that bench itself takes; with it, the row says DEGRADED."""
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    import shutil

    src = tmp_path / "broken"
    shutil.copytree(broken_tiny_dir, src)   # the export is written next to its source
    env = {**os.environ, "EDGEPROF_HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(xdg_cache_home),
           "EDGEPROF_HISTORY": str(tmp_path / "h.sqlite"),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}

    def bench(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "edgeprof", "bench", str(src), "--export", "onnx:int8",
                               "-p", "8", "-n", "4", "--reps", "1", "--warmup", "0", "--min-seconds", "0",
                               "--idle-seconds", "0.2", "-t", "1", "--out", str(tmp_path / f"run{len(extra)}"),
                               *extra], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)

    refused = bench()
    assert refused.returncode != 0 and "Traceback" not in refused.stderr, refused.stderr[-2000:]
    last = refused.stderr.strip().splitlines()[-1]
    assert "failed the quality gate" in last and "--allow-degraded" in last
    assert not (tmp_path / "run0" / "records.jsonl").exists()
    kept = bench("--allow-degraded")
    assert kept.returncode == 0, kept.stderr[-2000:]
    rows = [json.loads(x) for x in (tmp_path / "run1" / "records.jsonl").read_text().splitlines()]
    onnx = [r for r in rows if r["artifact"]["format"] == "onnx"]
    assert len(onnx) == 1 and onnx[0]["status"] == "ok"
    assert onnx[0]["artifact"]["quality"]["quality_status"] == "degraded"
    assert any("DEGRADED" in ln for ln in kept.stdout.splitlines() if "onnx" in ln)
    again = bench("--allow-degraded", "--overwrite")   # the finished export is reused, not rebuilt
    assert again.returncode == 0 and "export: reusing" in again.stderr, again.stderr[-2000:]
