"""``--to`` syntax, llama.cpp quant names, and the up-front resource check."""
from __future__ import annotations

import pytest

from edgeprof.exporters import ExportError, estimate_bytes, list_quants, parse_targets
from edgeprof.exporters.targets import check_resources


def test_parse_targets_cli_syntax():
    assert parse_targets(["onnx:fp32,int4", "gguf:q4_k_m"]) == {"onnx": ["fp32", "int4"], "gguf": ["q4_k_m"]}
    assert parse_targets(["onnx:fp32", "onnx:int4,fp32", "gguf:Q8_0"]) == {"onnx": ["fp32", "int4"],
                                                                           "gguf": ["q8_0"]}
    assert parse_targets("gguf") == {"gguf": ["f16", "q8_0", "q4_k_m"]}
    assert parse_targets(["onnx"])["onnx"] == ["fp32", "fp16", "int8", "int4"]


@pytest.mark.parametrize("spec, words", [
    ("tflite:int8", "unknown format"), ("onnx:int3", "unknown ONNX scheme"),
    ("gguf:q9_9", "unknown GGUF type"), ("gguf:iq2_xxs", "importance matrix"),
])
def test_bad_targets_fail_in_one_line(spec, words):
    with pytest.raises(ExportError) as err:
        parse_targets([spec])
    assert words in str(err.value) and "\n" not in str(err.value)


def test_list_quants_names_llama_cpp_types():
    quants = list_quants()
    for q in ("f16", "q8_0", "q4_0", "q4_k_m", "q5_k_m", "q6_k"):
        assert q in quants
    assert "iq2_xxs" not in quants and "guessed" not in quants


def test_estimate_grows_with_targets_and_params():
    small = estimate_bytes({"gguf": ["q4_k_m"]}, 10**8)
    big = estimate_bytes({"onnx": ["fp32", "int4"], "gguf": ["f16", "q4_k_m"]}, 10**8)
    assert 0 < small["disk_bytes"] < big["disk_bytes"]
    assert estimate_bytes({"onnx": ["int4"]}, 10**9)["disk_bytes"] > 10 * estimate_bytes({"onnx": ["int4"]}, 10**8)["disk_bytes"] / 2


def test_resource_check_says_what_is_needed(tmp_path):
    with pytest.raises(ExportError) as err:
        check_resources({"onnx": ["fp32"]}, 10**14, tmp_path / "out")
    assert "GB of free disk" in str(err.value) and "only" in str(err.value)
    ok = check_resources({"gguf": ["q4_0"]}, 10**6, tmp_path / "out")
    assert ok["free_disk_bytes"] > ok["disk_bytes"]
