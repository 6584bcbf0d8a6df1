"""llama.cpp's converter comes from the installed version's sdist at run time, and every way it or
the quantizer can fail is one clear line (the process running the export survives)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from edgeprof.exporters import ExportError
from edgeprof.exporters.gguf.converter import convert_hf_to_gguf, ensure_converter, explain_failure, installed_version
from edgeprof.exporters.gguf.quantize import check_quant, quantize_gguf

REPO = Path(__file__).resolve().parents[2]


def test_converter_is_fetched_for_the_installed_version_not_vendored(converter_cache):
    conv = ensure_converter(converter_cache)
    assert conv.version == installed_version()
    assert conv.script.is_file() and (conv.gguf_py / "gguf" / "__init__.py").is_file()
    assert (conv.root / "conversion").is_dir()
    assert not (conv.root / "vendor").exists() and not (conv.root / "src").exists()  # only what it needs
    vendored = [p for p in REPO.rglob("convert_hf_to_gguf.py") if ".git" not in p.parts]
    assert vendored == []


def test_incompatible_converter_cache_is_a_clear_error(tmp_path):
    bad = tmp_path / "conv"
    bad.mkdir()
    (bad / "convert_hf_to_gguf.py").write_text("# not the real thing\n")
    with pytest.raises(ExportError) as err:
        ensure_converter(bad)
    assert "incompatible" in str(err.value) and "\n" not in str(err.value)


def test_unknown_pre_tokenizer_is_explained(converter_cache, tiny_llama_dir, tmp_path):
    src = tmp_path / "odd-tokenizer"
    shutil.copytree(tiny_llama_dir, src)
    tj = json.loads((src / "tokenizer.json").read_text())
    tj["pre_tokenizer"] = {"type": "Whitespace"}  # a pre-tokenizer llama.cpp has never seen
    (src / "tokenizer.json").write_text(json.dumps(tj))
    with pytest.raises(ExportError) as err:
        convert_hf_to_gguf(ensure_converter(converter_cache), src, tmp_path / "x.gguf")
    assert "tokenizer" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "x.gguf").exists()


def test_failure_explanations_name_the_fix():
    conv = type("C", (), {"version": "0.3.36", "script": Path("convert_hf_to_gguf.py")})()
    assert "pip install" in explain_failure(["ModuleNotFoundError: No module named 'sentencepiece'"], conv)
    assert "signal 9" in explain_failure([], conv, rc=-9)


def test_quantizer_failure_is_one_line_and_survivable(tmp_path):
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ExportError) as err:
        quantize_gguf(junk, tmp_path / "out.gguf", "q4_0")
    assert "could not quantize junk.gguf to q4_0" in str(err.value) and "\n" not in str(err.value)


def test_quant_names_are_normalized():
    assert check_quant("Q4_K_M") == "q4_k_m" and check_quant(" q8_0 ") == "q8_0"
    with pytest.raises(ExportError, match="choose from"):
        check_quant("q4_k_xl")
