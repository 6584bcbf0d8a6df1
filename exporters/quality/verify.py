"""After each build: prove the artifact runs, measure its quality against the source, judge it.

Verification is the cheapest honest check: load the artifact in the runtime a deployer would use
(onnxruntime / llama.cpp) and compute the next token of a real prompt. Quality (``quality.py``) is
scored with the same loaded model, and the gate (``gate.py``) judges the figures. Each check runs
in a child process (``steps.run_python_step``): a runtime that segfaults on a file (llama.cpp does,
see ``scorers._load_llama``) fails that one check with a clear message instead of the export.

The source's reference figures are computed once per export, on the fastest runtime that gives the
same numbers: ONNX Runtime on the fp32 graph the export builds anyway (the model builder's, else
optimum's; measured on SmolLM2-135M: perplexity equal to 2e-7, the same top-1 at all 1,020
positions and the same greedy continuations as eager PyTorch, in 8.5 s instead of 13.4 s per
process), PyTorch when the export builds no ONNX graph (``plan.py``).
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

from edgeprof.exporters.errors import ExportError
from edgeprof.exporters.source.hf import Source
from edgeprof.exporters.quality.measure import EvalSet, artifact_figures, build_eval_set, load_reference, reference_figures, save_reference
from edgeprof.exporters.quality.scorers import open_scorer

FALLBACK_PROMPT = [1, 2, 3]
PROMPT = "The capital of France is"


def verify_prompt(src: Source) -> list[int]:
    """Token ids of a real prompt for the one-token check (fixed ids when there is no tokenizer)."""
    tok = src.path / "tokenizer.json"
    if not tok.is_file():
        return FALLBACK_PROMPT
    from tokenizers import Tokenizer
    return Tokenizer.from_file(str(tok)).encode(PROMPT, add_special_tokens=False).ids


def check_artifact(fmt: str, path: str, prompt: list[int], eval_path: str | None = None,
                   ref_path: str | None = None, threads: int = 1) -> dict:
    """(child process) Load + next token of ``prompt``, then quality when an eval set and reference are given."""
    import numpy as np

    t0 = time.perf_counter()
    es = EvalSet(**json.loads(Path(eval_path).read_text())) if eval_path and ref_path else None
    n_ctx = max(64, len(prompt) + 8, es.window + es.gen_tokens + 64 if es else 0)
    try:
        scorer = open_scorer(fmt, Path(path), threads=threads, n_ctx=n_ctx)
        logits = scorer.window_logits(prompt)
    except ExportError:
        raise
    except Exception as err:  # a runtime refusing the file is the finding, reported in one line
        raise ExportError(f"{fmt} artifact {path} does not load or run: "
                          f"{type(err).__name__}: {' '.join(str(err).split())[:200]}") from err
    try:
        if not np.isfinite(logits[-1]).all():
            raise ExportError(f"{path} produced non-finite logits on its first token")
        out = {"verify": {"loads": True, "first_token_id": int(logits[-1].argmax()), "prompt_tokens": len(prompt),
                          "load_and_first_token_s": round(time.perf_counter() - t0, 3)}}
        if es is not None:
            t1 = time.perf_counter()
            out["quality"] = {**artifact_figures(scorer, es, load_reference(Path(ref_path))),
                              "eval_s": round(time.perf_counter() - t1, 3)}
    finally:
        scorer.close()
    return out


def compute_reference(fmt: str, model_path: str, eval_path: str, ref_path: str, threads: int = 1) -> dict:
    """(child process) The source's reference figures (``fmt`` hf: PyTorch; onnx: its fp32 export)."""
    t0 = time.perf_counter()
    es = EvalSet(**json.loads(Path(eval_path).read_text()))
    scorer = open_scorer(fmt, Path(model_path), threads=threads, n_ctx=es.window + es.gen_tokens + 64)
    try:
        ref = reference_figures(scorer, es)
    finally:
        scorer.close()
    save_reference(ref, Path(ref_path))
    return {"perplexity": ref.perplexity, "wall_s": round(time.perf_counter() - t0, 3)}


def prepare_quality(src: Source, work: Path, enabled: bool, tokens: int = 1024) -> tuple[dict, str | None, str | None]:
    """(main process) The eval set on disk and what the manifest says about the method; the
    reference itself is computed by a job (``compute_reference``) into the returned path."""
    if not enabled:
        return {"skipped": "quality measurement turned off (--no-quality)"}, None, None
    tok = src.path / "tokenizer.json"
    if not tok.is_file():
        return {"skipped": f"source {src.path} has no tokenizer.json (fast tokenizer) for the eval text"}, None, None
    es = build_eval_set(tok, max_tokens=tokens)
    work.mkdir(parents=True, exist_ok=True)
    eval_path, ref_path = work / "evalset.json", work / "reference.json"
    eval_path.write_text(json.dumps(asdict(es)))
    method = {**es.describe(),
              "perplexity": "exp(mean NLL), non-overlapping windows, first token of each window is context",
              "greedy_agreement": "top-1 of the artifact on the baseline's greedy continuation (teacher forced)",
              "next_token_agreement": "top-1 of the artifact vs top-1 of the baseline on the eval text"}
    return method, str(eval_path), str(ref_path)
