"""The source of every export: a local Hugging Face directory (safetensors), validated here.

Two ways in:
- ``load_source(dir)``: any local HF model directory. Safetensors are required because a pickle
  checkpoint (``.bin``/``.pt``) can run arbitrary code when loaded; it is accepted only with
  ``allow_pickle=True`` (the CLI's ``--allow-pickle``). Custom modelling code (``auto_map``) needs
  ``trust_remote_code=True`` (``--trust-remote-code``); neither is ever on by default.
- ``rebuild_hf_from_gguf(gguf, out_dir)``: the offline pretrained source. transformers dequantizes
  the GGUF weights into a torch model; the tokenizer is rebuilt from the GGUF metadata by
  ``tokenizer.py`` (transformers' own GGUF tokenizer is wrong in five ways). The directory records
  in ``edgeprof_source.json`` that it is a "baseline (dequantized Q4_1 source)", never fp16.
"""
from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ExportError, UsageError
from .files import file_entries, fsync_dir, sha256_file, tool_versions

SOURCE_META = "edgeprof_source.json"
REBUILD_VERSION = 1  # bump when rebuild_hf_from_gguf's output changes (caches compare it)
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


@dataclass(frozen=True)
class Source:
    """A validated HF model directory and what the manifest needs to say about it."""
    path: Path
    model_id: str
    params: int
    weights: list[str]
    weights_sha256: str
    baseline_label: str
    config: dict[str, Any] = field(repr=False)
    trust_remote_code: bool = False
    derived_from: dict[str, Any] | None = None

    @property
    def baseline_16bit_bytes(self) -> int:
        """Size of the model at 16 bits per parameter: the denominator-free compression baseline."""
        return self.params * 2

    def to_manifest(self) -> dict[str, Any]:
        return {"path": str(self.path), "model_id": self.model_id, "params": self.params,
                "weights": self.weights, "weights_sha256": self.weights_sha256,
                "revision": self.weights_sha256[:12], "baseline_label": self.baseline_label,
                "derived_from": self.derived_from}


def _safetensors_params(path: Path) -> int:
    """Parameter count from a safetensors header (8-byte length + JSON), without loading weights."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    total = 0
    for name, info in header.items():
        if name != "__metadata__":
            count = 1
            for d in info["shape"]:
                count *= d
            total += count
    return total


def _weights_digest(paths: list[Path]) -> str:
    """One sha256 naming the weights: the file's own hash, or a hash of the sorted per-file hashes."""
    if len(paths) == 1:
        return sha256_file(paths[0])
    import hashlib
    h = hashlib.sha256()
    for p in sorted(paths):
        h.update(f"{p.name}:{sha256_file(p)}\n".encode())
    return h.hexdigest()


def load_source(path: str | Path, *, allow_pickle: bool = False,
                trust_remote_code: bool = False) -> Source:
    """Validate a local HF model directory and describe it; raises ExportError with the fix."""
    root = Path(path).expanduser()
    if root.suffix == ".gguf" and root.is_file():
        raise UsageError(f"{root} is a GGUF file, not an export source; rebuild an HF directory from it "
                          f"first (edgeprof models prepare, or exporters.rebuild_hf_from_gguf)")
    if not root.is_dir():
        raise UsageError(f"source {root} is not a directory; pass a Hugging Face model directory "
                          f"(config.json + *.safetensors) or a catalogue id")
    cfg_path = root / "config.json"
    if not cfg_path.is_file():
        raise UsageError(f"{root} has no config.json; it is not a Hugging Face model directory")
    config = json.loads(cfg_path.read_text())
    if config.get("auto_map") and not trust_remote_code:
        raise UsageError(f"{root} needs custom modelling code (config.json auto_map); review it, then "
                          f"pass --trust-remote-code to allow running it")
    weights = sorted(root.glob("*.safetensors"))
    pickles = sorted(p for p in root.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if not weights:
        if not pickles:
            raise UsageError(f"{root} has no *.safetensors weights; nothing to export")
        if not allow_pickle:
            raise UsageError(f"{root} holds only pickle weights ({pickles[0].name}), which can run "
                              f"arbitrary code when loaded; convert them to safetensors or pass "
                              f"--allow-pickle if you trust the file")
        weights = pickles
    if weights[0].suffix == ".safetensors":
        params = sum(_safetensors_params(p) for p in weights)
    else:
        params = int(config.get("num_parameters") or 0)
    meta = json.loads((root / SOURCE_META).read_text()) if (root / SOURCE_META).is_file() else {}
    model_id = meta.get("model_id") or root.name.lower()
    label = meta.get("baseline_label") or f"baseline ({config.get('torch_dtype') or config.get('dtype') or 'source'} weights)"
    return Source(path=root.resolve(), model_id=model_id, params=params,
                  weights=[p.name for p in weights], weights_sha256=_weights_digest(weights),
                  baseline_label=label, config=config, trust_remote_code=trust_remote_code,
                  derived_from=meta.get("derived_from"))


def _gguf_file_type(gguf_path: Path) -> str:
    """Quant name of a GGUF (e.g. ``Q4_1``) from ``general.file_type``, for the baseline label."""
    from gguf import GGUFReader, LlamaFileType

    field_ = GGUFReader(str(gguf_path)).fields.get("general.file_type")
    if field_ is None:
        return "unknown"
    name = LlamaFileType(int(field_.contents())).name
    return name.replace("MOSTLY_", "").replace("ALL_", "")


def rebuild_hf_from_gguf(gguf_path: str | Path, out_dir: str | Path, *, model_id: str | None = None,
                         overwrite: bool = False, dtype: str = "float32") -> Path:
    """Rebuild an HF directory (safetensors + config + correct tokenizer) from a GGUF, atomically.

    The directory is assembled in a temp dir beside ``out_dir`` and renamed into place, so an
    interrupted rebuild never leaves a directory that looks like a model.
    """
    from .tokenizer import read_gguf_tokenizer, save_tokenizer

    gguf_path = Path(gguf_path).expanduser().resolve()
    out_dir = Path(out_dir).expanduser()
    if not gguf_path.is_file():
        raise ExportError(f"GGUF file {gguf_path} does not exist")
    if out_dir.exists() and not overwrite:
        raise ExportError(f"{out_dir} already exists; pass --overwrite to replace it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    quant = _gguf_file_type(gguf_path)
    meta = read_gguf_tokenizer(gguf_path)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.partial-"))
    try:
        _save_model(gguf_path, tmp, dtype, meta)
        save_tokenizer(meta, tmp)
        label = f"baseline (dequantized {quant} source)"
        info = {"schema_version": 1, "rebuild_version": REBUILD_VERSION,
                "model_id": model_id or gguf_path.stem.lower(),
                "baseline_label": label,
                "derived_from": {"path": str(gguf_path), "sha256": sha256_file(gguf_path),
                                 "format": "gguf", "quant": quant.lower()},
                "dtype": dtype, "tool_versions": tool_versions(("torch", "transformers", "gguf", "tokenizers")),
                "files": file_entries(tmp)}
        (tmp / SOURCE_META).write_text(json.dumps(info, indent=2) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
        fsync_dir(out_dir.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _save_model(gguf_path: Path, out: Path, dtype: str, meta: dict[str, Any]) -> None:
    """Dequantize the GGUF through transformers and save safetensors with GGUF-true special ids."""
    import torch
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(gguf_path.parent), gguf_file=gguf_path.name, torch_dtype=getattr(torch, dtype))
    except ImportError as err:
        raise ExportError(f"loading a GGUF through transformers failed ({err}); install the export "
                          f"extras: pip install 'edgeprof[export]'") from err
    for key, value in (("bos_token_id", meta["bos_id"]), ("eos_token_id", meta["eos_id"]),
                       ("pad_token_id", meta["pad_id"])):
        if value is not None:
            setattr(model.config, key, int(value))
            setattr(model.generation_config, key, int(value))
    model.config.name_or_path = ""
    model.save_pretrained(str(out), safe_serialization=True)
    for p in out.glob("*.safetensors"):
        p.chmod(0o644)  # safetensors writes 0600; the model is meant to be shared
