"""Matching rules (CONTRACTS "Server references"): exact / same-model / normalized (within 4× of the
parameter count, per parameter AND roofline fraction) / none; EfficientLLM rows only as labelled
context; intervals on ratios; provenance kinds kept; reserved names. The old rule ("family first,
any size": SmolLM2-135M vs Yi-34B int4, 252× its size) is gone, and these tests say so."""
from __future__ import annotations

import json

import pytest
from refdata import make_record, metric, write_run

from edgeprof.commands.reference import add_run
from edgeprof.compare import reference as ref
from edgeprof.results.schema import ModelInfo, Workload


@pytest.fixture
def eff():
    return ref.load_set(ref.asset("reference", "efficientllm-gh200"), "packaged")


def test_efficientllm_keeps_status_and_definitions(eff):
    assert eff.name == "efficientllm-gh200" and eff.verification == "UNVERIFIED-SECONDARY"
    defs = eff.meta.metric_definitions
    assert "POWER in watts" in defs["avg_power_w"] and "GB" in defs["amu_gb"]
    assert "NOMINAL" in defs["mcr"] and "Batched" in defs["it_tokens_per_s"] and "UNCLEAR" in defs["al_ms"]
    assert len(eff.records) == 27 and sum(r.ok for r in eff.records) == 14
    row = next(r for r in eff.records if r.case_id == "DeepSeek-R1-Distill-Qwen-14B/int4")
    assert row.artifact.quant == "int4" and row.artifact.extra["method"] == "awq"
    aec = row.metric("avg_power_w")
    assert aec.value == pytest.approx(191.05) and aec.unit == "W"
    assert aec.provenance.kind == "reference" and "UNVERIFIED-SECONDARY" in aec.provenance.note
    assert all(r.workload.prompt_tokens is None for r in eff.records)  # never an exact match


def test_precision_mapping():
    assert ref.precision_class("bf16") == ref.precision_class("f16") == ref.precision_class("fp32") == "16-bit baseline"
    assert ref.precision_class("q4_k_m") == ref.precision_class("int4") == ref.precision_class("q4_1") == "int4"


def _edge(**kw):
    extra = {"avg_rss_bytes": metric([1.5e8], "B"), "avg_power_w": metric([30.0], "W", "estimated", "tdp_model"),
             "energy_per_token_j": metric([0.3], "J/token", "estimated", "tdp_model"),
             "roofline_fraction": metric([0.30, 0.31, 0.32], "ratio", "derived", "roofline")}
    return make_record(decode=[100.0, 110.0, 120.0], ttft=[400.0, 410.0, 420.0], extra=extra, **kw)


def _server(quant="q4_1", **kw):
    extra = {"avg_rss_bytes": metric([3e9], "B"), "avg_power_w": metric([300.0], "W", source="nvml"),
             "energy_per_token_j": metric([0.5], "J/token", source="nvml_energy_counter"),
             "roofline_fraction": metric([0.02], "ratio", "derived", "roofline")}
    extra.update(kw.pop("extra", {}))
    return make_record(quant=quant, decode=[1000.0, 1100.0, 1200.0], ttft=[20.0, 20.5, 21.0], kind="nvidia",
                       device_name="NVIDIA H100 80GB HBM3", host="srv", extra=extra, **kw)


def _set(tmp_path, rows, name="h100"):
    add_run(write_run(tmp_path / f"run-{name}", rows), name, dest_root=tmp_path / "refs")
    return ref.load_sets(user_dir=tmp_path / "refs")


def test_exact_match_names_the_row_and_carries_intervals(tmp_path):
    c = ref.match(_edge(), _set(tmp_path, [_server()]))
    assert c.kind == "exact" and c.set_name == "h100" and c.verification == "MEASURED"
    r = {x.metric: x for x in c.ratios}
    assert r["decode_tokens_per_s"].ratio == pytest.approx(110 / 1100)
    lo, hi = r["decode_tokens_per_s"].ci95  # both sides have repetitions: bootstrap of the ratio of medians
    assert lo < 0.1 < hi and hi / lo < 2
    assert r["ttft_ms"].ratio == pytest.approx(410 / 20.5) and r["energy_per_token_j"].ratio == pytest.approx(0.6)
    assert r["avg_power_w"].edge_provenance.kind == "estimated" and r["avg_power_w"].ref_provenance.source == "nvml"
    row = c.rows[0]
    assert (row.runtime, row.host, row.device) == ("llama.cpp 0.3.36", "srv", "NVIDIA H100 80GB HBM3")
    assert row.edge_roofline.value == pytest.approx(0.31) and row.server_roofline.value == pytest.approx(0.02)
    s = c.summary
    assert s.startswith("vs h100:") and "MEASURED; llama.cpp 0.3.36; host srv" in s and "(edge est.)" in s
    assert "decode 0.1× [" in s  # the interval is part of the one-liner
    assert json.loads(json.dumps(c.to_dict()))["rows"][0]["ratios"]


def test_other_quant_is_same_model_and_says_so(tmp_path):
    c = ref.match(_edge(), _set(tmp_path, [_server("f16")]))
    assert c.kind == "same-model" and "format differs" in c.format_note and "f16" in c.format_note
    assert c.summary.startswith("same model, other quant: vs h100:")
    c = ref.match(_edge(), _set(tmp_path / "two", [_server("f16"), _server("q4_1", p=128)], name="both"))
    assert c.kind == "exact" and {r.quant for r in c.rows} == {"q4_1"}  # the exact row wins, alone


def test_smollm2_never_meets_a_34b_row(eff):
    """The bug this fixes: SmolLM2-135M was 'normalized' against Yi-34B int4 (252× its size)."""
    for arch in ("llama", "qwen2", None):  # the family label no longer moves anything
        c = ref.match(_edge(arch=arch), [eff])
        assert c.kind == "none" and not c.rows and not c.context
        assert "4× its parameter count" in c.notes[0] or "no reference row" in c.notes[0]
        assert "Yi-34B" not in json.dumps(c.to_dict())


def test_normalized_only_within_4x_with_per_parameter_and_roofline(tmp_path):
    near = _server(model="other-300m", params=3.0e8)  # 2.2× SmolLM2's 134.5 M parameters
    far = _server(model="other-600m", params=6.0e8)   # 4.46×: never compared
    c = ref.match(_edge(), _set(tmp_path, [near, far]))
    assert c.kind == "normalized" and [r.model for r in c.rows] == ["other-300m"]
    r = {x.metric: x for x in c.ratios}
    dec = r["decode_tokens_per_s×params_b"]
    assert dec.ratio == pytest.approx((110 * 0.134515008) / (1100 * 0.3)) and dec.edge_unit == "tokens/s·Bparam"
    assert r["avg_rss_bytes/params_b"].ratio == pytest.approx((1.5e8 / 0.134515008) / (3e9 / 0.3))
    assert r["avg_power_w"].ratio is None and "not size-normalizable" in r["avg_power_w"].note
    assert c.rows[0].edge_roofline.value == pytest.approx(0.31)
    assert c.rows[0].server_roofline.value == pytest.approx(0.02)
    assert "NOT a match" in c.summary and c.rows[0].params_factor == pytest.approx(3e8 / 134515008)
    c = ref.match(_edge(), _set(tmp_path / "alone", [far], name="far"))
    assert c.kind == "none" and "within 4×" in c.notes[0]


def test_context_rows_are_never_a_match(eff):
    rec = _edge(model="DeepSeek-R1-Distill-Qwen-1.5B", params=1.78e9, arch="qwen2")
    c = ref.match(rec, [eff])
    assert c.kind == "none" and c.context, "EfficientLLM's rows of this model stay as context"
    assert all(r.kind == "context" and "NOT a match" in r.notes[0] for r in c.context)
    assert {r.row for r in c.context} == {"DeepSeek-R1-Distill-Qwen-1.5B/bfloat16",
                                          "DeepSeek-R1-Distill-Qwen-1.5B/float16"}
    assert all(r.verification.startswith("UNVERIFIED-SECONDARY") for r in c.context)


def test_estimated_power_stays_estimated_in_a_user_set(tmp_path):
    est = _server(extra={"avg_power_w": metric([40.0], "W", "estimated", "tdp_model")})
    sets = _set(tmp_path, [est], name="cpu-est")
    s = ref.get_set("cpu-est", sets)
    assert s.verification == "MEASURED (power/energy ESTIMATED: tdp_model)"
    assert s.records[0].metric("avg_power_w").provenance.kind == "estimated"
    c = ref.match(_edge(), sets)
    assert {x.metric: x for x in c.ratios}["avg_power_w"].ref_provenance.kind == "estimated"
    assert "(server est.)" in c.summary and "ESTIMATED" in c.summary


def test_reserved_names_are_refused(tmp_path, home, capsys):
    run = write_run(tmp_path / "r", [_server()])
    for name in ("localscore", "efficientllm-gh200"):
        with pytest.raises(ref.ReferenceSetError, match=f"'{name}' is reserved for the packaged set"):
            add_run(run, name, dest_root=tmp_path / "refs")
    fake = tmp_path / "refs" / "fake"  # made by hand, claiming the packaged name
    fake.mkdir(parents=True)
    (fake / "reference.json").write_text(json.dumps({"name": "localscore", "verification_status": "VERIFIED"}))
    (fake / "records.jsonl").write_text(json.dumps(_server().to_dict()) + "\n")
    notes: list[str] = []
    sets = ref.load_sets(user_dir=tmp_path / "refs", notes=notes)
    assert [s.origin for s in sets if s.name == "localscore"] == ["packaged"] and "ignored" in notes[0]


def test_unit_mismatch_is_never_divided(tmp_path):
    srv = _server(extra={"energy_per_token_j": metric([500.0], "mJ/token")})
    c = ref.match(_edge(), _set(tmp_path, [srv]))
    r = {x.metric: x for x in c.ratios}["energy_per_token_j"]
    assert c.kind == "exact" and r.ratio is None and "unit mismatch" in r.note


def test_plan_matches_before_anything_runs(tmp_path):
    sets = _set(tmp_path, [_server()])
    m = ModelInfo("smollm2-135m-instruct", "SmolLM2-135M-Instruct", 134515008)
    planned = ref.plan_matches(m, "q4_1", Workload(128, 128, 0, 1), sets)
    assert planned.kind == "exact" and planned.rows[0].set_name == "h100" and not planned.rows[0].ratios
    assert ref.plan_matches(m, "q4_1", Workload(512, 128, 0, 1), sets).kind == "none"
    assert ref.plan_matches(m, "q8_0", Workload(128, 128, 0, 1), sets).kind == "same-model"


def test_unknown_set_and_bad_dirs(tmp_path):
    with pytest.raises(ref.ReferenceSetError, match="unknown reference set 'x'"):
        ref.get_set("x", [])
    with pytest.raises(ref.ReferenceSetError, match="no reference.json"):
        ref.load_set(tmp_path)
    with pytest.raises(Exception, match="no such run directory"):
        add_run(tmp_path / "missing", "n", dest_root=tmp_path / "refs")
    with pytest.raises(ref.ReferenceSetError, match="bad reference name"):
        add_run(tmp_path, "../x", dest_root=tmp_path / "refs")


def test_the_table_cell_keeps_its_brackets_balanced():
    """A verification with details after a colon (a user set of an estimated-power run) is cut to
    its words, not mid-parenthesis: ``[measured (power/energy estimated)]``."""
    from dataclasses import replace

    from edgeprof.results.printers import reference_cell

    ref = {"kind": "exact", "set_name": "my-ref", "row": "q4_1 p16/n8/d0 on AMD EPYC",
           "verification": "MEASURED (power/energy ESTIMATED: tdp_model)",
           "ratios": [{"metric": "ttft_ms", "ratio": 0.989, "ci95": [0.982, 0.995]}], "rows": [{}]}
    from edgeprof.results.comparison import Comparison

    cell = reference_cell(replace(make_record(decode=[100.0]), reference=Comparison.from_dict(ref)))
    assert "[measured (power/energy estimated)]" in cell and cell.count("(") == cell.count(")"), cell
    public = reference_cell(replace(make_record(decode=[100.0]), reference=Comparison.from_dict(
        {**ref, "verification": "UNVERIFIED-PUBLIC-SUBMISSION: llamafile"})))
    assert "[unverified-public-submission]" in public


def test_a_model_no_set_holds_is_told_the_nearest_one_and_not_sent_to_a_suite(tmp_path):
    """SmolLM2-135M against the packaged sets: no row of it or of a model within 4×; the note names
    the closest model they hold and does not suggest a suite that cannot match it either."""
    from edgeprof.compare.refsets import load_sets

    sets = load_sets(tmp_path / "none")
    c = ref.match(make_record(decode=[100.0]), sets)
    assert c.kind == "none" and "suite" not in c.notes[0], c.notes
    assert "no set holds this model or one within 4× its size; the closest is" in c.notes[0]
    one_b = make_record(model="llama-3.2-1b-instruct", params=1.24e9, quant="q4_k_m", decode=[100.0])
    c = ref.match(replace_name(one_b, "Llama 3.2 1B Instruct"), sets)
    assert c.kind == "none" and "bench with --suite localscore to match them" in c.notes[0], c.notes


def replace_name(rec, name):
    from dataclasses import replace

    return replace(rec, model=replace(rec.model, name=name))


def test_a_model_with_rows_for_other_workloads_is_told_which():
    """A set that holds this model at other workloads (an earlier run made a set): the note names
    them, so the next bench can match."""
    from pathlib import Path

    from edgeprof.compare.refsets import load_set

    earlier = load_set(Path(__file__).resolve().parents[1] / "tui" / "data" / "earlier-run")
    c = ref.match(make_record(p=64, n=64, decode=[100.0]), [earlier])
    assert c.kind == "none" and "this model's rows are for p32/n64/d0: bench one of those to match" in c.notes[0], \
        c.notes


def test_reserved_names_are_case_insensitive():
    """Issue 21 item 10: 'LocalScore' would shadow 'localscore' on a case-insensitive disk."""
    from edgeprof.compare.refsets import check_name

    for name in ("LocalScore", "LOCALSCORE", "EfficientLLM-GH200"):
        with pytest.raises(ref.ReferenceSetError, match="is reserved for the packaged set") as exc:
            check_name(name)
        assert "--name" in str(exc.value)
    check_name("localscore-mine")
