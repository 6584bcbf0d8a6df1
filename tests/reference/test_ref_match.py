"""Reference sets: the EfficientLLM loader, exact / normalized / no match, ratio arithmetic with units."""
from __future__ import annotations

import json

import pytest
from refdata import make_record, metric, write_run

from edgeprof.compare import reference as ref
from edgeprof.commands.reference import add_run


@pytest.fixture
def eff():
    return ref.load_set(ref.asset("reference", "efficientllm-gh200"), "packaged")


def test_efficientllm_keeps_status_and_definitions(eff):
    assert eff.name == "efficientllm-gh200"
    assert eff.verification == "UNVERIFIED-SECONDARY"
    defs = eff.meta["metric_definitions"]
    assert "POWER in watts" in defs["avg_power_w"] and "GB" in defs["amu_gb"]
    assert "NOMINAL" in defs["mcr"] and "Batched" in defs["it_tokens_per_s"] and "UNCLEAR" in defs["al_ms"]
    assert len(eff.records) == 27
    ok = [r for r in eff.records if r.ok]
    assert len(ok) == 14
    row = next(r for r in eff.records if r.case_id == "DeepSeek-R1-Distill-Qwen-14B/int4")
    assert row.artifact.quant == "int4" and row.artifact.extra["method"] == "awq"
    aec = row.metric("avg_power_w")
    assert aec.value == pytest.approx(191.05) and aec.unit == "W"
    assert aec.provenance.kind == "reference" and "UNVERIFIED-SECONDARY" in aec.provenance.note
    assert row.metric("amu_gb").unit == "GB"
    assert "transcription collision" in next(r for r in eff.records if r.case_id == "Phi-4/bfloat16").metric(
        "amu_gb").provenance.note
    assert all(r.workload.prompt_tokens is None for r in eff.records)  # never an exact match


def test_precision_mapping():
    assert ref.precision_class("bf16") == ref.precision_class("f16") == ref.precision_class("fp32") == "16-bit baseline"
    assert ref.precision_class("q4_k_m") == ref.precision_class("int4") == ref.precision_class("q4_1") == "int4"
    assert ref.precision_class("q8_0") == "int8"


def _edge(**kw):
    extra = {"avg_rss_bytes": metric([1.5e8], "B"), "avg_power_w": metric([30.0], "W", "estimated", "tdp_model"),
             "energy_per_token_j": metric([0.3], "J", "estimated", "tdp_model")}
    return make_record(decode=[100.0, 110.0, 120.0], ttft=[400.0, 410.0, 420.0], extra=extra, **kw)


def test_exact_match_ratios_and_format_difference(tmp_path, eff):
    server = make_record(quant="f16", decode=[1000.0, 1100.0, 1200.0], ttft=[20.0, 20.5, 21.0], kind="nvidia",
                         device_name="NVIDIA H100 80GB HBM3", extra={
                             "avg_rss_bytes": metric([3e9], "B"), "avg_power_w": metric([300.0], "W", source="nvml"),
                             "energy_per_token_j": metric([0.5], "J", source="nvml_energy_counter")})
    run = write_run(tmp_path / "server-run", [server])
    add_run(run, "h100", dest_root=tmp_path / "refs")
    sets = [eff, *ref.load_sets(user_dir=tmp_path / "refs")]
    c = ref.match(_edge(), sets)
    assert c.kind == "exact" and c.set_name == "h100" and c.verification == "MEASURED"
    r = {x.metric: x for x in c.ratios}
    assert r["decode_tokens_per_s"].ratio == pytest.approx(110 / 1100)
    assert r["ttft_ms"].ratio == pytest.approx(410 / 20.5)
    assert r["avg_rss_bytes"].ratio == pytest.approx(1.5e8 / 3e9) and r["avg_rss_bytes"].edge_unit == "B"
    assert r["energy_per_token_j"].ratio == pytest.approx(0.6)
    assert r["avg_power_w"].edge_provenance["kind"] == "estimated"
    assert r["avg_power_w"].ref_provenance["source"] == "nvml"
    assert "format differs" in c.format_note and "q4_1" in c.format_note and "f16" in c.format_note
    s = c.summary()
    assert s.startswith("vs h100:") and "NOT a match" not in s and "format differs" in s and "(edge est.)" in s
    meta = json.loads((tmp_path / "refs" / "h100" / "reference.json").read_text())
    assert meta["source"].startswith("measured by edgeprof v0.1.0 on NVIDIA H100")


def test_exact_prefers_same_precision(tmp_path):
    rows = [make_record(quant=q, decode=[d]) for q, d in (("f16", 1000.0), ("q4_k_m", 1500.0))]
    add_run(write_run(tmp_path / "r", rows), "srv", dest_root=tmp_path / "refs")
    c = ref.match(_edge(), ref.load_sets(user_dir=tmp_path / "refs"))
    assert c.kind == "exact" and c.ref_side["quant"] == "q4_k_m"
    assert c.format_note.startswith("same precision class (int4)")


def test_near_match_is_labelled_normalized_with_units(eff):
    c = ref.match(_edge(), [eff])
    assert c.kind == "normalized" and c.row  # names the row used
    assert c.row == "Yi-34B/int4"  # llama family first (SmolLM2 and Yi are llama), then size, then int4
    r = {x.metric: x for x in c.ratios}
    dec = r["decode_tokens_per_s×params_b"]
    assert dec.ratio == pytest.approx((110 * 0.134515008) / (18.16 * 34))
    mem = r["avg_rss_bytes/params_b"]  # AMU in GB vs avg_rss_bytes / 1e9
    assert mem.edge_unit == "GB/Bparam" and mem.ratio == pytest.approx((1.5e8 / 1e9 / 0.134515008) / (52.93 / 34))
    assert r["avg_power_w"].ratio == pytest.approx(30 / 334.46) and "not size-normalized" in r["avg_power_w"].note
    assert r["energy_per_token_j"].ratio is None and "cannot be derived" in r["energy_per_token_j"].note
    assert r["ttft_ms"].ratio is None and "AL" in r["ttft_ms"].note
    assert "batched" in dec.note.lower()
    s = c.summary()
    assert "normalized, NOT a match" in s and "Yi-34B/int4" in s and "UNVERIFIED-SECONDARY" in s
    assert json.loads(json.dumps(c.to_dict()))["kind"] == "normalized"


def test_family_from_architecture_field(eff):
    rec = _edge(model="other-llama-1b", params=1.4e9, arch="llama")  # what the bench records
    assert ref.match(rec, [eff]).row == "Yi-34B/int4"
    rec = _edge(model="other-llama-1b", params=1.4e9, arch="qwen2")
    assert ref.match(rec, [eff]).row.startswith("DeepSeek-R1-Distill-Qwen-1.5B")


def test_near_match_without_family_uses_size(eff):
    rec = _edge(model="someother-1b", params=1.4e9, arch=None)
    c = ref.match(rec, [eff])
    assert c.kind == "normalized" and c.row.startswith("DeepSeek-R1-Distill-Qwen-1.5B")


def test_unit_mismatch_is_never_divided(tmp_path):
    srv = make_record(quant="f16", extra={"energy_per_token_j": metric([500.0], "mJ/token")})
    add_run(write_run(tmp_path / "r", [srv]), "srv", dest_root=tmp_path / "refs")
    c = ref.match(_edge(), ref.load_sets(user_dir=tmp_path / "refs"))
    r = {x.metric: x for x in c.ratios}["energy_per_token_j"]
    assert c.kind == "exact" and r.ratio is None and "unit mismatch" in r.note


def test_no_match():
    assert ref.match(_edge(), []).kind == "none"
    rec = _edge(model="unknown-model", params=None)
    c = ref.match(rec, [ref.load_set(ref.asset("reference", "efficientllm-gh200"))])
    assert c.kind == "none" and "params" in c.notes[0] and c.summary().startswith("no reference")


def test_unknown_set_and_bad_dirs(tmp_path):
    with pytest.raises(ref.ReferenceSetError, match="unknown reference set 'x'"):
        ref.get_set("x", [])
    with pytest.raises(ref.ReferenceSetError, match="no reference.json"):
        ref.load_set(tmp_path)
    with pytest.raises(Exception, match="no such run directory"):
        add_run(tmp_path / "missing", "n", dest_root=tmp_path / "refs")
    with pytest.raises(ref.ReferenceSetError, match="bad reference name"):
        add_run(tmp_path, "../x", dest_root=tmp_path / "refs")
