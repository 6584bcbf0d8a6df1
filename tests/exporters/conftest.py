"""Fixtures for the exporter tests: real tokenizer, tiny random Llama, one shared tiny export.

Why a tiny model WITH the real SmolLM2 tokenizer: llama.cpp's converter refuses tokenizers whose
pre-tokenizer it does not know, so a made-up vocabulary would test nothing; a 64-wide, 2-layer
Llama with SmolLM2's 49,152-token vocabulary goes through every ONNX and GGUF scheme in seconds.
The expensive things (tokenizer rebuild, the tiny export, the real model's HF rebuild) are built
once per session. Downloads (llama.cpp's converter sdist, the model builder wheel: PyPI) go
through ``downloads`` under the test home, the tests' machine-wide cache, once per machine.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

TINY_TARGETS = ["onnx:fp32,fp16,int8,int4", "gguf:f16,q8_0,q6_k,q5_k_m,q4_k_m,q4_0,iq4_xs"]
TINY_QUALITY_TOKENS = 256  # random weights: the figures only exercise the mechanics; 4x less scoring


@pytest.fixture(scope="session")
def xdg_cache_home(test_home) -> Path:
    """What ``XDG_CACHE_HOME`` must be for a CLI run to use the tests' machine-wide download cache."""
    return test_home / "xdg-cache"


@pytest.fixture(scope="session")
def download_cache(xdg_cache_home) -> Path:
    """The tests' machine-wide download cache: exactly where the CLI looks with that XDG_CACHE_HOME."""
    return xdg_cache_home / "edgeprof" / "downloads"


@pytest.fixture(scope="session")
def converter_cache(test_home, download_cache) -> Path:
    """llama.cpp's converter extracted under the test home from the download cache (a copy extracted
    by an older edgeprof, without the record of its archive, is extracted again)."""
    from edgeprof.exporters.gguf.converter import ensure_converter, installed_version
    from edgeprof.exporters.downloads import extracted_from

    path = test_home / "converters" / f"llama-cpp-python-{installed_version()}"
    if path.is_dir() and extracted_from(path) is None:
        shutil.rmtree(path)
    ensure_converter(path, download_cache=download_cache)
    return path


@pytest.fixture(scope="session")
def smollm2_tokenizer_dir(smollm2_gguf, tmp_path_factory) -> Path:
    """tokenizer.json + tokenizer_config.json rebuilt from the real GGUF's metadata."""
    from edgeprof.exporters.source.tokenizer import read_gguf_tokenizer, save_tokenizer

    out = tmp_path_factory.mktemp("smollm2-tokenizer")
    save_tokenizer(read_gguf_tokenizer(smollm2_gguf), out)
    return out


@pytest.fixture(scope="session")
def tiny_llama_dir(smollm2_tokenizer_dir, tmp_path_factory) -> Path:
    """A random-weight Llama (hidden 64, 2 layers, tied embeddings) with the real SmolLM2 tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
                      num_key_value_heads=2, head_dim=16, vocab_size=49152, max_position_embeddings=2048,
                      tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=2,
                      rope_theta=100000.0)
    out = tmp_path_factory.mktemp("tiny-llama")
    LlamaForCausalLM(cfg).save_pretrained(out, safe_serialization=True)
    for f in smollm2_tokenizer_dir.iterdir():
        shutil.copy(f, out / f.name)
    return out


@pytest.fixture(scope="session")
def tiny_export(tiny_llama_dir, converter_cache, download_cache, tmp_path_factory) -> tuple[Path, list]:
    """The tiny model exported to the default ONNX schemes and seven GGUF types, with progress events."""
    from edgeprof import exporters

    events: list = []
    out = tmp_path_factory.mktemp("tiny-export") / "export"
    exporters.export(tiny_llama_dir, TINY_TARGETS, out, progress=events.append, converter_cache=converter_cache,
                     download_cache=download_cache, quality_tokens=TINY_QUALITY_TOKENS)
    return out, events


@pytest.fixture(scope="session")
def broken_tiny_dir(tiny_llama_dir, tmp_path_factory) -> Path:
    """The tiny model with a vocabulary matrix that 8-bit blocks cannot hold: every 32-value block of
    every row starts with the same large value (100, the other values ~0.02), so it sets the block's
    scale and every other weight rounds to zero. fp32 keeps the model intact; int8 and int4 of it
    are genuinely destroyed (uniform logits), the artifact the quality gate exists to stop."""
    from safetensors.numpy import load_file, save_file

    out = tmp_path_factory.mktemp("broken-tiny")
    for f in tiny_llama_dir.iterdir():
        shutil.copy(f, out / f.name)
    weights = load_file(str(tiny_llama_dir / "model.safetensors"))
    emb = weights["model.embed_tokens.weight"].copy()
    emb[:, 0::32] = 100.0
    weights["model.embed_tokens.weight"] = emb
    save_file(weights, str(out / "model.safetensors"), metadata={"format": "pt"})
    return out


@pytest.fixture(scope="session")
def smollm2_hf_dir(smollm2_gguf, test_home) -> Path:
    """The real SmolLM2-135M-Instruct as an HF directory, rebuilt from the GGUF (cached per machine,
    reused only when it was built from this very GGUF)."""
    import json

    from edgeprof.exporters import rebuild_hf_from_gguf
    from edgeprof.exporters.files import sha256_file
    from edgeprof.exporters.source.hf import REBUILD_VERSION

    out = test_home / "models" / "smollm2-135m-instruct-hf-test"
    meta = out / "edgeprof_source.json"
    if meta.is_file():
        info = json.loads(meta.read_text())
        if info["derived_from"]["sha256"] == sha256_file(smollm2_gguf) and info.get("rebuild_version") == REBUILD_VERSION:
            return out
    rebuild_hf_from_gguf(smollm2_gguf, out, model_id="smollm2-135m-instruct", overwrite=True)
    return out
