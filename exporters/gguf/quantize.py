"""HF directory -> GGUF ``f16`` (llama.cpp's converter) -> any llama.cpp quant type by name.

Quantization calls ``llama_model_quantize`` from llama-cpp-python (the installed package has no
``llama-quantize`` binary). It runs in a child process: llama.cpp aborts the whole process on some
bad inputs, and an export must survive to report it. Names are llama.cpp's own (``q4_k_m``,
``q8_0``, ...), mapped to ``LLAMA_FTYPE_MOSTLY_*``; ``list_quants()`` lists what the installed
llama.cpp supports. Each quant lands in ``gguf-<quant>/model-<quant>.gguf`` (``plan.py``).
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from edgeprof.exporters.errors import ExportError, UsageError
from edgeprof.exporters.pipeline.steps import StepStats, log_tail, run_command

# converter --outtype values; everything else goes through the quantizer from f16
CONVERTER_TYPES = ("f16", "bf16", "f32")
# i-quants below 3 bits are unusable without an importance matrix, which edgeprof does not make
NEEDS_IMATRIX = ("iq1_s", "iq1_m", "iq2_xxs", "iq2_xs", "iq2_s", "q2_k_s")

_QUANTIZE_SCRIPT = r"""
import sys, llama_cpp
inp, out, ftype, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
p = llama_cpp.llama_model_quantize_default_params()
p.ftype = ftype
p.nthread = threads
rc = llama_cpp.llama_model_quantize(inp.encode(), out.encode(), p)
sys.exit(0 if rc == 0 else 3)
"""


def _ftypes() -> dict[str, int]:
    try:
        import llama_cpp
    except ImportError as err:
        raise ExportError("GGUF quantization needs llama-cpp-python: pip install llama-cpp-python==0.3.36") from err
    out = {}
    for name in dir(llama_cpp):
        if name.startswith("LLAMA_FTYPE_MOSTLY_"):
            out[name[len("LLAMA_FTYPE_MOSTLY_"):].lower()] = int(getattr(llama_cpp, name))
    if hasattr(llama_cpp, "LLAMA_FTYPE_ALL_F32"):
        out["f32"] = int(llama_cpp.LLAMA_FTYPE_ALL_F32)
    return out


def list_quants() -> list[str]:
    """GGUF types this installed llama.cpp can produce from an HF model (lower-case llama.cpp names)."""
    return sorted(q for q in _ftypes() if q not in NEEDS_IMATRIX)


def check_quant(name: str) -> str:
    """Normalize a quant name (``Q4_K_M`` -> ``q4_k_m``) or raise a one-line error listing valid ones."""
    q = name.strip().lower()
    if q in NEEDS_IMATRIX:
        raise UsageError(f"GGUF type {q} needs an importance matrix, which edgeprof does not compute; "
                          f"use q3_k_m or larger")
    if q not in _ftypes():
        raise UsageError(f"unknown GGUF type {name!r}; choose from {', '.join(list_quants())}")
    return q


def quantize_command(src: Path, dst: Path, quant: str, *, threads: int | None = None) -> list[str]:
    """Command line that quantizes ``src`` to ``quant`` with llama.cpp in a fresh interpreter."""
    q = check_quant(quant)
    threads = threads or os.cpu_count() or 1
    return [sys.executable, "-c", _QUANTIZE_SCRIPT, str(src), str(dst), str(_ftypes()[q]), str(threads)]


def quantize_gguf(src: Path, dst: Path, quant: str, *, threads: int | None = None,
                  log_path: Path | None = None, timeout_s: float | None = None) -> StepStats:
    """Quantize a GGUF (normally f16) to ``quant`` with llama.cpp, in a child process."""
    q = check_quant(quant)
    cmd = quantize_command(Path(src), Path(dst), q, threads=threads)
    with tempfile.TemporaryDirectory(prefix="edgeprof-quantize-") as tmp:
        log = Path(log_path) if log_path else Path(tmp) / "quantize.log"
        rc, stats = run_command(f"gguf:{q}", cmd, log_path=log, timeout_s=timeout_s)
        if rc != 0 or not Path(dst).is_file():
            raise ExportError(explain_quantize_failure(log_tail(log), Path(src), q, rc))
    return stats


def explain_quantize_failure(lines: list[str], src: Path, quant: str, rc: int) -> str:
    if rc < 0:
        return f"llama.cpp quantization of {src.name} to {quant} was killed by signal {-rc} (out of memory?)"
    why = next((ln for ln in reversed(lines) if "error" in ln.lower() or "failed" in ln.lower()),
               lines[-1] if lines else f"exit status {rc}")
    return f"llama.cpp could not quantize {src.name} to {quant} ({why.strip()})"
