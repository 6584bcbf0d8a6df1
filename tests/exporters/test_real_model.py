"""The real SmolLM2-135M-Instruct (rebuilt from its packaged GGUF) exported to ONNX int8 and int4 and
GGUF q4_k_m: both ONNX schemes pass the quality gate, int8 lands between the source and int4, and
int4 is as close to the source as q4_k_m (the issue's bar: within 1.08x the baseline's perplexity).

Measured (docs/benchmarks.md, baseline perplexity 48.96 on the bundled text): int8 1.008x, int4
1.037x, q4_k_m 1.037x; the former int4 (model builder RTN) was 1.21x and the former dynamic int8
681,713 on a CPU without VNNI. The baseline is itself dequantized from Q4_1, which favours every
scheme with a float block minimum (q4_k_m and our int4 alike); docs/benchmarks.md also reports an
off-grid source. Slow tier: about 2-3 minutes on a loaded 2-core machine.
"""
from __future__ import annotations

import math

import pytest

from edgeprof import exporters

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]
INT4_MAX_RATIO = 1.08


@pytest.fixture(scope="module")
def real_export(smollm2_hf_dir, converter_cache, download_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("real-export") / "export"
    exporters.export(smollm2_hf_dir, ["onnx:int8,int4", "gguf:q4_k_m"], out, converter_cache=converter_cache,
                     download_cache=download_cache)
    m = exporters.read_manifest(out)
    return m, {a["quant"]: a for a in m["artifacts"]}


def test_real_quality_figures_are_finite_and_labelled(real_export):
    m, _ = real_export
    assert m["model"]["id"] == "smollm2-135m-instruct" and m["model"]["params"] == 134515008
    assert m["baseline"]["label"] == "baseline (dequantized Q4_1 source)"
    assert m["quality_method"]["baseline"]["label"] == "baseline (dequantized Q4_1 source)"
    # scored on the fp32 graph the int8/int4 are made from (same numbers as PyTorch, measured)
    assert m["quality_method"]["baseline"]["runtime"] == "onnxruntime, fp32 ort-genai-builder 0.13.2 graph of the source"
    base = m["quality_method"]["baseline"]["perplexity"]
    assert math.isfinite(base) and 1 < base < 200  # a real model, not random weights (~49,000)
    for a in m["artifacts"]:
        for key, value in a["quality"].items():
            assert math.isfinite(value), (a["path"], key)


@pytest.mark.parametrize("quant", ["int8", "int4"])
def test_onnx_int8_and_int4_pass_the_gate(real_export, quant):
    a = real_export[1][quant]
    assert a["quality_status"] == "ok", a["quality_gate"]
    assert a["scheme"]["graph"] == "ort-genai-builder 0.13.2"


def test_int8_sits_between_the_source_and_int4_and_int4_matches_q4_k_m(real_export):
    by = real_export[1]
    q8, q4, k4 = by["int8"]["quality"], by["int4"]["quality"], by["q4_k_m"]["quality"]
    assert 1.0 <= q8["perplexity_ratio"] <= 1.03 and q8["greedy_agreement"] >= 0.85, q8
    assert q8["perplexity_ratio"] < q4["perplexity_ratio"] <= INT4_MAX_RATIO, (q8, q4)
    assert q4["perplexity_ratio"] <= k4["perplexity_ratio"] + 0.03, (q4, k4)
    assert q4["greedy_agreement"] >= 0.75 and q4["next_token_agreement"] >= 0.75, q4


def test_real_sizes_and_compression(real_export):
    by = real_export[1]
    fp16_bytes = 134515008 * 2
    assert by["int8"]["size_bytes"] < 0.62 * fp16_bytes  # 8-bit blocks + scales, embedding stored once
    assert by["int4"]["size_bytes"] < 0.45 * fp16_bytes
    # within 10 % of q4_k_m's file (int4 keeps fp32 scales and the 8-bit vocabulary matrix)
    assert by["int4"]["size_bytes"] < 1.10 * by["q4_k_m"]["size_bytes"]
    assert by["int4"]["mcr"] <= by["int4"]["compression_rate"]
