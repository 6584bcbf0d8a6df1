"""One real suite run of the default model on this CPU (``--suite llamacpp-scoreboard``, small
repetitions): rows carry ``workload.suite`` and random-token input, ``suite.json`` holds pp512/tg128
with intervals, and the run turned into a reference set matches its own summary exactly (ratio 1)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgeprof.compare import reference as ref
from edgeprof.engine.suite_file import summaries

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _cli(*args, home: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, EDGEPROF_HOME=str(home), PYTHONPATH=str(ROOT))
    env.pop("EDGEPROF_HISTORY", None)
    return subprocess.run([sys.executable, "-m", "edgeprof", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def run(tmp_path_factory, smollm2_gguf, machine_probe):
    home = machine_probe.seed(tmp_path_factory.mktemp("home"))  # the machine's probe, measured once
    out = tmp_path_factory.mktemp("run") / "sb"
    proc = _cli("bench", str(smollm2_gguf), "--suite", "llamacpp-scoreboard", "--reps", "2", "--min-seconds", "0",
                "--idle-seconds", "0.2", "-t", "1", "--out", str(out), home=home, cwd=out.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, home, proc.stdout


def test_rows_record_the_suite_and_its_input(run):
    out, _, stdout = run
    rows = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert [(r["workload"]["prompt_tokens"], r["workload"]["gen_tokens"]) for r in rows] == [(512, 0), (0, 128)]
    for r in rows:
        w = r["workload"]
        assert (w["suite"], w["tokens"], w["suite_version"]) == ("llamacpp-scoreboard", "random", 1)
        assert r["status"] == "ok" and r["reference"]["kind"] == "predicted"  # no measured row: H100/H200 predicted
        warm = [p for p in r["phases"] if p.get("label") == "warmup" and p["name"] in ("prefill", "decode")]
        assert len(warm) == 1  # one warm-up pass of the suite's shape
    pp, tg = rows
    assert pp["metrics"]["prefill_tokens_per_s"]["n"] == 2 and "decode_tokens_per_s" not in pp["metrics"]
    assert tg["metrics"]["decode_tokens_per_s"]["n"] == 2 and "ttft_ms" not in tg["metrics"]
    plan = json.loads((out / "plan.json").read_text())
    assert plan["suites"] == [{"name": "llamacpp-scoreboard", "version": 1}]
    assert "### llamacpp-scoreboard v1 summary" in stdout and "server comparison: PREDICTED" in stdout


def test_suite_json_holds_pp512_and_tg128(run):
    out, _, _ = run
    data = json.loads((out / "suite.json").read_text())
    [s] = summaries(data)
    rows = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
    assert s.ok and s.workload.suite == "llamacpp-scoreboard" and data["suites"][0]["cases"] == ["pp512", "tg128"]
    assert s.value("prefill_tokens_per_s") == rows[0]["metrics"]["prefill_tokens_per_s"]["median"]
    assert s.value("decode_tokens_per_s") == rows[1]["metrics"]["decode_tokens_per_s"]["median"]
    assert s.metric("decode_tokens_per_s").ci95 is not None
    assert s.value("prefill_tokens_per_s") > s.value("decode_tokens_per_s")  # batched prompt beats one-by-one decode
    assert s.reference.kind == "predicted" and "no measured server row matches" in s.reference.notes[0]


def test_the_run_as_a_reference_matches_its_own_summary(run, tmp_path):
    out, home, _ = run
    proc = _cli("reference", "add", str(out), "--name", "this-cpu", home=home, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    sets = ref.load_sets(user_dir=home / "reference")
    [s] = summaries(json.loads((out / "suite.json").read_text()))
    c = ref.match(s, sets)
    assert c.kind == "exact" and c.set_name == "this-cpu" and "summary" in c.row
    r = {x.metric: x for x in c.ratios}["decode_tokens_per_s"]
    assert r.ratio == pytest.approx(1.0) and r.ci95[0] <= 1.0 <= r.ci95[1]
    meta = json.loads((home / "reference" / "this-cpu" / "reference.json").read_text())
    assert meta["workload"]["suites"] == ["llamacpp-scoreboard"]
    assert meta["verification_status"].startswith("MEASURED") and meta["energy_provenance"]


def test_reference_build_runs_the_suite_and_records_the_machine(tmp_path, smollm2_gguf, test_home, run):
    _, home, _ = run
    proc = _cli("reference", "build", str(smollm2_gguf), "--name", "localscore", "--suite", "llamacpp-scoreboard",
                home=home, cwd=tmp_path)
    assert proc.returncode == 2 and "reserved for the packaged set" in proc.stderr  # before anything runs
    proc = _cli("reference", "build", str(smollm2_gguf), "--name", "x", home=home, cwd=tmp_path)
    assert proc.returncode == 2 and "needs --suite" in proc.stderr and not (tmp_path / "edgeprof-runs").exists()
    proc = _cli("reference", "build", str(smollm2_gguf), "--suite", "llamacpp-scoreboard", "--name", "x",
                "--pack", str(tmp_path / "no-such-folder" / "x.tar.gz"), home=home, cwd=tmp_path)
    assert proc.returncode == 2 and "its folder does not exist" in proc.stderr
    assert proc.stderr.count("\n") == 1 and not (tmp_path / "edgeprof-runs").exists()   # refused before the suite
    pack = tmp_path / "cpu-build.tar.gz"
    proc = _cli("reference", "build", str(smollm2_gguf), "--suite", "llamacpp-scoreboard", "--name", "cpu-build",
                "--reps", "1", "--warmup", "0", "--min-seconds", "0", "--idle-seconds", "0.2", "-t", "1",
                "--out", str(tmp_path / "build-run"), "--pack", str(pack), home=home, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"packed as {pack} for 'edgeprof reference import set' on other machines" in proc.stdout
    _imports_elsewhere_with_its_provenance(pack, home, tmp_path)
    meta = json.loads((home / "reference" / "cpu-build" / "reference.json").read_text())
    assert meta["build"]["suites"] == ["llamacpp-scoreboard"] and meta["hardware"]["devices"]
    assert "CPU :" in meta["build"]["runtime_build"]["llama_cpp_system_info"]  # the llama.cpp build's features
    assert meta["software"]["runtimes"] == ["llama.cpp 0.3.36"] and meta["energy_provenance"]
    s = ref.get_set("cpu-build", ref.load_sets(user_dir=home / "reference"))
    assert sorted(r.workload.label for r in s.records) == ["llamacpp-scoreboard summary", "pp512", "tg128"]


def _imports_elsewhere_with_its_provenance(pack: Path, home: Path, tmp_path: Path) -> None:
    """``reference build --pack``'s file, imported on "another machine" (a fresh home): every row,
    the build, hardware and software blocks as the building machine wrote them, and where and when
    it came from (``imported``: the file, its sha256, the set's original name); ``reference list``
    says so, and the imported set matches the build's own suite summary exactly."""
    import hashlib

    built = json.loads((home / "reference" / "cpu-build" / "reference.json").read_text())
    other = tmp_path / "other-home"
    proc = _cli("reference", "import", "set", str(pack), "--name", "cpu-build-imported", "-o", "json",
                home=other, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["imported"] == "cpu-build-imported" and out["rows"] == 3
    meta = json.loads((other / "reference" / "cpu-build-imported" / "reference.json").read_text())
    for block in ("build", "hardware", "software", "energy_provenance", "created_from"):
        assert meta[block] == built[block], block
    imp = meta["imported"]
    assert imp["original_name"] == "cpu-build" and imp["from"] == str(pack.resolve())
    assert imp["sha256"] == hashlib.sha256(pack.read_bytes()).hexdigest() and imp["imported_at"]
    assert (other / "reference" / "cpu-build-imported" / "suite.json").is_file()
    listed = _cli("reference", "list", home=other, cwd=tmp_path)
    line = next(x for x in listed.stdout.splitlines() if "cpu-build-imported" in x)
    assert f"imported from {pack.name}" in line, listed.stdout
    [s] = summaries(json.loads((tmp_path / "build-run" / "suite.json").read_text()))
    c = ref.match(s, ref.load_sets(user_dir=other / "reference"))
    assert c.kind == "exact" and c.set_name == "cpu-build-imported"
    assert {x.metric: x for x in c.ratios}["decode_tokens_per_s"].ratio == pytest.approx(1.0)
