"""How close a decode result is to the hardware's limits: ``roofline_fraction`` and ``compute_utilization``.

Bandwidth-bound decode limit (tokens/s) = memory bandwidth ÷ bytes read per generated token.
Assumption, stated in every note: each decode step reads **all artifact weight bytes once**
(``artifact.size_bytes``; embedding rows that are only gathered make this a slight over-count) plus
the **KV cache at the mean decode depth** (depth + prompt_tokens + gen_tokens/2 tokens), which is
included only when the model's layer/head sizes are known (``model.n_layers``, ``model.n_kv_heads``,
``model.head_dim`` or the ``model_dims`` argument) — otherwise the note says it was left out.

Compute utilization = achieved FLOP/s ÷ peak FLOP/s for the precision, achieved ≈ 2 × params ×
tokens/s (+ 4 × n_layers × context × n_heads × head_dim × tokens/s for attention when dims are known).

Both are CONTRACTS metric dicts (per-repetition samples from ``decode_tokens_per_s`` samples),
provenance kind ``derived``, with a note naming the bandwidth/peak and whether it came from ``spec``
(which ``devices.csv`` row) or a ``measured`` probe. ``spec`` is ``specs.device_spec(...)``'s shape
(a ``DeviceSpec``) or a plain ``SpecRow`` (then treated as ``spec``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from edgeprof.analysis.flops import PassFlops
from edgeprof.analysis.metrics import metric as make_metric
from edgeprof.analysis.spec_types import DeviceSpec, Peak, SpecRow
from edgeprof.models.quant import precision_class
from edgeprof.results.schema import Metric, Provenance, Record

KV_ELEM_BYTES = {"f32": 4.0, "fp32": 4.0, "f16": 2.0, "fp16": 2.0, "bf16": 2.0, "q8_0": 34 / 32, "q4_0": 18 / 32}


def _figure(spec: DeviceSpec, key: str) -> tuple[float | None, str]:
    v = spec.figure(key)
    if v is None:
        return None, ""
    p = spec.peak(key) or Peak("spec", f"assets/devices/devices.csv row {spec.id or '?'}")
    return float(v), f"{p.kind}: {p.source}" + (f" ({p.note})" if p.note else "")


def as_spec(spec: DeviceSpec | SpecRow | None) -> DeviceSpec | None:
    """A device's peaks: ``specs.device_spec``'s, or a plain table row's published ones."""
    return spec.spec() if isinstance(spec, SpecRow) else spec


def model_dims_from_gguf(metadata: dict) -> dict[str, int]:
    """``{n_layers, n_heads, n_kv_heads, head_dim}`` from GGUF metadata (``gguf_meta.read_header``),
    for ``record["model"]`` or the ``model_dims`` argument; keys absent from the header are left out."""
    arch = metadata.get("general.architecture")
    get = (lambda k: metadata.get(f"{arch}.{k}")) if arch else (lambda k: None)
    dims = {"n_layers": get("block_count"), "n_heads": get("attention.head_count"),
            "n_kv_heads": get("attention.head_count_kv") or get("attention.head_count")}
    width = get("embedding_length")
    dims["head_dim"] = get("attention.key_length") or (width // dims["n_heads"] if width and dims["n_heads"] else None)
    return {k: int(v) for k, v in dims.items() if isinstance(v, (int, float)) and v}


def mean_decode_context(record: Record) -> float:
    w = record.workload
    return float(w.depth or 0) + float(w.prompt_tokens or 0) + float(w.gen_tokens or 0) / 2


@dataclass(frozen=True)
class ModelDims:
    """The model's shape where known (None = unknown): what the KV-cache bytes and attention
    FLOPs need. Read from the record's ``model`` and the GGUF header's dims."""
    n_layers: Any = None
    n_heads: Any = None
    n_kv_heads: Any = None
    head_dim: Any = None

    @classmethod
    def from_dict(cls, d: dict) -> "ModelDims":
        """A dimension that is not a positive number (a hand-edited record: an object, text) is
        unknown, not a crash far away in the roofline."""
        return cls(*(v if type(v) in (int, float) and math.isfinite(v) and v > 0 else None
                     for v in (d.get(k) for k in ("n_layers", "n_heads", "n_kv_heads", "head_dim"))))


def _dims(record: Record, model_dims: dict | None) -> ModelDims:
    return ModelDims.from_dict({**record.model.extra, **(model_dims or {})})


def bytes_per_token(record: Record, model_dims: dict | None = None) -> tuple[float | None, str]:
    """Bytes read per decode step and the assumption used; None when the artifact size is unknown."""
    size = record.artifact.size_bytes
    if not size:
        return None, "artifact.size_bytes unknown"
    dims = _dims(record, model_dims)
    kv_type = str(record.runtime.placement.kv_type or "f16").lower()
    ctx = mean_decode_context(record)
    if dims.n_layers and dims.n_kv_heads and dims.head_dim:
        elem = KV_ELEM_BYTES.get(kv_type, 2.0)
        kv = 2 * dims.n_layers * dims.n_kv_heads * dims.head_dim * elem * ctx
        return float(size) + kv, (f"bytes/token = artifact {size} B (all weights once) + KV {kv:.0f} B "
                                  f"({kv_type}, mean decode context {ctx:g} tokens)")
    return float(size), (f"bytes/token = artifact {size} B (all weights once); KV cache NOT included "
                         f"(model dims unknown; mean decode context {ctx:g} tokens)")


def flops_per_token(record: Record, model_dims: dict | None = None) -> tuple[float | None, str]:
    """FLOP per decoded token (2 × params, + attention 4·L·ctx·H·d when the dims are known) and how
    it was counted; None without a parameter count. Shared by ``compute_utilization`` and the
    report's roofline chart (which places each case at FLOP/token ÷ bytes/token)."""
    params = record.model.params
    if not params:
        return None, "parameter count unknown"
    dims = _dims(record, model_dims)
    flops = 2.0 * float(params)
    attn = ""
    if dims.n_layers and dims.n_heads and dims.head_dim:
        flops += 4.0 * dims.n_layers * mean_decode_context(record) * dims.n_heads * dims.head_dim
        attn = " + attention 4·L·ctx·H·d"
    return flops, f"(2 × {float(params):.4g} params{attn}) = {flops:.4g} FLOP/token"


def decode_limit_tokens_per_s(bandwidth_gbs: float, bytes_per_token_b: float) -> float:
    return bandwidth_gbs * 1e9 / bytes_per_token_b


def peak_for_precision(spec: DeviceSpec, quant: str | None, kind: str | None) -> tuple[str | None, float | None, str]:
    """Which peak applies: fp16 tensor peak for 16-bit on GPUs, int8 for int8/int4 when known, else fp32."""
    cls = precision_class(quant)
    q = (quant or "").lower()
    order = ["peak_fp32_tflops"]
    if cls == "16-bit baseline" and q not in ("fp32", "f32", "float32") and kind not in ("cpu", None):
        order = ["peak_fp16_tflops", "peak_fp32_tflops"]
    elif cls in ("int4", "int8") and kind not in ("cpu", None):
        order = ["peak_int8_tops", "peak_fp16_tflops", "peak_fp32_tflops"]
    for key in order:
        v, src = _figure(spec, key)
        if v:
            why = "" if key == order[0] else f"; {order[0]} unknown, {key} used instead"
            return key, v, src + why
    return None, None, "no peak FLOP/s known"


def _label(spec: DeviceSpec, key: str | None) -> str:
    """The peak's name in a cell: the probe's date and quality, or the spec row."""
    p = spec.peak(key)
    if p is not None and p.kind == "measured":
        return p.label or "probe (date and quality unknown)"
    return f"spec {spec.spec_id or spec.id or '?'}"


def _peak(spec: DeviceSpec, key: str | None) -> dict:
    """Where a peak figure came from, as the record's ``provenance.peak`` holds it: kind, label
    (the probe's date and quality), a flag."""
    p = spec.peak(key)
    if p is not None and p.kind == "measured":
        return {"figure": key, "kind": "measured", "label": _label(spec, key), "quality": p.quality or "unknown",
                "flag": p.flag}
    return {"figure": key, "kind": "spec", "label": _label(spec, key)}


def _metric(samples: list[float], note: str, source: str, spec: DeviceSpec, key: str | None) -> Metric:
    p = spec.peak(key)
    flag = f"; {p.flag}" if p is not None and p.kind == "measured" and p.flag else ""
    return make_metric(samples, "ratio", Provenance("derived", source, "decode phase", note=f"{note}; peak from "
                                                    f"{_label(spec, key)}{flag}", extra={"peak": _peak(spec, key)}))


def roofline_metrics(record: Record, spec: DeviceSpec | SpecRow | None,
                     model_dims: dict | None = None) -> dict[str, Metric]:
    """``{"roofline_fraction": metric, "compute_utilization": metric}`` — each only when computable."""
    spec = as_spec(spec)
    if record.workload.inference:
        return inference_utilization(record, spec)
    decode = record.metric("decode_tokens_per_s")
    rates = [float(x) for x in (decode.samples if decode else ()) if x]
    if not rates and decode is not None and decode.median:
        rates = [float(decode.median)]
    if not rates or not spec:
        return {}
    out: dict[str, Metric] = {}
    bw, bw_src = _figure(spec, "peak_mem_bandwidth_gbs")
    bpt, bpt_note = bytes_per_token(record, model_dims)
    if bw and bpt:
        limit = decode_limit_tokens_per_s(bw, bpt)
        out["roofline_fraction"] = _metric(
            [r / limit for r in rates],
            f"bandwidth-bound limit {limit:.4g} tokens/s = {bw:g} GB/s [{bw_src}] ÷ {bpt:.4g} B/token; {bpt_note}",
            "roofline: decode_tokens_per_s ÷ (bandwidth ÷ bytes per token)", spec, "peak_mem_bandwidth_gbs")
    key, peak, peak_src = peak_for_precision(spec, record.artifact.quant, record.device.kind)
    flops_tok, flops_note = flops_per_token(record, model_dims)
    if flops_tok and peak:
        peak_flops = peak * 1e12
        out["compute_utilization"] = _metric(
            [r * flops_tok / peak_flops for r in rates],
            f"achieved ≈ {flops_note} × tokens/s ÷ {key} {peak:g}e12 [{peak_src}]",
            "roofline: FLOP/token × decode_tokens_per_s ÷ peak FLOP/s", spec, key)
    return out


def inference_utilization(record: Record, spec: DeviceSpec | SpecRow | None) -> dict[str, Metric]:
    """An inference case's ``compute_utilization``: FLOPs of one pass (counted from its graph,
    ``analysis/flops.py``, or by torch's counter) × inferences/s ÷ the device's peak FLOP/s. No
    bandwidth roofline: a forward pass over a batch is not one weight read per token."""
    spec = as_spec(spec)
    rate = record.metric("inferences_per_s")
    flops = PassFlops.from_dict(record.conditions.runtime_extra or {})
    if rate is None or not spec or flops is None:
        return {}
    key, peak, peak_src = peak_for_precision(spec, record.artifact.quant, record.device.kind)
    if not peak:
        return {}
    n = flops.value
    rates = [float(x) for x in rate.samples if x] or [float(rate.center)]
    return {"compute_utilization": make_metric(
        [r * n / (peak * 1e12) for r in rates], "ratio",
        Provenance("derived", "FLOP/inference x inferences_per_s ÷ peak FLOP/s", "inference",
                   note=f"{n:.4g} FLOP per inference, {flops.source} ({flops.note}); {key} {peak:g}e12 "
                        f"[{peak_src}]; peak from {_label(spec, key)}", extra={"peak": _peak(spec, key)}))}


#: what makes a share above 100 % of a limit impossible, per metric: the limit used was too low
_TOO_LOW = {"roofline_fraction": "the bandwidth figure it rests on is too low (a probe on a busy machine, or a "
                                 "cache-resident model); re-run `edgeprof devices --probe` on an idle machine",
            "compute_utilization": "the peak it rests on is too low for the instructions that ran (an int8/int4 path "
                                   "measured against an fp32 peak, or a probe on a busy machine); re-run "
                                   "`edgeprof devices --probe` on an idle machine or add the device's int8 peak to "
                                   "your devices.csv"}


def withhold_impossible(metrics: dict[str, Metric]) -> tuple[dict[str, Metric], list[str]]:
    """A share of a hardware limit above 100 % is not a figure, it is evidence that the limit was
    wrong: such a metric is withheld, and a warning says what it would have read and why."""
    kept, warnings = {}, []
    for name, m in metrics.items():
        if name in _TOO_LOW and m.center is not None and m.center > 1.0:
            warnings.append(f"{name} withheld: it read {m.center:.0%} of its limit, which cannot be; "
                            f"{_TOO_LOW[name]} ({m.provenance.note})")
        else:
            kept[name] = m
    return kept, warnings
