"""The packaged LocalScore set: every shipped row loads with its provenance, a malformed row is
rejected with its line number, the import CLI uses the same loader, and a suite summary of a GGUF
whose metadata names Llama 3.2 1B Instruct Q4_K_M is an exact match for the H100/H200 rows."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from refdata import LOCALSCORE_CASES, metric, suite_case, write_gguf

from edgeprof.analysis import suites
from edgeprof.compare import localscore as ls
from edgeprof.compare import reference as ref
from edgeprof.models.artifacts import gguf_artifact
from edgeprof.results.schema import Metric, Workload

TSV = ref.asset("reference", "localscore", "localscore_results.tsv")


@pytest.fixture(scope="module")
def packaged():
    return ref.load_set(ref.asset("reference", "localscore"), "packaged")


def test_every_shipped_row_loads_with_its_provenance(packaged):
    assert packaged.name == "localscore" and len(packaged.records) == 1218 and all(r.ok for r in packaged.records)
    assert packaged.verification == "UNVERIFIED-PUBLIC-SUBMISSIONS"
    for r in packaged.records:
        rid = r.extra["result_id"]
        assert r.case_id == f"localscore/{rid}" and r.extra["url"] == f"https://www.localscore.ai/result/{rid}"
        assert r.runtime.extra["label"] == "llamafile (version not published)"
        assert r.started_at and r.device.name and "os" in r.device.extra and r.workload.suite == "localscore"
        assert r.metric("decode_tokens_per_s").provenance.kind == "reference"
    r644 = next(r for r in packaged.records if r.extra["result_id"] == 644)
    assert (r644.model.name, r644.artifact.quant, r644.device.name) == ("Llama 3.2 1B Instruct", "q4_k_m",
                                                                        "NVIDIA H100 80GB HBM3")
    assert r644.value("decode_tokens_per_s") == pytest.approx(96.6) and r644.host
    assert r644.model.params == 1.24e9 and r644.model.extra["params_published"] == 1.5e9
    assert sum(r.model.name == "Llama 3.2 1B Instruct" and r.artifact.quant == "q4_k_m" for r in packaged.records) == 493


def test_the_score_formula_reproduces_every_published_score(packaged):
    for r in packaged.records:
        s = suites.localscore_score(r.value("prefill_tokens_per_s"), r.value("decode_tokens_per_s"), r.value("ttft_ms"))
        published = r.value("localscore")
        assert abs((s or 0.0) - published) <= max(1.0, 0.01 * published), r.case_id


@pytest.mark.parametrize("edit,message", [
    (lambda f: f.__setitem__(2, "fast"), r":3: column gen_tps is 'fast', not a number"),
    (lambda f: f.pop(), r":3: 19 tab-separated fields, expected 20"),
    (lambda f: f.__setitem__(1, "19/03/2025"), r":3: test_date '19/03/2025' is not"),
    (lambda f: f.__setitem__(4, "s"), r":3: ttft_unit 's' is not 'ms'"),
    (lambda f: f.__setitem__(0, "1"), r":3: result id 1 appears twice"),
])
def test_a_malformed_row_is_rejected_with_its_line_number(tmp_path, edit, message):
    lines = TSV.read_text().splitlines()
    fields = lines[2].split("\t")
    edit(fields)
    bad = tmp_path / "bad.tsv"
    bad.write_text("\n".join(lines[:2] + ["\t".join(fields)] + lines[3:10]) + "\n")
    with pytest.raises(ls.LocalScoreError, match=message):
        ls.read_tsv(bad)


def test_import_cli_uses_the_same_loader_and_refreshes_the_packaged_set(tmp_path, home, capsys):
    from edgeprof.cli import main

    newer = tmp_path / "newer.tsv"
    newer.write_text("\n".join(TSV.read_text().splitlines()[:51]) + "\n")
    assert main(["reference", "import", "localscore", str(newer), "-o", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["rows"] == 50 and out["imported"].startswith("localscore-2025")
    sets = ref.load_sets()
    user = ref.get_set(out["imported"], sets)
    assert user.origin == "user" and user.meta.refreshes == "localscore" and len(user.records) == 50
    assert [s.name for s in ref.matching_sets(sets)].count("localscore") == 0  # the refresh replaces it
    assert main(["reference", "import", "localscore", str(newer), "--name", "localscore"]) == 2
    assert "reserved for the packaged set" in capsys.readouterr().err
    broken = tmp_path / "broken.tsv"
    broken.write_text(newer.read_text().replace("\tms\t", "\tsec\t", 1))
    assert main(["reference", "import", "localscore", str(broken), "--name", "other"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "broken.tsv:2: ttft_unit" in err and not (home / "reference" / "other").exists()
    assert main(["reference", "list", "-o", "json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["localscore"]["rows_ok"] == 1218 and rows["localscore"]["note"] == f"superseded by {out['imported']}"
    assert rows["localscore"]["verification"] == "UNVERIFIED-PUBLIC-SUBMISSIONS"


def _llama_suite_run(tmp_path, model=None, quant=None):
    """Nine localscore cases of a GGUF whose metadata names Llama 3.2 1B Instruct Q4_K_M (three
    repetitions each): the records a suite run writes."""
    path = write_gguf(tmp_path / "Llama-3.2-1B-Instruct-Q4_K_M.gguf", {
        "general.architecture": "llama", "general.name": "Llama 3.2 1B Instruct", "general.basename": "Llama-3.2",
        "general.size_label": "1B", "general.finetune": "Instruct", "general.file_type": 15})
    art = gguf_artifact(path)
    assert art.quant == "q4_k_m" and art.model.extra["general_name"] == "Llama 3.2 1B Instruct"
    recs = []
    for i, (p, n) in enumerate(LOCALSCORE_CASES):
        r = suite_case(p, n, prefill=[500.0 - i, 510.0 - i, 520.0 - i], decode=[40.0, 41.0, 43.0],
                       ttft=[p / 0.51, p / 0.5, p / 0.49], device_name="NVIDIA Jetson Orin Nano Developer Kit",
                       kind="jetson")  # edge figures are made up; the LocalScore rows they meet are real
        roof = metric([x * 0.81e9 / 68e9 for x in (40.0, 41.0, 43.0)], "ratio", "derived", "roofline")
        r = r.with_metrics({"roofline_fraction": Metric.from_dict(roof)})
        recs.append(replace(r, model=model or replace(art.model, params=1_235_814_400),
                            artifact=replace(r.artifact, quant=quant or art.quant)))
    return recs


def test_llama_1b_suite_summary_is_exact_against_h100_and_h200(tmp_path, packaged):
    recs = _llama_suite_run(tmp_path)
    summary = suites.summarize(suites.load("localscore"), recs)[0]
    c = ref.match(summary, [packaged])
    assert c.kind == "exact" and c.set_name == "localscore" and c.n_candidates == 493
    by_id = {r.result_id: r for r in c.rows}
    for rid in (644, 355, 94, 69):  # H100 SXM, H200 (twice), H100 PCIe
        assert rid in by_id and by_id[rid].url == f"https://www.localscore.ai/result/{rid}"
    assert c.rows[0].device == "NVIDIA H200"  # the fastest published memory first
    row = by_id[644]
    assert (row.runtime, row.verification) == ("llamafile (version not published)", "UNVERIFIED-PUBLIC-SUBMISSION")
    assert row.host == "Intel Xeon Platinum 8468 (sapphirerapids)"  # the server's host CPU, always named
    r = {x.metric: x for x in row.ratios}
    assert r["decode_tokens_per_s"].ratio == pytest.approx(summary.value("decode_tokens_per_s") / 96.6)
    assert r["decode_tokens_per_s"].ci95 is not None and r["localscore"].ci95 is not None
    assert row.server_roofline.value == pytest.approx(96.6 / (3350e9 / 0.81e9))
    assert row.edge_roofline.value == pytest.approx(41 * 0.81e9 / 68e9) and row.edge_roofline.ci95
    assert "devices.csv nvidia_h100_sxm" in row.server_roofline.basis
    roles = {x.device_role for x in c.rows}
    assert {"datacenter-gpu", "jetson", "rpi", "apple"} <= roles
    assert not any(x.device_role == "cpu" for x in c.rows)  # this edge device is not a CPU of a known family
    for per_case in recs:  # a single case matches nothing it was not run as
        assert ref.match(per_case, [packaged]).kind == "none"


def test_same_model_other_quant_and_smollm2_none(tmp_path, packaged):
    q8 = suites.summarize(suites.load("localscore"), _llama_suite_run(tmp_path, quant="q8_0"))[0]
    c = ref.match(q8, [packaged])
    assert c.kind == "exact" and {r.quant for r in c.rows} == {"q8_0"}  # LocalScore has 4 Q8_0 rows of it
    q5s = suites.summarize(suites.load("localscore"), _llama_suite_run(tmp_path, quant="q5_k_s"))[0]
    c = ref.match(q5s, [packaged])
    assert c.kind == "same-model" and c.format_note.startswith("format differs: edge gguf q5_k_s")
    assert "vs server gguf q4_k_m" in c.format_note and c.summary.startswith("same model, other quant")
    from edgeprof.results.schema import ModelInfo

    smol = ModelInfo("smollm2-135m-instruct", "SmolLM2-135M-Instruct", 134515008)
    s = suites.summarize(suites.load("localscore"), _llama_suite_run(tmp_path, model=smol, quant="q4_1"))[0]
    c = ref.match(s, [packaged])
    assert c.kind == "none" and not c.rows and "within 4×" in c.notes[0]
    planned = ref.plan_matches(smol, "q4_1", Workload(suite="localscore"), [packaged])
    assert planned.kind == "none"


def test_plan_matches_for_a_suite_case(tmp_path, packaged):
    case = type("Case", (), {})()
    art = gguf_artifact(write_gguf(tmp_path / "m.gguf", {"general.name": "Llama 3.2 1B Instruct",
                                                         "general.file_type": 15}))
    case.workload = suites.load("localscore").workloads()[0]
    case.artifact = replace(art, model=replace(art.model, params=1_235_814_400))  # what a real 1B file counts
    planned = ref.plan_matches_for_case(case, [packaged])
    assert planned["case"].kind == "none" and planned["summary"].kind == "exact"
    assert planned["summary"].n_candidates == 493 and planned["summary"].rows[0].result_id
    case.artifact = art  # the same names on a file whose tensors hold 64 parameters: never a match
    spoof = ref.plan_matches_for_case(case, [packaged])["summary"]
    assert spoof.kind == "none" and "a name is a claim, the tensors decide" in " ".join(spoof.notes)


def test_show_lists_what_a_catalogue_model_can_be_compared_with(home, capsys):
    from edgeprof.cli import main

    assert main(["reference", "show", "localscore", "--model", "llama-3.2-1b-instruct-q4_k_m", "-o", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    kinds = [r["match"] for r in rows]
    assert kinds.count("exact") == 493 and kinds[:493] == ["exact"] * 493  # strongest first
    same = {r["model"] for r in rows if r["match"] in ("exact", "same-model")}
    assert same == {"Llama 3.2 1B Instruct", "Llama-3.2-1B-Instruct"}  # free-text names, one model
    normalized = [r for r in rows if r["match"].startswith("normalized")]
    assert normalized and all(r["model"] != "Llama 3.2 1B Instruct" for r in normalized)
    assert not any("14B" in r["model"] or "8B" in r["model"] for r in normalized)  # never 4x away
    assert all(r["url"].startswith("https://www.localscore.ai/result/") for r in rows)
    # each row's decode as a share of its accelerator's published bandwidth limit, where one is known
    roof = {r["machine"]: r["roofline"] for r in rows if r["match"] == "exact"}
    assert roof["NVIDIA H200"].endswith("%") and float(roof["NVIDIA H200"][:-1]) < 5     # host-bound at 1B
    assert float(roof["Raspberry Pi 5 Model B Rev 1.0"][:-1]) > 30
    assert "n/a" in roof.values()                                                        # desktop CPUs: no figure
    basis = {r["machine"]: r["roofline_basis"] for r in rows if r["match"] == "exact"}
    assert "devices.csv nvidia_h200_sxm" in basis["NVIDIA H200"] and "B/token" in basis["NVIDIA H200"]
    assert all(b for b in basis.values())                     # a figure or the reason there is none
