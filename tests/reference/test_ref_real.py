"""The server comparison on real llama.cpp benches of the packaged SmolLM2 (tiny: -p 16 -n 8, one
thread), tried as a user would through the CLI:

- one configuration benched, made into a reference set, and benched again three times: never
  faster/slower — "no detectable difference" or "equivalent" (or, on a busy machine, held back);
- the same model benched on the Orin Nano fixture tree (its board input rail, measured) against
  that CPU reference (a TDP estimate of the CPU package): the scope mismatch is named and the
  energy ratio gets no verdict;
- SmolLM2 placed where the Llama 3.2 1B catalogue model would be: benched as SmolLM2 with a
  warning, no LocalScore match.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgeprof.compare.verdicts import BUSY

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TINY = ["-p", "16", "-n", "8", "-t", "1", "--warmup", "1", "--min-seconds", "0", "--idle-seconds", "0.3"]
DIFFERENCES = ("faster", "slower", "better", "worse", "higher", "lower")
SAME = ("no detectable difference", "equivalent within", "no difference beyond the run-to-run drift", BUSY)


def _cli(tmp_path: Path, *args: str, sysroot: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, EDGEPROF_HOME=str(tmp_path / "home"), EDGEPROF_HISTORY=str(tmp_path / "h.sqlite"),
               PYTHONPATH=str(ROOT))
    if sysroot is not None:
        env["EDGEPROF_SYSROOT"] = str(sysroot)
    return subprocess.run([sys.executable, "-m", "edgeprof", *args], capture_output=True, text=True, env=env,
                          timeout=600)


def _rows(run: Path) -> list[dict]:
    return [json.loads(x) for x in (run / "records.jsonl").read_text().splitlines() if x.strip()]


@pytest.fixture(scope="module")
def cpu_reference(tmp_path_factory, smollm2_gguf, machine_probe):
    """One bench of SmolLM2 made into the user set ``same-cpu`` (5 repetitions)."""
    tmp = tmp_path_factory.mktemp("same")
    machine_probe.seed(tmp / "home")  # the machine's probe: the benches measure at once
    res = _cli(tmp, "bench", str(smollm2_gguf), *TINY, "--reps", "5", "--out", str(tmp / "run-a"))
    assert res.returncode == 0, res.stderr[-3000:]
    res = _cli(tmp, "reference", "add", str(tmp / "run-a"), "--name", "same-cpu")
    assert res.returncode == 0, res.stderr[-2000:]
    return tmp


@pytest.mark.parametrize("again", range(3))
def test_the_same_configuration_again_is_no_difference(cpu_reference, smollm2_gguf, again):
    tmp = cpu_reference
    run = tmp / f"run-b{again}"
    res = _cli(tmp, "bench", str(smollm2_gguf), *TINY, "--reps", "5", "--out", str(run))
    assert res.returncode == 0, res.stderr[-3000:]
    (row,) = _rows(run)
    comp = row["reference"]
    assert comp["kind"] == "exact" and comp["set_name"] == "same-cpu", comp.get("notes")
    for r in comp["ratios"]:
        if r["ratio"] is not None:
            assert not (r["verdict"] or "").startswith(DIFFERENCES), (r["metric"], r["ratio"], r["ci95"], r["verdict"])
    dec = next(r for r in comp["ratios"] if r["metric"] == "decode_tokens_per_s")
    if dec["verdict"] == "inconclusive":
        # a noisy (loaded) machine: nothing detected, but the interval still allows more than the margin —
        # honest, as long as the interval holds 1 (the claim never leans either way)
        assert dec["ci95"][0] < 1 < dec["ci95"][1] and dec["p_value"] >= 0.05, dec
    else:
        assert dec["verdict"].startswith(SAME), dec
    assert dec["ci95"][0] < dec["ratio"] < dec["ci95"][1] and dec["n_edge"] == dec["n_ref"] == 5
    energy = next(r for r in comp["ratios"] if r["metric"] == "energy_per_token_j")
    assert energy["verdict"] is None and "estimated" in energy["verdict_why"]   # a TDP model: no verdict
    print(f"run {again}: decode {dec['ratio']:.3f} {dec['ci95']} -> {dec['verdict']}; cell: {comp['summary'][:160]}")


def test_a_jetson_board_rail_against_a_cpu_package_estimate(cpu_reference, smollm2_gguf, tmp_path):
    spec = importlib.util.spec_from_file_location("fx_boards_ref", ROOT / "tests" / "fixtures" / "boards.py")
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    root = fx.build(tmp_path / "root", "orin-nano-jp6")
    shutil.copytree(cpu_reference / "home" / "reference", tmp_path / "home" / "reference")
    res = _cli(tmp_path, "bench", str(smollm2_gguf), *TINY, "--reps", "3", "--out", str(tmp_path / "run"),
               sysroot=root)
    assert res.returncode == 0, res.stderr[-3000:]
    (row,) = _rows(tmp_path / "run")
    assert row["device"]["kind"] == "jetson"
    assert row["metrics"]["energy_per_token_j"]["provenance"]["source"] == "ina3221:VDD_IN"
    comp = row["reference"]
    assert comp["kind"] == "exact" and "energy scope differs: edge board input rail (module)" in comp["energy_note"]
    assert "server CPU package (estimated: tdp_model)" in comp["energy_note"]
    energy = next(r for r in comp["ratios"] if r["metric"] == "energy_per_token_j")
    assert energy["ratio"] is not None and energy["verdict"] is None and "energy scope differs" in energy["verdict_why"]
    assert "energy scope differs" in res.stdout     # the table cell says it


def test_a_renamed_file_is_benched_as_itself(smollm2_gguf, tmp_path, seeded):
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    from edgeprof.models import catalogue

    e = catalogue.get("llama-3.2-1b-instruct-q4_k_m")
    dest = tmp_path / "home" / "models" / e.id / e.file
    dest.parent.mkdir(parents=True)
    shutil.copyfile(smollm2_gguf, dest)
    res = _cli(tmp_path, "bench", e.id, *TINY, "--reps", "2", "--out", str(tmp_path / "run"))
    assert res.returncode == 0, res.stderr[-3000:]
    assert "is not the catalogue's llama-3.2-1b-instruct-q4_k_m" in res.stderr
    (row,) = _rows(tmp_path / "run")
    assert row["model"]["id"] == "smollm2-135m-instruct" and row["model"]["params"] == 134515008
    assert row["artifact"]["quant"] == "q4_1" and row["reference"]["kind"] == "predicted"  # nothing measured matches
    assert any("not the catalogue's llama-3.2-1b-instruct-q4_k_m" in w for w in row["warnings"])
    assert "no set holds this model" in row["reference"]["notes"][0] and "predicted, NOT a match" in res.stdout
