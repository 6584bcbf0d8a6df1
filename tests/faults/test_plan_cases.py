"""Issue 21 items 2 and 8 through the real CLI: two identical files in one sweep are two cases
(each its own id, samples and record, and a resume after a kill sees both), and a tampered
plan.json case is refused like the flag it came from, before anything runs."""
from __future__ import annotations

import json
import shutil

import pytest

from faultkit import FAST, cli, once_each, one_line_error

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def twin_run(tmp_path_factory, smollm2_gguf, machine_probe):
    """One finished bench of the real SmolLM2 and a byte-identical copy of it (its case keys equal)."""
    base = tmp_path_factory.mktemp("twins")
    home, out = machine_probe.seed(base / "home"), base / "run"
    twin = base / "copy" / smollm2_gguf.name
    twin.parent.mkdir()
    shutil.copyfile(smollm2_gguf, twin)
    res = cli(["bench", smollm2_gguf, twin, *FAST, "-n", "4", "--out", out, "-q"], home)
    assert res.returncode == 0, res.stderr[-2000:]
    return out, home


def test_identical_files_are_two_cases_and_a_resume_sees_both(twin_run, tmp_path):
    out, home = twin_run
    plan = json.loads((out / "plan.json").read_text())
    ids = [c["case_id"] for c in plan["cases"]]
    assert len(ids) == 2 and len(set(ids)) == 2
    assert {c["artifact"]["sha256"] for c in plan["cases"]} == {plan["cases"][0]["artifact"]["sha256"]}
    for cid in ids:
        assert (out / "samples" / f"{cid}.csv").is_file()
    run = tmp_path / "run"
    shutil.copytree(out, run)
    first = (run / "records.jsonl").read_text().splitlines()[0]
    (run / "records.jsonl").write_text(first + "\n")  # the second case was killed before its record
    again = cli(["bench", "--resume", run], home)
    assert again.returncode == 0, again.stderr[-2000:]
    assert "1 of 2 case(s) left" in again.stderr
    assert [r["case_id"] for r in once_each(run)] == ids


def test_an_older_plan_repeating_an_id_is_given_two(twin_run, tmp_path):
    """A plan written before ids were unique holds one id twice: the repeat gets its own on resume."""
    out, home = twin_run
    run = tmp_path / "run"
    shutil.copytree(out, run)
    plan = json.loads((run / "plan.json").read_text())
    plan["cases"][1]["case_id"] = plan["cases"][0]["case_id"]
    (run / "plan.json").write_text(json.dumps(plan))
    (run / "records.jsonl").write_text((run / "records.jsonl").read_text().splitlines()[0] + "\n")
    again = cli(["bench", "--resume", run], home)
    assert again.returncode == 0 and "1 of 2 case(s) left" in again.stderr, again.stderr[-2000:]
    ids = [json.loads(x)["case_id"] for x in (run / "records.jsonl").read_text().splitlines()]
    assert len(ids) == 2 and len(set(ids)) == 2


@pytest.mark.parametrize("path,value,says", [
    (("placement", "threads"), 100_000, "placement.threads must be at most 512"),
    (("placement", "n_ubatch"), "4", "placement.n_ubatch expected an integer"),
    (("workload", "depth"), -1, "workload.depth must be at least 0"),
    (("workload", "gen_tokens"), 10**30, "workload.gen_tokens must be at most"),
    (("placement", "kv_type"), "q1_x", "placement.kv_type expected one of"),
    (("placement", "n_batch"), 0, "placement.n_batch must be at least 1"),
    (("placement", "gpu_layers"), True, "placement.gpu_layers expected an integer"),
    (("workload", "tokens"), "all of them", "workload.tokens must be absent"),
    (("case_id",), "../../escape", "case_id '../../escape' is not an id"),
    (("runtime",), "sh -c id", "runtime 'sh -c id' is unknown"),
])
def test_a_tampered_case_is_refused_like_its_flag(twin_run, tmp_path, path, value, says):
    out, home = twin_run
    run = tmp_path / "run"
    shutil.copytree(out, run)
    (run / "records.jsonl").unlink()
    plan = json.loads((run / "plan.json").read_text())
    node = plan["cases"][1]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    (run / "plan.json").write_text(json.dumps(plan))
    res = cli(["bench", "--resume", run], home, timeout=60)
    assert res.returncode == 2
    line = one_line_error(res.stderr)
    assert "plan.json is damaged" in line and "case 2: " + says in line and "start a new run" in line
    assert not (run / "records.jsonl").exists()
