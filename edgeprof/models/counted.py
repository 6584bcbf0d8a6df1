"""A model file's identity counted from its files, for the formats without a GGUF header: an ONNX
graph (``runtimes.onnx_graph``: initializers and quantized-weight operators, never the weights'
bytes) and the config.json shape facts both ONNX and HF directories carry. The pure rules —
which storage names the quant, which claims are contradicted — are ``models.identity``'s.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any


def onnx_identity_of(path: Path, claimed_params: int | None, claimed_quant: str | None
                     ) -> tuple[int | None, str | None, dict[str, Any]]:
    """(parameters, quant, artifact extra) of an ONNX file: counted from its graph; an export
    manifest's claims (``claimed_*``) stand where the graph agrees with them, and where it does not
    the graph's count is used and the contradiction named (``extra["identity"]["problems"]``)."""
    from edgeprof.models.identity import PARAMS_TOLERANCE, onnx_identity
    from edgeprof.runtimes.onnx_graph import scan

    ident = onnx_identity(scan(path), config_shape(path.parent))
    problems = list(ident.problems)
    params, quant = ident.params, ident.quant
    if claimed_params:
        if params and abs(params - claimed_params) / claimed_params > PARAMS_TOLERANCE:
            problems.append(f"manifest.json says {claimed_params:,} parameters but the graph holds {params:,}: "
                            f"benched as {params:,}")
        else:
            params = claimed_params
    if claimed_quant:  # an export names its scheme (int4-rtn, fp16 ...): its storage is the part before '-'
        if quant and claimed_quant.split("-")[0] != quant:
            problems.append(f"manifest.json says {claimed_quant} but the graph's weights are mostly {quant}: "
                            f"benched as {quant}")
        else:
            quant = claimed_quant
    if claimed_params and claimed_quant and not problems:
        return params, quant, {}   # an export's artifact that its graph bears out: the manifest says it all
    shown = {**ident.to_dict(), "params": params, "quant": quant, "quant_claimed": claimed_quant,
             "problems": problems}
    return params, quant, {"identity": shown}


def config_shape(d: Path) -> dict[str, int]:
    """Layers, width and vocabulary from a config.json beside a model (``hf_shape``), {} without one."""
    from edgeprof.exporters import ExportError
    from edgeprof.exporters.source.hf import json_object

    try:
        return hf_shape(json_object(d / "config.json")) if (d / "config.json").is_file() else {}
    except ExportError:
        return {}


def hf_shape(cfg: dict) -> dict[str, int]:
    """Layers, width and vocabulary from config.json, under the names a GGUF's tensors give them
    (``models.identity``), so matching can check shapes across formats."""
    keys = {"n_layers": "num_hidden_layers", "n_embd": "hidden_size", "vocab_size": "vocab_size"}
    return {k: cfg[v] for k, v in keys.items() if type(cfg.get(v)) is int and cfg[v] > 0}


def elements(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n
