"""``--to`` parsing and the up-front disk/memory estimate of an export.

``parse_targets(["onnx:fp32,int4", "gguf:q4_k_m"])`` -> ``{"onnx": ["fp32", "int4"], "gguf":
["q4_k_m"]}``: the CLI syntax of ``edgeprof export --to`` and ``edgeprof bench --export``. A bare
``onnx`` or ``gguf`` means that format's default set. Names are validated here so a typo fails
before a 10-minute export starts, not after it.

ONNX schemes are listed in ``onnx.SCHEMES`` (fp32, fp16, int8, int4, int4-q, int4-rtn, and int4 on
a forced graph: int4-optimum, int4-builder); GGUF types are llama.cpp's own names (``gguf.py``).
Each lands in ``onnx-<scheme>/`` or ``gguf-<type>/``.

The estimate is deliberately generous (bytes per parameter measured on SmolLM2-135M and rounded
up, plus the scratch files an export writes on its way): running out of disk at the last step of
a long export is worse than asking for a little too much at the start.
"""
from __future__ import annotations

from pathlib import Path

from edgeprof.exporters.errors import UsageError
from edgeprof.exporters.files import available_memory_bytes, free_disk_bytes

FORMATS = ("onnx", "gguf")
DEFAULTS = {"onnx": ["fp32", "fp16", "int8", "int4"], "gguf": ["f16", "q8_0", "q4_k_m"]}
# final artifact bytes per parameter (upper bounds, measured on SmolLM2-135M and rounded up)
ONNX_BYTES_PER_PARAM = {"fp32": 4.05, "fp16": 2.05, "int8": 1.2}
ONNX_4BIT_BYTES_PER_PARAM = 0.9  # measured 0.80 (int4) to 0.88 (int4-q)
GGUF_BYTES_PER_PARAM = {"f32": 4.05, "f16": 2.05, "bf16": 2.05, "q8_0": 1.1}
GGUF_OTHER_BYTES_PER_PARAM = 0.9  # every other llama.cpp type is below 8.5 bits per weight
# optimum's TorchScript export holds the fp32 model, the trace and the ModelProto at once: measured
# peak 3.05 GB for SmolLM2-135M (134.5 M params) = ~0.8 GB of libraries + ~17 bytes per parameter
MEMORY_BYTES_PER_PARAM = 20.0
MEMORY_OVERHEAD_BYTES = 800_000_000  # interpreters, torch, onnxruntime


def parse_targets(specs: list[str] | tuple[str, ...] | str) -> dict[str, list[str]]:
    """Parse ``FORMAT[:SCHEME,SCHEME...]`` specs into ``{format: [scheme, ...]}`` (ordered, no dups)."""
    from edgeprof.exporters.gguf.quantize import check_quant
    from edgeprof.exporters.onnx.schemes import SCHEMES

    if isinstance(specs, str):
        specs = [specs]
    out: dict[str, list[str]] = {}
    for spec in specs:
        fmt, _, rest = spec.strip().partition(":")
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise UsageError(f"--to {spec!r}: unknown format {fmt!r}; use onnx:fp16,int8,int4 "
                              f"or gguf:q8_0,q4_k_m (edgeprof export --list-quants lists every scheme)")
        names = [n.strip().lower() for n in rest.split(",") if n.strip()] if rest else DEFAULTS[fmt]
        for name in names:
            if fmt == "onnx" and name not in SCHEMES:
                raise UsageError(f"--to {spec!r}: unknown ONNX scheme {name!r}; choose from {', '.join(SCHEMES)}")
            if fmt == "gguf":
                name = check_quant(name)
            if name not in out.setdefault(fmt, []):
                out[fmt].append(name)
    if not out:
        raise UsageError("no export targets given; use e.g. --to onnx:int4 --to gguf:q4_k_m")
    return out


def estimate_bytes(targets: dict[str, list[str]], params: int) -> dict[str, int]:
    """Disk (final + scratch) and memory an export of ``params`` parameters needs."""
    onnx, gguf = targets.get("onnx", []), targets.get("gguf", [])
    disk = 0.0
    if onnx:
        disk += sum(ONNX_BYTES_PER_PARAM.get(s, ONNX_4BIT_BYTES_PER_PARAM) for s in onnx) * params
        if "fp32" not in onnx:
            disk += ONNX_BYTES_PER_PARAM["fp32"] * params  # scratch fp32 export (optimum)
        if any(s not in ("fp32", "fp16") for s in onnx):
            disk += ONNX_BYTES_PER_PARAM["fp32"] * params  # scratch fp32 graph (model builder)
    if gguf:
        disk += sum(GGUF_BYTES_PER_PARAM.get(q, GGUF_OTHER_BYTES_PER_PARAM) for q in gguf) * params
        if "f16" not in gguf:
            disk += GGUF_BYTES_PER_PARAM["f16"] * params  # scratch f16 the quantizer reads
    memory = MEMORY_BYTES_PER_PARAM * params if onnx else 4.5 * params
    return {"disk_bytes": int(disk), "memory_bytes": int(memory + MEMORY_OVERHEAD_BYTES)}


def check_resources(targets: dict[str, list[str]], params: int, out_dir: Path, *,
                    check_memory: bool = True, already_bytes: int = 0) -> dict[str, int]:
    """Raise a one-line error when disk or memory is short, saying what is needed and what is free.

    ``already_bytes``: what a resumed export has already written (it no longer needs that space).
    """
    need = estimate_bytes(targets, params)
    need["disk_bytes"] = max(0, need["disk_bytes"] - already_bytes)
    free = free_disk_bytes(out_dir.parent if not out_dir.exists() else out_dir)
    if free < need["disk_bytes"]:
        raise UsageError(f"this export needs about {need['disk_bytes'] / 1e9:.1f} GB of free disk in "
                          f"{out_dir.parent}, only {free / 1e9:.1f} GB is free; free space or choose "
                          f"another --out")
    avail = available_memory_bytes()
    if check_memory and avail is not None and avail < need["memory_bytes"]:
        raise UsageError(f"this export needs about {need['memory_bytes'] / 1e9:.1f} GB of available "
                          f"memory, only {avail / 1e9:.1f} GB is available; close other programs, export "
                          f"fewer targets, or pass --ignore-memory-check")
    return {**need, "free_disk_bytes": free, "available_memory_bytes": avail or 0}
