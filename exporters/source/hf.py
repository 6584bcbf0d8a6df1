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
import stat
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeprof.exporters.errors import ExportError, UsageError
from edgeprof.exporters.files import file_entries, fsync_dir, sha256_file, tool_versions

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


#: A safetensors header is JSON naming each tensor; real ones are KBs to a few MB. The format
#: itself caps it at 100 MB (safetensors MAX_HEADER_SIZE); nothing larger is allocated.
MAX_HEADER_BYTES = 100_000_000
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
               "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def read_safetensors_header(path: Path) -> dict[str, Any]:
    """The tensor table of a safetensors file, checked before anything is allocated: the length
    prefix is bounded by the file and by MAX_HEADER_BYTES, the JSON must be an object of tensors
    whose dtype is known, whose shape is a list of non-negative integers, and whose data offsets
    lie inside the file and match the shape. Anything else is an ExportError naming the file
    (a pickle renamed ``.safetensors`` is the classic one)."""
    bad = f"{path} is not a valid safetensors file"
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise ExportError(f"{path} is not a regular file; weights must be plain files")
        size = st.st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise ExportError(f"{bad} (shorter than its 8-byte header length); re-create it")
            (n,) = struct.unpack("<Q", head)
            if n < 2 or n > min(MAX_HEADER_BYTES, size - 8):
                raise ExportError(f"{bad} (header length {n} for a {size}-byte file; a pickle checkpoint renamed "
                                  f"to .safetensors looks like this); convert the weights with safetensors")
            raw = f.read(n)
    except OSError as err:
        raise ExportError(f"cannot read {path} ({err.strerror or err}); check the file") from None
    try:
        header = json.loads(raw)
    except (ValueError, RecursionError):
        raise ExportError(f"{bad} (its header is not JSON); re-create it") from None
    if not isinstance(header, dict):
        raise ExportError(f"{bad} (its header is not a JSON object); re-create it")
    data = size - 8 - n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        _check_tensor(path, name, info, data)
    return header


def _check_tensor(path: Path, name: str, info: Any, data_bytes: int) -> None:
    where = f"{path}: tensor {name[:80]!r}"
    if not isinstance(info, dict) or not isinstance(info.get("dtype"), str):
        raise ExportError(f"{where} has no dtype; the file is damaged or not safetensors — re-create it")
    shape, offsets = info.get("shape"), info.get("data_offsets")
    if not isinstance(shape, list) or len(shape) > 16 or not all(type(d) is int and d >= 0 for d in shape):
        raise ExportError(f"{where} has an invalid shape; the file is damaged — re-create it")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets)
            or not 0 <= offsets[0] <= offsets[1] <= data_bytes):
        raise ExportError(f"{where} has data offsets outside the file; the file is truncated or damaged — "
                          f"re-download or re-create it")
    count = 1
    for d in shape:
        count *= d
    width = DTYPE_BYTES.get(info["dtype"])  # sub-byte and newer dtypes: the range check above only
    if width is not None and count * width != offsets[1] - offsets[0]:
        raise ExportError(f"{where}: its shape does not match its byte range; the file is damaged — re-create it")


def json_object(path: Path, limit: int = MAX_HEADER_BYTES) -> dict[str, Any]:
    """A small JSON object file (config.json, edgeprof_source.json), or an ExportError naming it."""
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            raise ExportError(f"{path} is not a regular file under {limit} bytes; not a model configuration file")
        data = json.loads(path.read_bytes())
    except OSError as err:
        raise ExportError(f"cannot read {path} ({err.strerror or err}); check the file") from None
    except (ValueError, RecursionError):
        raise ExportError(f"{path} is not valid JSON; repair or re-create it") from None
    if not isinstance(data, dict):
        raise ExportError(f"{path} is not a JSON object; repair or re-create it")
    return data


def _safetensors_params(path: Path) -> int:
    """Parameter count from a safetensors header, without loading weights."""
    total = 0
    for name, info in read_safetensors_header(path).items():
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
    config = json_object(cfg_path)
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
    meta = json_object(root / SOURCE_META) if (root / SOURCE_META).is_file() else {}
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
    from edgeprof.exporters.source.tokenizer import read_gguf_tokenizer, save_tokenizer

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
