"""Quality of an artifact next to its source: perplexity and greedy-token agreement.

The edge analogue of EfficientLLM's accuracy column. Every artifact of one export is scored on the
SAME token ids (the source tokenizer applied once to the bundled ``assets/eval/eval.txt``), in
non-overlapping windows, so the figures differ only by what quantization changed:
- ``perplexity``: exp(mean NLL) over the windows (first token of each window is context only);
- ``next_token_agreement``: share of eval positions where the artifact's top-1 equals the source's;
- ``greedy_agreement``: over a fixed prompt set, the source's greedy continuation is fed to the
  artifact (teacher forcing) and we count how often its top-1 picks the same next token. Teacher
  forcing keeps one early divergence from hiding everything after it;
- ``quality_retention``: source perplexity / artifact perplexity (capped at 1), used for ``mcr``.

Backends (``scorers.py``): torch for the HF source, onnxruntime, llama.cpp. Kept cheap: by default
1,024 tokens in 256-token windows and 8 prompts x 16 tokens.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

from edgeprof.exporters.errors import ExportError

PROMPTS = (
    "The capital of France is",
    "def fibonacci(n):\n    ",
    "Water boils at a temperature of",
    "<|im_start|>user\nName three primary colours.<|im_end|>\n<|im_start|>assistant\n",
    "Once upon a time, in a small village by the sea,",
    "The three laws of motion were described by",
    "1, 2, 3, 5, 8, 13,",
    "To measure energy on a small device, engineers",
)


@dataclass(frozen=True)
class EvalSet:
    """Token ids every artifact is scored on, and where they came from."""
    windows: list[list[int]]
    prompts: list[list[int]]
    gen_tokens: int
    text_sha256: str
    tokens: int
    window: int

    def describe(self) -> dict:
        return {"text": "assets/eval/eval.txt", "text_sha256": self.text_sha256, "tokens": self.tokens,
                "window": self.window, "windows": len(self.windows), "prompts": len(self.prompts),
                "gen_tokens": self.gen_tokens}


@dataclass
class Reference:
    """The source model's figures that artifacts are compared against (cached as JSON on resume)."""
    perplexity: float
    argmax: list[list[int]]
    continuations: list[list[int]]
    extra: dict = field(default_factory=dict)


def eval_text_path() -> Path:
    """The bundled eval text: ``edgeprof.assets`` is a data package beside this library (``assets/``
    at the top of a checkout, ``edgeprof/assets/`` when installed); importing it loads nothing."""
    import importlib

    try:
        path = Path(importlib.import_module("edgeprof.assets").__file__).resolve().parent / "eval" / "eval.txt"
    except ImportError:
        path = None
    if path is not None and path.is_file():
        return path
    raise ExportError("the bundled evaluation text assets/eval/eval.txt is missing; reinstall edgeprof")


def build_eval_set(tokenizer_json: Path, *, text_path: Path | None = None, max_tokens: int = 1024,
                   window: int = 256, gen_tokens: int = 16) -> EvalSet:
    """Tokenize the eval text and prompts once with the source's ``tokenizer.json``."""
    from tokenizers import Tokenizer

    if not Path(tokenizer_json).is_file():
        raise ExportError(f"{tokenizer_json} is missing; quality needs the source's fast tokenizer")
    tok = Tokenizer.from_file(str(tokenizer_json))
    path = text_path or eval_text_path()
    raw = Path(path).read_bytes()
    ids = tok.encode(raw.decode("utf-8"), add_special_tokens=False).ids[:max_tokens]
    windows = [ids[i:i + window] for i in range(0, len(ids), window)]
    windows = [w for w in windows if len(w) >= 2]
    prompts = [tok.encode(p, add_special_tokens=False).ids for p in PROMPTS]
    return EvalSet(windows=windows, prompts=prompts, gen_tokens=gen_tokens,
                   text_sha256=hashlib.sha256(raw).hexdigest(), tokens=sum(map(len, windows)), window=window)


def _nll_and_argmax(logits, ids: list[int]) -> tuple[float, int, list[int]]:
    """Sum of NLL of ids[1:] given logits[:-1], count, and the top-1 prediction at each position."""
    import numpy as np

    x = np.asarray(logits[:-1], dtype=np.float64)
    m = x.max(axis=1, keepdims=True)
    logz = (m[:, 0] + np.log(np.exp(x - m).sum(axis=1)))
    target = np.asarray(ids[1:])
    nll = float((logz - x[np.arange(len(target)), target]).sum())
    return nll, len(target), [int(a) for a in x.argmax(axis=1)]


def score_perplexity(scorer, es: EvalSet) -> tuple[float, list[list[int]]]:
    """Perplexity over the eval windows and the per-window top-1 predictions."""
    total, count, argmax = 0.0, 0, []
    for w in es.windows:
        nll, n, am = _nll_and_argmax(scorer.window_logits(w), w)
        total, count = total + nll, count + n
        argmax.append(am)
    ppl = math.exp(total / count)
    if not math.isfinite(ppl):
        raise ExportError("perplexity is not finite: the artifact produced NaN/inf logits")
    return ppl, argmax


def reference_figures(scorer, es: EvalSet) -> Reference:
    """Source perplexity, top-1 on the eval text, and greedy continuations of the prompt set."""
    ppl, argmax = score_perplexity(scorer, es)
    conts = []
    for p in es.prompts:
        if hasattr(scorer, "greedy"):  # with a KV cache where the backend has one
            conts.append(scorer.greedy(list(p), es.gen_tokens))
            continue
        seq = list(p)
        for _ in range(es.gen_tokens):
            seq.append(int(scorer.window_logits(seq)[-1].argmax()))
        conts.append(seq[len(p):])
    return Reference(perplexity=ppl, argmax=argmax, continuations=conts)


def artifact_figures(scorer, es: EvalSet, ref: Reference) -> dict:
    """Quality of one artifact relative to the source reference (all figures finite or an error)."""
    ppl, argmax = score_perplexity(scorer, es)
    same = sum(a == b for wa, wb in zip(argmax, ref.argmax) for a, b in zip(wa, wb))
    total = sum(len(w) for w in ref.argmax)
    hits = positions = 0
    for p, cont in zip(es.prompts, ref.continuations):
        logits = scorer.window_logits(list(p) + cont[:-1])
        preds = logits[len(p) - 1:].argmax(axis=1)
        hits += int(sum(int(a) == b for a, b in zip(preds, cont)))
        positions += len(cont)
    return {"perplexity": round(ppl, 4), "baseline_perplexity": round(ref.perplexity, 4),
            "perplexity_ratio": round(ppl / ref.perplexity, 4),
            "quality_retention": round(min(1.0, ref.perplexity / ppl), 4),
            "next_token_agreement": round(same / total, 4),
            "greedy_agreement": round(hits / positions, 4)}


def save_reference(ref: Reference, path: Path) -> None:
    path.write_text(json.dumps(asdict(ref)))


def load_reference(path: Path) -> Reference | None:
    return Reference(**json.loads(path.read_text())) if path.is_file() else None


def evaluate(fmt: str, model_path: Path, es: EvalSet, ref: Reference, *, threads: int = 2) -> dict:
    """Score one artifact (``fmt`` in gguf/onnx/hf) against the reference; adds the eval description."""
    from edgeprof.exporters.quality.scorers import open_scorer

    scorer = open_scorer(fmt, model_path, threads=threads, n_ctx=es.window + es.gen_tokens + 64)
    try:
        figures = artifact_figures(scorer, es, ref)
    finally:
        scorer.close()
    figures["method"] = es.describe()
    return figures
