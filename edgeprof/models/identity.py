"""A model file's identity from its content, and the claims it (or the catalogue) makes, checked.

Why: the packaged 135M SmolLM2 placed at the catalogue path of ``llama-3.2-1b-instruct-q4_k_m``,
served under that name by a hub, or with its GGUF metadata rewritten to say "Llama 3.2 1B
Instruct" / Q4_K_M, was benched as Llama 3.2 1B and matched EXACT with 493 server rows. A file
name, a catalogue id, ``general.name``, ``general.size_label`` and ``general.file_type`` are
claims anyone can write; the tensors are not. So the parameter count is counted from the tensor
shapes, the quantization from the tensors' own types (the ggml type that holds most weight
elements), the shape (layers, width, vocabulary) from the tensor table — and every claim is
checked against them. A contradicted claim is named (``problems``) and never used for matching.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgeprof.models.catalogue import Entry
    from edgeprof.runtimes.onnx_graph import GraphScan

#: ggml type ids (ggml.h ``enum ggml_type``) -> names as edgeprof spells quants
GGML_NAMES = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 6: "q5_0", 7: "q5_1", 8: "q8_0", 9: "q8_1", 10: "q2_k",
              11: "q3_k", 12: "q4_k", 13: "q5_k", 14: "q6_k", 15: "q8_k", 16: "iq2_xxs", 17: "iq2_xs", 18: "iq3_xxs",
              19: "iq1_s", 20: "iq4_nl", 21: "iq3_s", 22: "iq2_s", 23: "iq4_xs", 29: "iq1_m", 30: "bf16",
              34: "tq1_0", 35: "tq2_0", 39: "mxfp4"}
#: llama.cpp file type (``llama_ftype``, as edgeprof names it) -> the ggml type most of its weights use
FTYPE_MAIN = {"f32": 0, "f16": 1, "bf16": 30, "q4_0": 2, "q4_1": 3, "q5_0": 6, "q5_1": 7, "q8_0": 8, "q2_k": 10,
              "q2_k_s": 10, "q3_k_s": 11, "q3_k_m": 11, "q3_k_l": 11, "q4_k_s": 12, "q4_k_m": 12, "q5_k_s": 13,
              "q5_k_m": 13, "q6_k": 14, "iq2_xxs": 16, "iq2_xs": 17, "iq3_xxs": 18, "iq1_s": 19, "iq4_nl": 20,
              "iq3_s": 21, "iq3_m": 21, "iq2_s": 22, "iq2_m": 22, "iq4_xs": 23, "iq1_m": 29, "tq1_0": 34,
              "tq2_0": 35, "mxfp4": 39}
#: a claimed file type is consistent when its main ggml type holds at least this share of the weights
MAIN_SHARE = 0.30
#: a size label ("1B", "135M") is a rounded claim: off by more than this factor, it is contradicted
SIZE_LABEL_FACTOR = 1.6
#: catalogue facts: parameter counts within 5 %, a published size ("0.81 GB") within 2 %
PARAMS_TOLERANCE = 0.05
SIZE_TOLERANCE = 0.02
_UNITS = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}


@dataclass(frozen=True)
class Identity:
    """What a model file is by content, and which of its claims the content contradicts."""

    params: int | None
    quant: str | None                     # from the tensors (the claimed file type when consistent with them)
    quant_claimed: str | None = None      # general.file_type as the file states it
    shape: dict[str, int] = field(default_factory=dict)
    weight_types: dict[str, int] = field(default_factory=dict)   # ggml type name -> weight elements
    problems: tuple[str, ...] = ()        # claims the content contradicts

    def to_dict(self) -> dict[str, Any]:
        return {"params": self.params, "quant": self.quant, "quant_claimed": self.quant_claimed,
                "shape": dict(self.shape), "weight_types": dict(self.weight_types), "problems": list(self.problems)}


def parse_count(label: Any) -> float | None:
    """A parameter count a size label states: ``"135M"`` -> 1.35e8, ``"1B"`` -> 1e9; None when it
    is not one (a published file size is ``catalogue.published_bytes``'s)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmbt])?", str(label or "").lower())
    if not m:
        return None
    return float(m.group(1)) * (_UNITS[m.group(2)] if m.group(2) else 1.0)


def _dominant(types: dict[int, int]) -> tuple[int | None, float]:
    total = sum(types.values())
    if not total:
        return None, 0.0
    t = max(types, key=types.get)
    return t, types[t] / total


def gguf_identity(header: dict[str, Any]) -> Identity:
    """The identity of a GGUF from ``gguf_meta.read_header``'s answer, claims checked."""
    meta, types = header.get("metadata") or {}, header.get("weight_types") or {}
    params, claimed = header.get("n_params"), header.get("quant")
    problems: list[str] = []
    quant = claimed
    top, share = _dominant(types)
    if top is not None:
        main = FTYPE_MAIN.get(str(claimed))
        claimed_share = types.get(main, 0) / sum(types.values()) if main is not None else 0.0
        if claimed is None or main is None or (claimed_share < MAIN_SHARE and main != top):
            quant = GGML_NAMES.get(top, f"ggml{top}")
            if claimed is not None:
                problems.append(f"general.file_type says {claimed} but {share:.0%} of the weights are "
                                f"{quant} tensors: benched as {quant}")
    label = meta.get("general.size_label")
    n = parse_count(label) if isinstance(label, str) else None
    if n and params and max(n, params) / min(n, params) > SIZE_LABEL_FACTOR:
        problems.append(f"general.size_label says {label} but the tensors hold {params:,} parameters")
    return Identity(params, quant, claimed, dict(header.get("shape") or {}),
                    {GGML_NAMES.get(t, f"ggml{t}"): n for t, n in sorted(types.items(), key=lambda kv: -kv[1])},
                    tuple(problems))


def onnx_identity(graph: GraphScan, shape: dict[str, int] | None = None) -> Identity:
    """The identity of an ONNX graph (``runtimes.onnx_graph.scan``): parameters counted from its
    initializers, and its quant named by the storage of its body — the weights other than the
    vocabulary matrices, as a llama.cpp file type names its body, not its embedding: the quantized
    storage that holds most of the body when quantized weights are at least ``MAIN_SHARE`` of it
    (4-bit blocks with an 8-bit head and float norms are ``int4``), else the float type that
    holds most. A graph that could not be counted has no parameter count, and says why."""
    types = dict(sorted(graph.weight_types.items(), key=lambda kv: -kv[1]))
    body = graph.body_types or types
    quantized = {k: n for k, n in body.items() if k.startswith("int")}
    floats = {k: n for k, n in body.items() if not k.startswith("int")}
    if quantized and sum(quantized.values()) >= MAIN_SHARE * sum(body.values()):
        quant: str | None = max(quantized, key=quantized.get)
    else:
        quant = max(floats, key=floats.get) if floats else None
    return Identity(graph.params, quant, None, dict(shape or {}), types,
                    tuple(f"ONNX graph: {p}; parameter count not counted" for p in graph.problems))


#: safetensors dtype names -> edgeprof's
SAFETENSORS_TYPES = {"F32": "fp32", "F16": "fp16", "BF16": "bf16", "F64": "fp64", "I8": "int8", "U8": "int8"}


def hf_identity(types: dict[str, int], claimed: str | None, config: dict[str, Any],
                shape: dict[str, int] | None = None) -> Identity:
    """The identity of an HF directory from its safetensors headers (``types``: safetensors dtype
    -> elements, read without loading a weight): the parameter count is the elements, the dtype
    the float type that holds most of them; ``claimed`` (config.json's ``torch_dtype``) is checked.
    Packed quantized checkpoints (a ``quantization_config``: GPTQ/AWQ int32 words) hold several
    weights per element, so their count is not a parameter count."""
    named = {}
    for t, n in types.items():
        key = SAFETENSORS_TYPES.get(t, t.lower())
        named[key] = named.get(key, 0) + n
    named = dict(sorted(named.items(), key=lambda kv: -kv[1]))
    floats = {k: n for k, n in named.items() if k in ("fp32", "fp16", "bf16", "fp64")}
    quant = max(floats, key=floats.get) if floats else claimed
    problems = []
    packed = config.get("quantization_config")
    if isinstance(packed, dict):
        quant = str(packed.get("quant_method") or "packed")
        problems.append(f"config.json has a quantization_config ({packed.get('quant_method', '?')}): packed weights, "
                        f"parameter count not counted")
    if claimed and floats and not packed and claimed != quant:
        problems.append(f"config.json says {claimed} but {floats[quant] / sum(named.values()):.0%} of the weights are "
                        f"{quant} tensors: benched as {quant}")
    return Identity(None if packed else sum(named.values()) or None, quant, claimed, dict(shape or {}), named,
                    tuple(problems))


def catalogue_problems(ident: Identity, size_bytes: int | None, sha256: str | None, entry: Entry) -> list[str]:
    """The catalogue entry's published facts (sha256, size, file type, parameter count) that this
    file contradicts; [] when it agrees with every fact the catalogue states."""
    out = []
    name = entry.id or "the catalogue entry"
    if entry.sha256 and sha256 and sha256 != entry.sha256:
        out.append(f"sha256 {sha256[:12]}… is not {name}'s {entry.sha256[:12]}…")
    want = entry.size
    if want and size_bytes and abs(size_bytes - want) / want > (0 if entry.size_bytes else SIZE_TOLERANCE):
        out.append(f"size {size_bytes / 1e6:.0f} MB is not {name}'s {want / 1e6:.0f} MB")
    if entry.quant and ident.quant and ident.quant != entry.quant:
        out.append(f"its tensors are {ident.quant}, not {name}'s {entry.quant}")
    want_p = entry.params or entry.params_approx
    if want_p and ident.params and abs(ident.params - want_p) / want_p > PARAMS_TOLERANCE:
        out.append(f"its tensors hold {ident.params / 1e6:.1f} M parameters, not {name}'s {want_p / 1e6:.0f} M")
    return out
