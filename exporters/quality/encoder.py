"""The quality of an exported model that is not a causal LM, measured the way its task is used,
against the source on inputs the calibration never saw — and the gate that holds it to limits.

- a sentence embedder: cosine similarity of the sentence embeddings (mean pooling over the
  attention mask, as sentence-transformers' Pooling module) of the artifact and the source, over
  sentences of the bundled evaluation text; mean and minimum;
- a classifier: top-1 agreement with the source on the bundled image set (assets/images);
- anything else (depth, detection, a bare encoder of unknown use): the maximum absolute error of
  the first output, relative to the source's largest magnitude.

``quality_retention`` (what the bench's MCR multiplies by) is the mean cosine similarity or the
top-1 agreement; for max-error models it is 1 - relative error, floored at 0. The limits catch a
broken or badly damaged artifact, not a scheme that is merely worse. Measured on all-MiniLM-L6-v2
(24 sentences): fp16 1.0000, int8 dynamic 0.993 (min 0.985), int8 static (QDQ, 16 calibration
sentences) 0.927 (min 0.905) — activation outliers of BERT's feed-forward layers cost static int8
more; a tampered int8 falls far below either.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: scheme -> (min mean cosine, min cosine), (min top-1 agreement), (max relative abs error)
LIMITS = {"fp32": (0.9999, 0.999, 1.0, 1e-4), "fp16": (0.999, 0.99, 0.95, 0.01),
          "int8": (0.98, 0.90, 0.80, 0.15), "int8-static": (0.90, 0.80, 0.75, 0.25)}


@dataclass(frozen=True)
class EvalSet:
    """Inputs the quality is measured on (numpy feeds by input name) and what they are."""

    feeds: list[dict[str, Any]]
    masks: list[Any]            # attention masks of text inputs (pooling), None elsewhere
    what: str


def _asset(*parts: str) -> Path:
    return Path(importlib.import_module("edgeprof.assets").__file__).resolve().parent.joinpath(*parts)


def _sentences(n: int, skip: int = 0) -> list[str]:
    text = _asset("eval", "eval.txt").read_text()
    parts = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 20]
    return parts[skip:skip + n] or parts[:n]


def text_set(src: Path, input_names: list[str], n: int, seq: int = 64, skip: int = 0) -> EvalSet:
    """Sentences of the bundled eval text through the source's tokenizer, one per feed (padded to
    the longest in the set so masks matter)."""
    import numpy as np
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(src / "tokenizer.json"))
    tok.enable_truncation(seq)
    tok.enable_padding(length=seq)
    feeds, masks = [], []
    for enc in tok.encode_batch(_sentences(n, skip)):
        ids = np.asarray([enc.ids], dtype=np.int64)
        mask = np.asarray([enc.attention_mask], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        feeds.append({k: v for k, v in feed.items() if k in input_names})
        masks.append(mask)
    return EvalSet(feeds, masks, f"{len(feeds)} sentences of assets/eval/eval.txt, tokenized, {seq} tokens")


def image_set(size: tuple[int, int], mean, std, n: int | None = None) -> EvalSet:
    """The bundled images resized and normalised, one per feed."""
    import numpy as np
    from PIL import Image

    files = sorted(_asset("images").glob("*.png"))[:n]
    feeds = []
    for f in files:
        with Image.open(f) as im:
            a = np.asarray(im.convert("RGB").resize((size[1], size[0]), Image.BILINEAR), dtype=np.float32) / 255.0
        x = ((a - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).transpose(2, 0, 1)[None]
        feeds.append({"pixel_values": x.astype(np.float32)})
    return EvalSet(feeds, [None] * len(feeds), f"{len(feeds)} bundled images (assets/images), {size[0]}x{size[1]}")


def run_onnx(path: Path, feeds: list[dict[str, Any]]) -> list[Any]:
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    return [sess.run(None, {k: v for k, v in f.items() if k in names})[0] for f in feeds]


def _pool(x, mask):
    import numpy as np

    if mask is None or x.ndim != 3:
        return x.reshape(x.shape[0], -1)
    m = mask[..., None].astype(np.float32)
    return (x * m).sum(1) / np.maximum(m.sum(1), 1e-9)


def measure(task: str, ref: list[Any], out: list[Any], masks: list[Any]) -> dict[str, Any]:
    """The figures of one artifact against the source's outputs on the same inputs."""
    import numpy as np

    if task == "embedding":
        cos = []
        for a, b, m in zip(ref, out, masks):
            pa, pb = _pool(a.astype(np.float64), m), _pool(b.astype(np.float64), m)
            cos += list((pa * pb).sum(1) / np.maximum(np.linalg.norm(pa, axis=1) * np.linalg.norm(pb, axis=1), 1e-12))
        cos = [float(x) for x in cos]
        return {"metric": "cosine_similarity", "mean_cosine": float(np.mean(cos)), "min_cosine": float(min(cos)),
                "n": len(cos), "quality_retention": round(float(np.mean(cos)), 6)}
    if task == "classification":
        agree = [int(np.argmax(a.reshape(a.shape[0], -1), 1)[0] == np.argmax(b.reshape(b.shape[0], -1), 1)[0])
                 for a, b in zip(ref, out)]
        return {"metric": "top1_agreement", "top1_agreement": sum(agree) / len(agree), "n": len(agree),
                "quality_retention": round(sum(agree) / len(agree), 6)}
    err = max(float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) for a, b in zip(ref, out))
    scale = max(float(np.max(np.abs(a))) for a in ref) or 1.0
    return {"metric": "max_abs_error", "max_abs_error": err, "relative_error": err / scale, "n": len(ref),
            "quality_retention": round(max(0.0, 1.0 - err / scale), 6)}


def judge(scheme: str, figures: dict[str, Any] | None) -> dict[str, Any]:
    """The gate's verdict: {status ok|degraded|unchecked, metric, limits, failures}."""
    mean_c, min_c, top1, rel = LIMITS.get(scheme, LIMITS["int8-static"])
    if figures is None:
        return {"status": "unchecked", "failures": []}
    metric, failures = figures["metric"], []
    if metric == "cosine_similarity":
        limits = {"min_mean_cosine": mean_c, "min_cosine": min_c}
        if not figures["mean_cosine"] >= mean_c:
            failures.append(f"mean cosine similarity {figures['mean_cosine']:.4f} (limit >= {mean_c})")
        if not figures["min_cosine"] >= min_c:
            failures.append(f"lowest cosine similarity {figures['min_cosine']:.4f} (limit >= {min_c})")
    elif metric == "top1_agreement":
        limits = {"min_top1_agreement": top1}
        if not figures["top1_agreement"] >= top1:
            failures.append(f"top-1 agreement {figures['top1_agreement']:.3f} (limit >= {top1})")
    else:
        limits = {"max_relative_error": rel}
        if not figures["relative_error"] <= rel:
            failures.append(f"max abs error {figures['max_abs_error']:.4g} = {figures['relative_error']:.3g} of the "
                            f"source's largest output (limit {rel})")
    return {"status": "degraded" if failures else "ok", "metric": metric, "limits": limits, "failures": failures}
