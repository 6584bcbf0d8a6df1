"""Sources: a local HF directory is validated (safetensors only unless asked), and the real
default model is rebuilt from its GGUF with the baseline label CONTRACTS.md requires."""
from __future__ import annotations

import json
import shutil

import pytest

from edgeprof.exporters import ExportError, load_source


def _one_line(err) -> str:
    msg = str(err.value)
    assert "\n" not in msg
    return msg


def test_tiny_source_is_described(tiny_llama_dir):
    src = load_source(tiny_llama_dir)
    assert src.params == 49152 * 64 + 2 * (64 * 64 * 2 + 64 * 32 * 2 + 3 * 64 * 256 + 2 * 64) + 64
    assert src.weights == ["model.safetensors"] and len(src.weights_sha256) == 64
    assert src.baseline_16bit_bytes == src.params * 2
    assert src.to_manifest()["revision"] == src.weights_sha256[:12]


def test_pickle_weights_are_refused_unless_allowed(tiny_llama_dir, tmp_path):
    d = tmp_path / "pickled"
    d.mkdir()
    shutil.copy(tiny_llama_dir / "config.json", d / "config.json")
    (d / "pytorch_model.bin").write_bytes(b"not really a pickle")
    with pytest.raises(ExportError) as err:
        load_source(d)
    assert "--allow-pickle" in _one_line(err) and "pytorch_model.bin" in str(err.value)
    assert load_source(d, allow_pickle=True).weights == ["pytorch_model.bin"]


def test_remote_code_needs_an_explicit_yes(tiny_llama_dir, tmp_path):
    d = tmp_path / "custom"
    shutil.copytree(tiny_llama_dir, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["auto_map"] = {"AutoModelForCausalLM": "modeling_x.XForCausalLM"}
    (d / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ExportError) as err:
        load_source(d)
    assert "--trust-remote-code" in _one_line(err)
    assert load_source(d, trust_remote_code=True).trust_remote_code


@pytest.mark.parametrize("make, words", [
    (lambda p: p, "not a directory"),
    (lambda p: (p.mkdir(), p)[1], "no config.json"),
    (lambda p: (p.mkdir(), (p / "config.json").write_text("{}"), p)[2], "no *.safetensors"),
])
def test_bad_source_directories_fail_in_one_line(tmp_path, make, words):
    path = make(tmp_path / "src")
    with pytest.raises(ExportError) as err:
        load_source(path)
    assert words in _one_line(err)


@pytest.mark.slow
def test_real_model_rebuilt_from_gguf_is_labelled_as_dequantized_baseline(smollm2_hf_dir, smollm2_gguf):
    from edgeprof.exporters.files import sha256_file

    info = json.loads((smollm2_hf_dir / "edgeprof_source.json").read_text())
    assert info["baseline_label"] == "baseline (dequantized Q4_1 source)"
    assert info["derived_from"]["sha256"] == sha256_file(smollm2_gguf)
    assert info["model_id"] == "smollm2-135m-instruct"
    src = load_source(smollm2_hf_dir)
    assert src.params == 134515008 and src.model_id == "smollm2-135m-instruct"
    assert src.baseline_label == "baseline (dequantized Q4_1 source)"
    cfg = json.loads((smollm2_hf_dir / "config.json").read_text())
    assert (cfg["bos_token_id"], cfg["eos_token_id"], cfg["tie_word_embeddings"]) == (1, 2, True)
    assert not (smollm2_hf_dir / "tokenizer.model").exists()
    assert not list(smollm2_hf_dir.glob(".*partial*"))


def test_rebuild_refuses_to_overwrite(smollm2_gguf, tmp_path):
    from edgeprof.exporters import rebuild_hf_from_gguf

    (tmp_path / "x").mkdir()
    with pytest.raises(ExportError, match="--overwrite"):
        rebuild_hf_from_gguf(smollm2_gguf, tmp_path / "x")
    with pytest.raises(ExportError, match="does not exist"):
        rebuild_hf_from_gguf(tmp_path / "missing.gguf", tmp_path / "y")


def test_bench_prepares_the_hf_form_it_is_given(smollm2_gguf, tmp_path):
    """``bench smollm2-135m-instruct-hf`` (or picking it in the live view) on a home where it was
    never prepared: it is made from the packaged GGUF on the spot, as ``export`` does, not refused."""
    from edgeprof.models import artifacts, catalogue

    root = tmp_path / "models"
    gguf = catalogue.local_path(catalogue.get("smollm2-135m-instruct"), root)
    gguf.parent.mkdir(parents=True)
    shutil.copy(smollm2_gguf, gguf)                      # the packaged model, already fetched
    notes: list[str] = []
    (art,) = artifacts.resolve("smollm2-135m-instruct-hf", models_root=root, log=notes.append)
    assert art.format == "hf" and art.catalogue_id == "smollm2-135m-instruct-hf"
    assert notes == ["preparing smollm2-135m-instruct-hf from the packaged GGUF (once)"]
    assert (root / "smollm2-135m-instruct-hf" / "config.json").is_file()
    artifacts.resolve("smollm2-135m-instruct-hf", models_root=root, log=notes.append)
    assert len(notes) == 1                               # once


def test_models_prepare_twice_says_done_and_exits_0(smollm2_gguf, smollm2_hf_dir, tmp_path):
    """Issue 20 item 10: a second ``models prepare`` was a traceback ("already exists; pass
    --overwrite", a flag it did not have). Present means done: said once, exit 0, nothing touched;
    a directory of that name that is no prepared model is one line naming ``--overwrite``."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    home = tmp_path / "home"
    gguf_dir = home / "models" / "smollm2-135m-instruct"
    gguf_dir.mkdir(parents=True)
    (gguf_dir / smollm2_gguf.name).symlink_to(smollm2_gguf)       # the packaged model, already fetched
    hf = home / "models" / "smollm2-135m-instruct-hf"
    shutil.copytree(smollm2_hf_dir, hf, copy_function=os.symlink)   # prepared before (no 500 MB copy)
    before = sorted((p.name, p.lstat().st_mtime_ns) for p in hf.iterdir())
    env = dict(os.environ, EDGEPROF_HOME=str(home), PYTHONPATH=str(Path(__file__).resolve().parents[2]))

    def models(*args):
        return subprocess.run([sys.executable, "-m", "edgeprof", "models", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    res = models("prepare", "smollm2-135m-instruct-hf")
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert res.stdout.strip() == str(hf)
    assert res.stderr.strip() == (f"edgeprof: smollm2-135m-instruct-hf is already prepared in {hf}; nothing to do "
                                  f"(pass --overwrite to rebuild it)")
    assert sorted((p.name, p.lstat().st_mtime_ns) for p in hf.iterdir()) == before
    res = models("fetch", "smollm2-135m-instruct")
    assert res.returncode == 0 and "already present" in res.stderr and res.stdout.strip().endswith(smollm2_gguf.name)

    shutil.rmtree(hf)
    hf.mkdir()
    (hf / "notes.txt").write_text("mine")
    res = models("prepare", "smollm2-135m-instruct-hf")
    assert res.returncode == 1 and "Traceback" not in res.stderr
    assert res.stderr.strip() == (f"edgeprof: error: {hf} exists but holds no prepared model (no config.json); "
                                  f"pass --overwrite to replace it")
    assert (hf / "notes.txt").read_text() == "mine"
    assert "--overwrite" in models("--help").stdout
