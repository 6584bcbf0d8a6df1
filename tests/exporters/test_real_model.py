"""The real SmolLM2-135M-Instruct (rebuilt from its packaged GGUF) exported to ONNX int4 and GGUF
q4_k_m: quality figures are finite and 4-bit perplexity stays near the baseline's.

Tolerance, stated: each 4-bit artifact's perplexity must be within +30 % of the baseline's on the
bundled text (1,024 tokens, 256-token windows), and it may be lower. The baseline is itself
dequantized from Q4_1, so re-quantizing it to another 4-bit grid costs little and a strict ordering
(artifact worse than baseline) would test noise. Measured on 2026-11-23 (baseline perplexity 48.96):
GGUF q4_k_m 1.04x, q4_0 1.17x, ONNX int4-optimum (symmetric, block 32, 8-bit lm_head) 1.18x, ONNX
int4 from the model builder (asymmetric, rtn_last: 8-bit lm_head) 1.21x; all-4-bit int4 was 1.30-1.32x
(optimum asymmetric, the builder's rtn) and would fail here.
"""
from __future__ import annotations

import math

import pytest

import exporters

PPL_TOLERANCE = 1.30


@pytest.fixture(scope="module")
def real_export(smollm2_hf_dir, converter_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("real-export") / "export"
    exporters.export(smollm2_hf_dir, ["onnx:int4", "gguf:q4_k_m"], out, converter_cache=converter_cache)
    return exporters.read_manifest(out)


@pytest.mark.slow
def test_real_quality_figures_are_finite_and_labelled(real_export):
    m = real_export
    assert m["model"]["id"] == "smollm2-135m-instruct" and m["model"]["params"] == 134515008
    assert m["baseline"]["label"] == "baseline (dequantized Q4_1 source)"
    assert m["quality_method"]["baseline"]["label"] == "baseline (dequantized Q4_1 source)"
    base = m["quality_method"]["baseline"]["perplexity"]
    assert math.isfinite(base) and 1 < base < 200  # a real model, not random weights (~49,000)
    for a in m["artifacts"]:
        for key, value in a["quality"].items():
            assert math.isfinite(value), (a["path"], key)


@pytest.mark.slow
@pytest.mark.parametrize("fmt, quant", [("onnx", "int4"), ("gguf", "q4_k_m")])
def test_four_bit_perplexity_within_tolerance_of_baseline(real_export, fmt, quant):
    a = next(a for a in real_export["artifacts"] if (a["format"], a["quant"]) == (fmt, quant))
    q = a["quality"]
    assert q["perplexity"] <= PPL_TOLERANCE * q["baseline_perplexity"], q
    assert q["greedy_agreement"] >= 0.5, q
    assert q["next_token_agreement"] >= 0.55, q


@pytest.mark.slow
def test_real_sizes_and_compression(real_export):
    by = {a["quant"]: a for a in real_export["artifacts"]}
    # int4 (model builder): 4-bit blocks of 32 with fp32 scales and zero points, the tied embedding
    # once at 8 bits (shared by Gather and lm_head) + tokenizer files; q4_k_m keeps it at q8_0.
    # Both 2-3x smaller than 16 bits.
    assert 2.0 < by["int4"]["compression_rate"] < 3.0, by["int4"]["size_bytes"]
    assert 2.3 < by["q4_k_m"]["compression_rate"] < 3.0, by["q4_k_m"]["size_bytes"]
    assert by["int4"]["mcr"] <= by["int4"]["compression_rate"]
