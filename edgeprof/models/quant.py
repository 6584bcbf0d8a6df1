"""Quantization schemes grouped into precision classes — what reference matching and the roofline
compare, since a GGUF ``q4_k_m`` and an AWQ ``int4`` are both 4-bit weights (CONTRACTS "Server
references": bf16/fp16 ↔ bf16/f16/fp16/fp32 baselines, int4 (AWQ) ↔ q4_*/int4)."""
from __future__ import annotations

BASELINE = {"bf16", "bfloat16", "f16", "fp16", "float16", "fp32", "f32", "float32"}


def precision_class(quant: str | None) -> str:
    q = (quant or "").lower()
    if q in BASELINE:
        return "16-bit baseline"
    if q.startswith(("q4", "iq4")) or "int4" in q or q in ("awq", "gptq"):
        return "int4"
    if q.startswith("q8") or q == "int8":
        return "int8"
    return q or "unknown"
