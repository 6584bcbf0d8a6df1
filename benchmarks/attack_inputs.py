"""Hostile inputs for ``benchmarks/attack.py``: each builder makes one model argument (a file or a
directory under ``work``) the way an attacker would hand it to a user. ``outside`` is a canary
folder next to them, watched with inotify: a forged path that works would open a file there.

The crafted small files come from tests/fixtures/bad_models (see its README); the mutated GGUFs
are copies of the real SmolLM2 file with a few header bytes changed (seeded, reproducible).
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "fixtures" / "bad_models"
HEADER_BYTES = 1_785_664  # where SmolLM2's tensor infos end (read_header's last offset)

BROKEN_GGUF = ["text.gguf", "empty.gguf", "magic_only.gguf", "truncated_data.gguf", "tensor_past_end.gguf",
               "version_1.gguf", "kv_count_2e63.gguf"]
BAD_ONNX = ["garbage.onnx", "external_absolute.onnx", "external_dotdot.onnx", "external_missing.onnx",
            "external_offset.onnx", "external_nul.onnx", "deep_subgraphs.onnx"]


def canary(outside: Path) -> None:
    outside.mkdir(parents=True, exist_ok=True)
    (outside / "secret.gguf").write_bytes((BAD / "valid_tiny.gguf").read_bytes())
    (outside / "secret.bin").write_bytes(b"\0" * 64)
    (outside / "secret.json").write_text('{"torch_dtype": "float32"}')


def mutated_gguf(real: Path, out: Path, seed: int) -> Path:
    """A copy of the real GGUF with 1-4 header bytes replaced (kernel-side copy of the rest)."""
    rng = random.Random(seed)
    with open(real, "rb") as src, open(out, "wb") as dst:
        head = bytearray(src.read(HEADER_BYTES))
        for _ in range(rng.randint(1, 4)):
            # half the edits land in the first 4 KiB (counts, keys, small values), half anywhere
            pos = rng.randrange(4096) if rng.random() < 0.5 else rng.randrange(len(head))
            head[pos] = rng.randrange(256)
        dst.write(head)
        dst.flush()
        pos, size = HEADER_BYTES, os.fstat(src.fileno()).st_size
        while pos < size:  # explicit offsets: the buffered read above moved the file position
            n = os.copy_file_range(src.fileno(), dst.fileno(), size - pos, pos, pos)
            if n <= 0:
                raise OSError(f"copy_file_range stopped at {pos} of {size} bytes")
            pos += n
    return out


def onnx_attacks(work: Path, outside: Path) -> dict[str, Callable[[], Path]]:
    """14 hostile ONNX models (7 crafted files + 7 built here against the canary)."""
    def crafted(name: str) -> Callable[[], Path]:
        def make() -> Path:
            d = work / f"onnx-{name}"
            d.mkdir(parents=True, exist_ok=True)
            shutil.copy(BAD / name, d / name)
            shutil.copy(BAD / "valid_external.onnx_data", d / "valid_external.onnx_data")
            return d / name
        return make

    def with_data(tag: str, data: Callable[[Path], None], model: str = "valid_external.onnx") -> Callable[[], Path]:
        def make() -> Path:
            d = work / f"onnx-{tag}"
            d.mkdir(parents=True, exist_ok=True)
            shutil.copy(BAD / model, d / "valid_external.onnx")
            data(d)
            return d / "valid_external.onnx"
        return make

    def external_to(location: str) -> Callable[[Path], None]:
        def patch(d: Path) -> None:  # the same model, its tensor's data location rewritten (onnx package)
            import onnx

            m = onnx.load_model(str(BAD / "valid_external.onnx"), load_external_data=False)
            for e in m.graph.initializer[0].external_data:
                if e.key == "location":
                    e.value = location
            (d / "valid_external.onnx").write_bytes(m.SerializeToString())
        return patch

    out = {f"onnx {n}": crafted(n) for n in BAD_ONNX}
    out.update({
        "onnx data symlinked out": with_data("link", lambda d: (d / "valid_external.onnx_data").symlink_to(
            outside / "secret.bin")),
        "onnx data dir symlinked out": with_data("dirlink", lambda d: (
            (d / "sub").symlink_to(outside, target_is_directory=True), external_to("sub/secret.bin")(d))),
        "onnx location ../canary": with_data("dotdot", external_to(f"../{outside.name}/secret.bin")),
        "onnx location absolute canary": with_data("abs", external_to(str(outside / "secret.bin"))),
        "onnx data is a FIFO": with_data("fifo", lambda d: os.mkfifo(d / "valid_external.onnx_data")),
        "onnx cut in half": with_data("cut", lambda d: (d / "valid_external.onnx").write_bytes(
            (BAD / "valid_external.onnx").read_bytes()[:40])),
        "onnx empty file": with_data("empty", lambda d: (d / "valid_external.onnx").write_bytes(b"")),
    })
    return out


def _export(work: Path, tag: str, **change) -> Path:
    d = work / f"export-{tag}"
    (d / "gguf").mkdir(parents=True, exist_ok=True)
    data = (BAD / "valid_tiny.gguf").read_bytes()
    (d / "gguf" / "m.gguf").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    art = {"name": "gguf", "path": "gguf", "format": "gguf", "quant": "f32", "main_file": "gguf/m.gguf",
           "sha256": sha, "size_bytes": len(data), "files": [{"name": "m.gguf", "size_bytes": len(data), "sha256": sha}]}
    art.update(change)
    (d / "manifest.json").write_text(json.dumps({
        "schema_version": 1, "model": {"id": "tiny", "name": "tiny", "params": 4}, "baseline": {"label": "b"},
        "source": {"path": str(work)}, "artifacts": [art]}))
    return d


def manifest_attacks(work: Path, outside: Path) -> dict[str, Callable[[], Path]]:
    secret = outside / "secret.gguf"
    return {
        "manifest main_file ../ escape": lambda: _export(work, "dotdot", main_file=f"../{outside.name}/secret.gguf"),
        "manifest main_file absolute": lambda: _export(work, "abs", main_file=str(secret)),
        "manifest forged sha256 and size": lambda: _export(work, "sha", sha256="0" * 64, size_bytes=1),
        "manifest unknown format": lambda: _export(work, "fmt", format="pytorch-pickle"),
    }


def hf_attacks(work: Path, outside: Path) -> dict[str, Callable[[], Path]]:
    def hf(tag: str, attack: Callable[[Path], None]) -> Callable[[], Path]:
        def make() -> Path:
            d = work / f"hf-{tag}"
            d.mkdir(parents=True, exist_ok=True)
            (d / "config.json").write_text('{"torch_dtype": "float32"}')
            (d / "model.safetensors").write_bytes((BAD / "valid_tiny.safetensors").read_bytes())
            attack(d)
            return d
        return make

    def replace(name: str, data: bytes) -> Callable[[Path], None]:
        return lambda d: (d / name).write_bytes(data)

    def link(name: str, target: Path) -> Callable[[Path], None]:
        return lambda d: ((d / name).unlink(missing_ok=True), (d / name).symlink_to(target))

    def pickle_only(d: Path) -> None:
        (d / "model.safetensors").unlink()
        (d / "pytorch_model.bin").write_bytes((BAD / "pickle_renamed.safetensors").read_bytes())

    return {
        "hf config.json linked out": hf("cfg", link("config.json", outside / "secret.json")),
        "hf tokenizer linked out": hf("tok", link("tokenizer.json", outside / "secret.json")),
        "hf weights linked out": hf("w", link("extra.safetensors", outside / "secret.bin")),
        "hf FIFO weights": hf("fifo", lambda d: os.mkfifo(d / "extra.safetensors")),
        "hf pickle renamed .safetensors": hf("pkl", replace("model.safetensors",
                                                            (BAD / "pickle_renamed.safetensors").read_bytes())),
        "hf header length 2^63": hf("huge", replace("model.safetensors",
                                                    (BAD / "header_len_2e63.safetensors").read_bytes())),
        "hf offsets past the end": hf("off", replace("model.safetensors",
                                                     (BAD / "offsets_past_end.safetensors").read_bytes())),
        "hf empty weights file": hf("empty", replace("model.safetensors", b"")),
        "hf config.json not JSON": hf("cfgjson", replace("config.json", b"{not json")),
        "hf config.json a list": hf("cfglist", replace("config.json", b"[1, 2]")),
        "hf symlink loop": hf("loop", lambda d: (d / "loop").symlink_to(d / "loop")),
        "hf only a pickle checkpoint": hf("pickle", pickle_only),
    }
