"""After the build steps: prove each artifact runs, then measure its quality against the source.

Verification is the cheapest honest check: load the artifact in the runtime a deployer would use
(onnxruntime / llama.cpp) and generate one token from a real prompt. Quality (``quality.py``) is
scored in the same visit. Both run in a child process per artifact (``steps.run_python_step``):
a runtime that segfaults on a file (llama.cpp does, see ``scorers._load_llama``) fails that one
check with a clear message instead of killing the export. Results are saved in the export's
progress file, so an interrupted export does not redo them.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from .errors import ExportError
from .hf_source import Source
from .quality import EvalSet, build_eval_set, evaluate, load_reference, reference_figures, save_reference
from .scorers import first_token, open_scorer
from .steps import run_python_step

FALLBACK_PROMPT = [1, 2, 3]


def verify_prompt(src: Source) -> list[int]:
    """Token ids of a real prompt for the one-token check (fixed ids when there is no tokenizer)."""
    tok = src.path / "tokenizer.json"
    if not tok.is_file():
        return FALLBACK_PROMPT
    from tokenizers import Tokenizer
    return Tokenizer.from_file(str(tok)).encode("The capital of France is", add_special_tokens=False).ids


def check_artifact(fmt: str, path: str, prompt: list[int], eval_path: str | None = None,
                   ref_path: str | None = None, threads: int = 2) -> dict:
    """(child process) Load + one token, then quality when an eval set and reference are given."""
    t0 = time.perf_counter()
    try:
        token = first_token(fmt, Path(path), prompt, threads=threads)
    except ExportError:
        raise
    except Exception as err:  # a runtime refusing the file is the finding, reported in one line
        raise ExportError(f"{fmt} artifact {path} does not load or run: "
                          f"{type(err).__name__}: {' '.join(str(err).split())[:200]}") from err
    out = {"verify": {"loads": True, "first_token_id": token, "prompt_tokens": len(prompt),
                      "load_and_first_token_s": round(time.perf_counter() - t0, 3)}}
    if eval_path and ref_path:
        es = EvalSet(**json.loads(Path(eval_path).read_text()))
        out["quality"] = evaluate(fmt, Path(path), es, load_reference(Path(ref_path)), threads=threads)
    return out


def compute_reference(source_dir: str, eval_path: str, ref_path: str, threads: int = 2) -> dict:
    """(child process) The source model's reference figures, saved to ``ref_path``."""
    es = EvalSet(**json.loads(Path(eval_path).read_text()))
    scorer = open_scorer("hf", Path(source_dir), threads=threads)
    try:
        ref = reference_figures(scorer, es)
    finally:
        scorer.close()
    save_reference(ref, Path(ref_path))
    return {"perplexity": ref.perplexity}


def check_all(src: Source, build: Path, artifacts: list[tuple[str, tuple]], state: dict, *,
              quality: bool, save: Callable[[], None], threads: int = 2,
              on_step: Callable[[str, str], None] = lambda name, status: None) -> tuple[dict, dict, dict]:
    """Verify (and score) every artifact; returns (quality method, {rel: verify}, {rel: quality}).

    ``artifacts`` is ``[(step_name, (fmt, quant, rel_dir, main_file))]``. A failing artifact
    raises ExportError after its step is dropped from ``state`` so a re-run rebuilds it.
    """
    work = build / ".work"
    work.mkdir(exist_ok=True)
    method, eval_path, ref_path = _prepare_quality(src, work, quality, threads)
    prompt = verify_prompt(src)
    verified, figures = {}, {}
    for step_name, (fmt, quant, rel, main) in artifacts:
        done = state["checks"].get(rel)
        if done is None or (eval_path and "quality" not in done):
            on_step(f"check:{rel}", "started")
            try:
                done, _ = run_python_step(f"check-{rel}", "exporters.verify:check_artifact",
                                          {"fmt": fmt, "path": str(build / rel / main), "prompt": prompt,
                                           "eval_path": eval_path, "ref_path": ref_path, "threads": threads},
                                          work_dir=work)
            except ExportError:
                state["steps"].pop(step_name, None)
                save()
                raise
            state["checks"][rel] = done
            save()
        verified[rel] = done["verify"]
        if done.get("quality"):
            figures[rel] = {k: v for k, v in done["quality"].items() if k != "method"}
    return method, verified, figures


def _prepare_quality(src: Source, work: Path, enabled: bool, threads: int) -> tuple[dict, str | None, str | None]:
    if not enabled:
        return {"skipped": "quality measurement turned off (--no-quality)"}, None, None
    tok = src.path / "tokenizer.json"
    if not tok.is_file():
        return {"skipped": f"source {src.path} has no tokenizer.json (fast tokenizer) for the eval text"}, None, None
    es = build_eval_set(tok)
    eval_path, ref_path = work / "evalset.json", work / "reference.json"
    eval_path.write_text(json.dumps(asdict(es)))
    if load_reference(ref_path) is None:
        run_python_step("quality-reference", "exporters.verify:compute_reference",
                        {"source_dir": str(src.path), "eval_path": str(eval_path), "ref_path": str(ref_path),
                         "threads": threads}, work_dir=work)
    ref = load_reference(ref_path)
    method = {**es.describe(), "baseline": {"format": "hf", "runtime": "torch eager fp32",
                                            "label": src.baseline_label, "perplexity": round(ref.perplexity, 4)},
              "perplexity": "exp(mean NLL), non-overlapping windows, first token of each window is context",
              "greedy_agreement": "top-1 of the artifact on the baseline's greedy continuation (teacher forced)",
              "next_token_agreement": "top-1 of the artifact vs top-1 of the baseline on the eval text"}
    return method, str(eval_path), str(ref_path)
