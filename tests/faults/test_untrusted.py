"""Model files and directories as untrusted input: the crafted corpus (tests/fixtures/bad_models),
forged export manifests, hostile HF directories and hostile ONNX external data — each refused
with one line before anything runs, and (watched with inotify) no file outside the model's
directory is ever opened. The hash cache hashes a file once and notices a changed file."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

from faultkit import BAD
from edgeprof.models.artifacts import ArtifactError, resolve
from edgeprof.models.gguf_meta import GGUFError, read_header
from edgeprof.models.onnx_check import OnnxCheckError, check_external_data
from edgeprof.models.trust import artifact_problem, sha256_cached
from edgeprof.exporters.errors import ExportError
from edgeprof.exporters.source.hf import read_safetensors_header
from opens import OpenWatch

EXPECTED = json.loads((BAD / "expected.json").read_text())
READERS = {".gguf": (read_header, GGUFError), ".safetensors": (read_safetensors_header, ExportError),
           ".onnx": (check_external_data, OnnxCheckError)}


@pytest.fixture(autouse=True)
def _home(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path / "home"))  # the hash cache goes there


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_crafted_file_is_refused_by_its_reader_in_one_line(name):
    read, error = READERS[Path(name).suffix]
    if EXPECTED[name] is None:
        read(BAD / name)  # the controls pass
        return
    with pytest.raises(error) as exc:
        read(BAD / name)
    msg = str(exc.value)
    assert EXPECTED[name] in msg and "\n" not in msg and name in msg


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if EXPECTED[n] and not n.endswith(".safetensors")))
def test_the_bench_resolves_a_crafted_file_to_a_one_line_refusal(name, tmp_path):
    with pytest.raises(ArtifactError) as exc:
        resolve(str(BAD / name))
    assert "\n" not in str(exc.value) and EXPECTED[name] in str(exc.value)


# ---------------------------------------------------------------------------- forged manifests
def _export(tmp_path: Path, entry: dict | None = None, **top) -> tuple[Path, Path]:
    """An export directory with one GGUF artifact (the valid tiny GGUF) and a canary folder
    beside it holding a real GGUF a forged manifest could point at."""
    d, outside = tmp_path / "export", tmp_path / "outside"
    (d / "gguf").mkdir(parents=True)
    outside.mkdir()
    data = (BAD / "valid_tiny.gguf").read_bytes()
    assert len(data) == 144
    (d / "gguf" / "m.gguf").write_bytes(data)
    (outside / "secret.gguf").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    art = {"name": "gguf", "path": "gguf", "format": "gguf", "quant": "f32", "main_file": "gguf/m.gguf",
           "sha256": sha, "size_bytes": len(data), "files": [{"name": "m.gguf", "size_bytes": len(data), "sha256": sha}]}
    art.update(entry or {})
    manifest = {"schema_version": 1, "model": {"id": "tiny", "name": "tiny", "params": 4},
                "baseline": {"label": "baseline"}, "source": {"path": str(outside)}, "artifacts": [art], **top}
    (d / "manifest.json").write_text(json.dumps(manifest))
    return d, outside


def test_a_valid_manifest_resolves_and_its_outside_source_is_not_read(tmp_path):
    d, outside = _export(tmp_path)
    (outside / "config.json").write_text("{}")  # the manifest's source dir exists, outside the export
    with OpenWatch(outside) as w:
        arts = resolve(str(d))
    assert [a.format for a in arts] == ["gguf"] and arts[0].sha256 == sha256_cached(d / "gguf" / "m.gguf")
    assert [p for p in w.opened if p != str(outside)] == []


SECRET = "__SECRET__"  # replaced by the canary's absolute path


@pytest.mark.parametrize("entry,words", [
    ({"main_file": "../outside/secret.gguf"}, "is not a plain path inside the export directory"),
    ({"main_file": SECRET}, "is not a plain path inside the export directory"),
    ({"path": "../outside", "main_file": "../outside/secret.gguf"}, "is not a plain path"),
    ({"sha256": "0" * 64}, "the artifact sha256 differs from its file entry"),
    ({"files": [{"name": "m.gguf", "size_bytes": 144, "sha256": "0" * 64}], "sha256": "0" * 64},
     "does not match its sha256 in the manifest"),
    ({"size_bytes": 1}, "is not the sum of its files"),
    ({"format": "pickle"}, "has unknown format 'pickle'; known formats: gguf, hf, onnx"),
    ({"format": None}, "known formats: gguf, hf, onnx"),
    ({"files": "m.gguf"}, "files must be a list"),
    ({"size_bytes": "big"}, "size_bytes must be a non-negative integer"),
    ({"size_bytes": -5}, "size_bytes must be a non-negative integer"),
    ({"files": [{"name": None}]}, "name must be a str"),
])
def test_a_forged_manifest_is_refused_before_anything_outside_is_opened(tmp_path, entry, words):
    d, outside = _export(tmp_path, {k: (str(tmp_path / "outside/secret.gguf") if v == SECRET else v)
                                    for k, v in entry.items()})
    with OpenWatch(outside) as w:
        with pytest.raises(ArtifactError) as exc:
            resolve(str(d))
    assert words in str(exc.value) and "\n" not in str(exc.value)
    assert not [p for p in w.opened if p.endswith("secret.gguf")], w.opened


@pytest.mark.parametrize("link", ["file", "dir"])
def test_symlinks_out_of_an_export_are_refused(tmp_path, link):
    d, outside = _export(tmp_path)
    if link == "file":
        (d / "gguf" / "m.gguf").unlink()
        (d / "gguf" / "m.gguf").symlink_to(outside / "secret.gguf")
    else:
        shutil.rmtree(d / "gguf")
        (outside / "m.gguf").write_bytes((outside / "secret.gguf").read_bytes())
        (d / "gguf").symlink_to(outside)
    with OpenWatch(outside) as w:
        with pytest.raises(ArtifactError, match="leads outside the export directory"):
            resolve(str(d))
    assert not [p for p in w.opened if p.endswith(".gguf")], w.opened


@pytest.mark.parametrize("top", [{"artifacts": {"a": 1}}, {"model": ["x"]}, {"baseline": None}])
def test_a_manifest_of_the_wrong_shape_is_one_line(tmp_path, top):
    d, _ = _export(tmp_path, **top)
    with pytest.raises(ArtifactError, match="the manifest is damaged or forged"):
        resolve(str(d))


# ---------------------------------------------------------------------------- hostile HF dirs
def _hf(tmp_path: Path, weights: bytes | None = None) -> tuple[Path, Path]:
    d, outside = tmp_path / "hf", tmp_path / "outside"
    d.mkdir()
    outside.mkdir()
    (d / "config.json").write_text('{"torch_dtype": "float32"}')
    (d / "model.safetensors").write_bytes(weights or (BAD / "valid_tiny.safetensors").read_bytes())
    (outside / "secret.json").write_text('{"torch_dtype": "float32"}')
    return d, outside


def test_a_plain_hf_dir_and_a_hub_snapshot_are_accepted(tmp_path):
    d, _ = _hf(tmp_path)
    art = resolve(str(d))[0]
    assert art.format == "hf" and artifact_problem(art) is None  # and checked again before its case runs
    repo = tmp_path / "models--org--tiny"  # the hub cache: snapshot files link into ../../blobs
    (repo / "blobs").mkdir(parents=True)
    snap = repo / "snapshots" / "abc123"
    snap.mkdir(parents=True)
    for f in ("config.json", "model.safetensors"):
        shutil.copy(d / f, repo / "blobs" / f"blob-{f}")
        (snap / f).symlink_to(Path("../../blobs") / f"blob-{f}")
    assert resolve(str(snap))[0].files == ("model.safetensors",)


@pytest.mark.parametrize("attack,words", [
    ("config_link_out", "leads outside the model directory"),
    ("weights_link_out", "leads outside the model directory"),
    ("fifo_weights", "is not a regular file"),
    ("pickle_renamed", "header length"),
    ("config_not_json", "config.json is not valid JSON"),
    ("config_list", "config.json is not a JSON object"),
    ("huge_header", "header length"),
    ("link_loop", "cannot resolve this link"),
])
def test_a_hostile_hf_dir_is_refused_without_reading_outside(tmp_path, attack, words):
    d, outside = _hf(tmp_path)
    if attack == "config_link_out":
        (d / "config.json").unlink()
        (d / "config.json").symlink_to(outside / "secret.json")
    elif attack == "weights_link_out":
        (d / "tokenizer.json").symlink_to(outside / "secret.json")
    elif attack == "fifo_weights":
        os.mkfifo(d / "extra.safetensors")  # opening it would block the bench forever
    elif attack in ("pickle_renamed", "huge_header"):
        src = "pickle_renamed.safetensors" if attack == "pickle_renamed" else "header_len_2e63.safetensors"
        (d / "model.safetensors").write_bytes((BAD / src).read_bytes())
    elif attack == "config_not_json":
        (d / "config.json").write_text("{not json")
    elif attack == "config_list":
        (d / "config.json").write_text("[1]")
    elif attack == "link_loop":
        (d / "loop").symlink_to(d / "loop")
    with OpenWatch(outside) as w:
        with pytest.raises(ArtifactError) as exc:
            resolve(str(d))
    assert words in str(exc.value) and "\n" not in str(exc.value)
    assert not [p for p in w.opened if p.endswith("secret.json")]


# ---------------------------------------------------------------------------- ONNX external data
def test_onnx_external_data_linked_out_of_the_directory_is_refused(tmp_path):
    d, outside = tmp_path / "m", tmp_path / "outside"
    d.mkdir()
    outside.mkdir()
    shutil.copy(BAD / "valid_external.onnx", d / "valid_external.onnx")
    (outside / "data.bin").write_bytes((BAD / "valid_external.onnx_data").read_bytes())
    (d / "valid_external.onnx_data").symlink_to(outside / "data.bin")
    with OpenWatch(outside) as w:
        with pytest.raises(ArtifactError, match="leads outside the model's directory"):
            resolve(str(d / "valid_external.onnx"))
    assert not [p for p in w.opened if p.endswith("data.bin")]
    (d / "valid_external.onnx_data").unlink()
    shutil.copy(outside / "data.bin", d / "valid_external.onnx_data")
    art = resolve(str(d / "valid_external.onnx"))[0]
    assert art.format == "onnx" and "valid_external.onnx_data" in art.files


# ---------------------------------------------------------------------------- hashes
def test_a_large_file_is_hashed_once_and_a_changed_one_again(tmp_path):
    f = tmp_path / "m.gguf"
    f.write_bytes(b"a" * 1000)
    first = sha256_cached(f)
    assert first == hashlib.sha256(b"a" * 1000).hexdigest()
    cache = tmp_path / "home" / "cache" / "sha256.json"
    data = json.loads(cache.read_text())
    data[os.path.realpath(f)][4] = "cached-value"  # proves the second call reads the cache, not the file
    cache.write_text(json.dumps(data))
    assert sha256_cached(f) == "cached-value"
    st = f.stat()
    f.write_bytes(b"b" * 1000)  # same size, mtime put back: ctime still moves
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert sha256_cached(f) == hashlib.sha256(b"b" * 1000).hexdigest()


def test_an_artifact_changed_since_the_plan_is_a_failed_case(tmp_path):
    f = tmp_path / "m.gguf"
    shutil.copy(BAD / "valid_tiny.gguf", f)
    art = resolve(str(f))[0]
    assert artifact_problem(art) is None
    f.write_bytes(f.read_bytes()[:-1] + b"\x01")
    assert "changed since the plan was made (sha256 differs)" in artifact_problem(art)
    f.unlink()
    assert "is gone since the plan was made" in artifact_problem(art)


def test_the_open_watch_sees_a_read(tmp_path):
    """The control for every 'nothing outside was opened' above: a real read is seen."""
    (tmp_path / "x").write_text("1")
    with OpenWatch(tmp_path) as w:
        (tmp_path / "x").read_text()
    assert str(tmp_path / "x") in w.opened
