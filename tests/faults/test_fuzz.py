"""Fuzzing the model-file checks (issue 12 item 7): whatever bytes or JSON they are handed, the
GGUF header validator, the export-manifest checks, the ONNX external-data check and the
safetensors header reader return a result or raise their OWN error type — never anything else
(no struct.error, KeyError, MemoryError, RecursionError, OverflowError...).

Seeds are the crafted corpus (tests/fixtures/bad_models) and the first 256 KiB of the real
SmolLM2 GGUF (its whole metadata: 49 152 vocabulary strings, scores, merges); hypothesis mutates
them. Bounded: examples are capped per test and the whole module runs in about 20-30 s here
(no per-example deadline: file writes are slow on a loaded machine).
"""
from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faultkit import BAD
from edgeprof.models.gguf_meta import GGUFError, read_header
from edgeprof.models.onnx_check import OnnxCheckError, check_external_data
from edgeprof.exporters.errors import ExportError
from edgeprof.exporters.source.hf import read_safetensors_header
from edgeprof.exporters.integrity import check_files
from edgeprof.exporters.manifest import list_artifacts

FUZZ = settings(max_examples=200, deadline=None, database=None, derandomize=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
SEEDS = sorted(p for p in BAD.iterdir() if p.suffix in (".gguf", ".onnx", ".safetensors"))
READERS = {".gguf": (GGUFError, read_header), ".onnx": (OnnxCheckError, check_external_data),
           ".safetensors": (ExportError, read_safetensors_header)}
HOSTILE = [None, True, -1, 0, 2**64, 1.5, float("inf"), "", "..", "../x", "/etc/passwd", "a\0b", "\\x", [], {},
           "x" * 500, "gguf/../../x", "./", "gguf"]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def real_head(smollm2_gguf) -> tuple[bytes, int]:
    """The real SmolLM2 header with every key, value type and tensor info, its arrays cut to 64
    items (the whole one is 1.8 MB and takes 0.25 s to parse), and the file size its tensors need
    (written sparse, so the unmutated header passes)."""
    from edgeprof.models.gguf_meta import _SCALARS

    size = {t: struct.calcsize(f) for t, f in _SCALARS.items()}
    with open(smollm2_gguf, "rb") as f:
        def rstr() -> bytes:
            return f.read(struct.unpack("<Q", f.read(8))[0])

        def wstr(b: bytes) -> bytes:
            return struct.pack("<Q", len(b)) + b

        out = bytearray(f.read(24))
        _, n_tensors, n_kv = struct.unpack("<IQQ", out[4:])
        for _ in range(n_kv):
            out += wstr(rstr())
            (t,) = struct.unpack("<I", f.read(4))
            out += struct.pack("<I", t)
            if t == 9:
                it, n = struct.unpack("<IQ", f.read(12))
                out += struct.pack("<IQ", it, min(n, 64))
                items = [wstr(rstr()) if it == 8 else f.read(size[it]) for _ in range(n)]
                out += b"".join(items[:64])
            else:
                out += wstr(rstr()) if t == 8 else f.read(size[t])
        for _ in range(n_tensors):
            name = rstr()
            (nd,) = struct.unpack("<I", f.read(4))
            out += wstr(name) + struct.pack("<I", nd) + f.read(8 * nd + 12)
    return bytes(out), os.path.getsize(smollm2_gguf)


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    b = bytearray(data)
    for pos, val in edits:
        if b:
            b[pos % len(b)] = val
    return bytes(b[:cut] if cut is not None else b)


EDITS = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=8)
CUT = st.one_of(st.none(), st.integers(0, 1 << 18))


def _only(error: type, fn, path: Path) -> None:
    try:
        fn(path)
    except error as exc:
        assert "\n" not in str(exc)


def _sparse(p: Path, head: bytes, size: int) -> None:
    with open(p, "wb") as f:
        f.write(head)
        f.truncate(max(size, len(head)))


@FUZZ
@given(seed=st.sampled_from(SEEDS), edits=EDITS, cut=CUT)
def test_corpus_mutations(work, seed, edits, cut):
    """Every crafted file (GGUF, ONNX with its external data file beside it, safetensors), its
    bytes replaced here and there and cut short."""
    d = work / "mut"
    d.mkdir(exist_ok=True)
    data = BAD / "valid_external.onnx_data"
    (d / data.name).write_bytes(data.read_bytes())
    p = d / f"m{seed.suffix}"
    p.write_bytes(mutate(seed.read_bytes(), edits, cut))
    _only(*READERS[seed.suffix], p)


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), min_size=1, max_size=4),
       cut=st.one_of(st.none(), st.integers(0, 1 << 16)), sparse=st.booleans())
def test_real_gguf_metadata_mutations(work, real_head, edits, cut, sparse):
    """The real header (every value type, string arrays, 272 tensor infos) cut and mutated, with
    or without the tensor data behind it (a sparse file of the real size)."""
    head, size = real_head
    p = work / "real.gguf"
    data = mutate(head, edits, cut)
    _sparse(p, data, size) if sparse and cut is None else p.write_bytes(data)
    _only(GGUFError, read_header, p)


@FUZZ
@given(fields=st.lists(st.one_of(st.integers(0, 2**64 - 1).map(lambda n: struct.pack("<Q", n)),
                                 st.integers(0, 2**32 - 1).map(lambda n: struct.pack("<I", n)), st.binary(max_size=24)),
                       max_size=24))
def test_gguf_built_from_random_fields(work, fields):
    p = work / "f.gguf"
    p.write_bytes(b"GGUF" + struct.pack("<I", 3) + b"".join(fields))
    _only(GGUFError, read_header, p)


JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.text(max_size=12),
                                 st.sampled_from([x for x in HOSTILE if isinstance(x, str)])),
                       lambda kids: st.one_of(st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=8), kids,
                                                                                          max_size=4)), max_leaves=20)


@FUZZ
@given(header=st.one_of(JSONISH, st.dictionaries(st.sampled_from(["w", "__metadata__", "x"]), st.fixed_dictionaries(
    {"dtype": st.sampled_from(["F32", "F16", "Q9", 3, None]), "shape": st.lists(st.integers(-3, 2**40), max_size=5),
     "data_offsets": st.lists(st.integers(-3, 2**40), max_size=3)}), max_size=3)),
       body=st.binary(max_size=64), length=st.one_of(st.none(), st.integers(0, 2**64 - 1)))
def test_safetensors_headers(work, header, body, length):
    raw = json.dumps(header).encode()
    p = work / "m.safetensors"
    p.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + body)
    _only(ExportError, read_safetensors_header, p)


def _manifest_dir(work: Path) -> Path:
    d = work / "export"
    (d / "gguf").mkdir(parents=True, exist_ok=True)
    (d / "gguf" / "m.gguf").write_bytes((BAD / "valid_tiny.gguf").read_bytes())
    return d


VALID_ART = {"name": "gguf", "path": "gguf", "format": "gguf", "quant": "f32", "main_file": "gguf/m.gguf",
             "sha256": "0" * 64, "size_bytes": 144, "files": [{"name": "m.gguf", "size_bytes": 144, "sha256": "0" * 64}]}


@FUZZ
@given(doc=st.one_of(JSONISH, st.fixed_dictionaries({
    "schema_version": st.sampled_from([1, 1, 1, 2, "1", None]),
    "model": st.one_of(st.just({"id": "m", "params": 4}), JSONISH),
    "baseline": st.one_of(st.just({"label": "b"}), JSONISH),
    "artifacts": st.one_of(st.lists(st.builds(lambda k, v: {**VALID_ART, k: v}, st.sampled_from(sorted(VALID_ART)),
                                              st.one_of(st.sampled_from(HOSTILE), JSONISH)), max_size=3), JSONISH)})))
def test_manifest_checks(work, doc):
    d = _manifest_dir(work)
    (d / "manifest.json").write_text(json.dumps(doc, allow_nan=True))
    for fn in (list_artifacts, lambda x: check_files(x, rehash=True)):
        try:
            fn(d)
        except ExportError as exc:
            assert "\n" not in str(exc)


@FUZZ
@given(raw=st.binary(max_size=200))
def test_manifest_bytes(work, raw):
    d = _manifest_dir(work)
    (d / "manifest.json").write_bytes(raw)
    _only(ExportError, list_artifacts, d)


def test_the_fuzz_seeds_reach_the_deep_checks(work, real_head):
    """Guard against a fuzzer that only ever hits the first check: the unmutated seed parses
    whole (272 tensors, the real parameter count), and without its data it is refused only at the
    last check."""
    head, size = real_head
    p = work / "head.gguf"
    _sparse(p, head, size)
    h = read_header(p)
    assert h["n_tensors"] == 272 and h["n_params"] == 134_515_008 and h["quant"] == "q4_1"
    p.write_bytes(head)
    with pytest.raises(GGUFError, match="truncated GGUF .* its tensors need"):
        read_header(p)
