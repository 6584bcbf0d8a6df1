"""``export()``: source -> verified ONNX/GGUF artifacts + manifest, atomically and resumably.

Why it is shaped like this:
- Everything is built in ``.<out>.partial`` next to ``out_dir`` (same filesystem, so the final
  ``rename`` is atomic). The manifest is written last, inside it, and the directory appears under
  its final name only by that rename: an interrupted export never leaves a directory that looks
  done (``read_manifest`` is what "done" means to the bench).
- The partial directory's name is fixed, and ``.progress.json`` records each finished step with
  the plan it belongs to: re-running the same export resumes after the last finished step; a
  different plan (other source hash, targets or options) rebuilds from scratch.
- Each heavy step runs in its own child process (``steps.py``) for per-artifact peak memory and
  crash isolation; verification (load + one token) and quality run here afterwards.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import gguf as gguf_mod
from .errors import ExportError
from .files import fsync_dir, peak_rss_bytes, tool_versions, tree_size_bytes
from .hf_source import Source, load_source
from .onnx import INT4_MODES
from .ort_builder import build_int4, cache_beside
from .manifest import MANIFEST, artifact_entry, build_manifest, write_manifest
from .steps import StepStats, log_tail, run_command, run_python_step
from .targets import check_resources, parse_targets

PROGRESS = ".progress.json"


@dataclass(frozen=True)
class ProgressEvent:
    """One step of an export: ``status`` in started/done/skipped/failed, or ``info`` (index 0) for
    the up-front resource estimate (for the CLI's display)."""
    step: str
    status: str
    message: str
    index: int
    total: int
    elapsed_s: float | None = None


@dataclass(frozen=True)
class Step:
    name: str      # e.g. "onnx:base", "onnx:int4", "gguf:f16-convert", "gguf:q4_k_m"
    artifact: tuple[str, str, str, str] | None  # (format, quant, rel_dir, main file) when it yields one
    run: Callable[[Path], tuple[dict, StepStats]]


def _plan_steps(src: Source, targets: dict[str, list[str]], opts: dict, converter) -> list[Step]:
    steps: list[Step] = []
    onnx, gguf = targets.get("onnx", []), targets.get("gguf", [])
    if onnx:
        base = "onnx-fp32" if "fp32" in onnx else ".scratch/onnx-fp32"

        def run_base(b: Path) -> tuple[dict, StepStats]:
            _, st = run_python_step("onnx:base", "exporters.onnx:export_base",
                                    {"source_dir": str(src.path), "out_dir": str(b / base),
                                     "trust_remote_code": src.trust_remote_code}, work_dir=b / ".work")
            return {"exporter": "optimum main_export (text-generation-with-past)"}, st
        if any(s not in INT4_MODES or s == "int4-optimum" for s in onnx):  # int4 may need no optimum export
            steps.append(Step("onnx:base", ("onnx", "fp32", base, "model.onnx") if "fp32" in onnx else None,
                              run_base))
        for s in (s for s in onnx if s != "fp32"):
            def run_q(b: Path, s=s) -> tuple[dict, StepStats]:
                if s in INT4_MODES:
                    return build_int4(src.path, b / f"onnx-{s}", b / base, b / ".work", mode=INT4_MODES[s],
                                      cache=opts["builder_cache"], block_size=opts["block_size"],
                                      accuracy_level=opts["accuracy_level"], timeout_s=opts["timeout_s"],
                                      trust_remote_code=src.trust_remote_code)
                return run_python_step(f"onnx:{s}", "exporters.onnx:quantize_scheme",
                                       {"scheme": s, "base_dir": str(b / base), "target_dir": str(b / f"onnx-{s}"),
                                        "block_size": opts["block_size"], "accuracy_level": opts["accuracy_level"]},
                                       work_dir=b / ".work")
            steps.append(Step(f"onnx:{s}", ("onnx", s, f"onnx-{s}", "model.onnx"), run_q))
    if gguf:
        from .converter import converter_command, explain_failure
        direct = [q for q in gguf if q in ("f32", "bf16", "f16")]
        if any(q not in direct for q in gguf) and "f16" not in direct:
            direct.append("f16")  # scratch f16 for the quantizer
        for q in direct:
            rel = f"gguf-{q}" if q in gguf else ".scratch"

            def run_c(b: Path, q=q, rel=rel) -> tuple[dict, StepStats]:
                out = b / rel / f"model-{q}.gguf"
                out.parent.mkdir(parents=True, exist_ok=True)
                cmd, env = converter_command(converter, src.path, out, outtype=q)
                log = b / ".work" / f"gguf-convert-{q}.log"
                rc, st = run_command(f"gguf:{q}", cmd, log_path=log, env=env, timeout_s=opts["timeout_s"])
                if rc != 0 or not out.is_file():
                    raise ExportError(explain_failure(log_tail(log), converter, rc))
                return {"converter": f"llama.cpp convert_hf_to_gguf.py from llama-cpp-python {converter.version}",
                        "outtype": q}, st
            art = ("gguf", q, rel, f"model-{q}.gguf") if q in gguf else None
            steps.append(Step(f"gguf:{q}", art, run_c))
        f16 = ("gguf-f16" if "f16" in gguf else ".scratch") + "/model-f16.gguf"
        for q in (q for q in gguf if q not in direct):
            def run_q2(b: Path, q=q) -> tuple[dict, StepStats]:
                out = b / f"gguf-{q}" / f"model-{q}.gguf"
                out.parent.mkdir(parents=True, exist_ok=True)
                log = b / ".work" / f"gguf-{q}.log"
                rc, st = run_command(f"gguf:{q}", gguf_mod.quantize_command(b / f16, out, q, threads=opts["threads"]),
                                     log_path=log, timeout_s=opts["timeout_s"])
                if rc != 0 or not out.is_file():
                    raise ExportError(gguf_mod.explain_quantize_failure(log_tail(log), b / f16, q, rc))
                return {"quantizer": "llama_model_quantize (llama-cpp-python)", "from": "f16"}, st
            steps.append(Step(f"gguf:{q}", ("gguf", q, f"gguf-{q}", f"model-{q}.gguf"), run_q2))
    return steps


def check_threads() -> int:
    """Threads for verification and quality: half the cores, 1 on a 2-core box.

    Measured on a shared 2-core machine: torch with 2 threads next to other work ran a 256-token
    window 4x slower than with 1 (OpenMP threads spin when the cores are oversubscribed).
    """
    return max(1, (os.cpu_count() or 2) // 2)


def _load_progress(build: Path, plan: dict) -> dict:
    path = build / PROGRESS
    if path.is_file():
        state = json.loads(path.read_text())
        if state.get("plan") == plan:
            return state
    for child in build.iterdir():  # different or no plan: start clean (keep the lock)
        if child.name != ".lock":
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    return {"plan": plan, "steps": {}, "checks": {}}


def _save_progress(build: Path, state: dict) -> None:
    tmp = build / (PROGRESS + ".tmp")
    tmp.write_text(json.dumps(state, indent=1))
    os.replace(tmp, build / PROGRESS)


def export(source: str | Path | Source, targets, out_dir: str | Path, *, overwrite: bool = False,
           progress: Callable[[ProgressEvent], None] | None = None, quality: bool = True,
           block_size: int = 32, accuracy_level: int = 4, threads: int | None = None,
           converter_cache: Path | None = None, builder_cache: Path | None = None, allow_pickle: bool = False,
           trust_remote_code: bool = False, check_memory: bool = True,
           timeout_s: float | None = None) -> Path:
    """Export ``source`` to ``targets`` (dict or ``--to`` specs) into ``out_dir``; returns ``out_dir``.

    ``builder_cache``: where ONNX Runtime's model builder is fetched for ``onnx:int4`` (default:
    beside ``converter_cache``, i.e. ``<its parent>/onnxruntime-genai-<version>``).
    """
    t0 = time.perf_counter()
    src = source if isinstance(source, Source) else load_source(
        source, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code)
    targets = parse_targets(targets) if not isinstance(targets, dict) else parse_targets(
        [f"{k}:{','.join(v)}" for k, v in targets.items()])
    out_dir = Path(out_dir).expanduser().absolute()
    if out_dir.exists() and not overwrite:
        what = "an export" if (out_dir / MANIFEST).is_file() else "a directory"
        raise ExportError(f"{out_dir} already exists ({what}); pass --overwrite to replace it")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    build = out_dir.parent / f".{out_dir.name}.partial"
    build.mkdir(exist_ok=True)
    lock = open(build / ".lock", "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise ExportError(f"another export is writing {build}; wait for it or stop it") from None
    try:
        return _run(src, targets, out_dir, build, t0, progress or (lambda e: None), quality=quality,
                    opts={"block_size": block_size, "accuracy_level": accuracy_level, "threads": threads,
                          "timeout_s": timeout_s, "builder_cache": str(builder_cache or cache_beside(converter_cache))},
                    converter_cache=converter_cache, check_memory=check_memory)
    finally:
        lock.close()


def _run(src: Source, targets: dict, out_dir: Path, build: Path, t0: float, emit, *, quality: bool,
         opts: dict, converter_cache, check_memory: bool) -> Path:
    from .verify import check_all

    # what the built files depend on (quality is measured afterwards and cached per artifact)
    plan = {"source_sha256": src.weights_sha256, "targets": targets,
            **{k: opts[k] for k in ("block_size", "accuracy_level")}}
    state = _load_progress(build, plan)
    need = check_resources(targets, src.params, out_dir, check_memory=check_memory,
                           already_bytes=tree_size_bytes(build))
    converter = None
    if targets.get("gguf"):
        from .converter import ensure_converter
        converter = ensure_converter(converter_cache)
    steps = _plan_steps(src, targets, opts, converter)
    total = len(steps) + 1
    emit(ProgressEvent("resources", "info", f"needs about {need['disk_bytes'] / 1e9:.2f} GB of disk "
                       f"({need['free_disk_bytes'] / 1e9:.1f} GB free) and {need['memory_bytes'] / 1e9:.1f} GB "
                       f"of memory", 0, total))
    for i, step in enumerate(steps, 1):
        if step.name in state["steps"]:
            emit(ProgressEvent(step.name, "skipped", "already built (resumed)", i, total))
            continue
        emit(ProgressEvent(step.name, "started", f"building {step.name}", i, total))
        if step.artifact:  # an interrupted earlier attempt may have left part of it
            shutil.rmtree(build / step.artifact[2], ignore_errors=True)
        try:
            info, stats = step.run(build)
        except ExportError as err:
            emit(ProgressEvent(step.name, "failed", str(err), i, total))
            raise
        state["steps"][step.name] = {"info": info, "stats": stats.to_dict()}
        _save_progress(build, state)
        if info.get("fallback_reason"):
            emit(ProgressEvent(step.name, "info", f"{info['method']}: {info['fallback_reason']}", i, total))
        emit(ProgressEvent(step.name, "done", f"{step.name} in {stats.wall_s:.1f} s", i, total, stats.wall_s))
    shutil.rmtree(build / ".scratch", ignore_errors=True)
    arts = [s for s in steps if s.artifact]
    total_checks = f"{len(arts)} artifacts"
    emit(ProgressEvent("verify", "started", f"loading {total_checks}, one token each"
                       + (", quality vs the source" if quality else ""), total, total))
    try:
        q_method, verified, q_figs = check_all(
            src, build, [(s.name, s.artifact) for s in arts], state, quality=quality,
            save=lambda: _save_progress(build, state), threads=opts["threads"] or check_threads(),
            on_step=lambda name, status: emit(ProgressEvent(name, status, name, total, total)))
    except ExportError as err:
        emit(ProgressEvent("verify", "failed", str(err), total, total))
        raise
    emit(ProgressEvent("verify", "done", f"{total_checks} load and generate", total, total))
    entries = []
    base_stats = state["steps"].get("onnx:base", {}).get("stats")
    for s in arts:
        fmt, quant, rel, main = s.artifact
        rec = state["steps"][s.name]
        after = fmt == "onnx" and base_stats and s.name != "onnx:base" and "genai" not in rec["info"].get("method", "")
        export_info = {**rec["stats"], "step": s.name,
                       **({"after": "onnx:base", "after_wall_s": base_stats["wall_s"]} if after else {})}
        entries.append(artifact_entry(build, rel, fmt, quant, main_file=main, params=src.params,
                                      scheme=rec["info"], quality=q_figs.get(rel), export=export_info,
                                      verify=verified[rel]))
    peaks = [r["stats"]["peak_rss_bytes"] or 0 for r in state["steps"].values()] + [peak_rss_bytes() or 0]
    manifest = build_manifest(source=src.to_manifest(), artifacts=entries, tool_versions=tool_versions(),
                              quality_method=q_method, export={
                                  "wall_s": round(time.perf_counter() - t0, 2), "peak_rss_bytes": max(peaks),
                                  "steps": [r["stats"] for r in state["steps"].values()],
                                  "resources_checked": need})
    _finish(build, out_dir, manifest)
    return out_dir


def _finish(build: Path, out_dir: Path, manifest: dict) -> None:
    """Keep the step logs, drop bookkeeping, write the manifest, rename into place."""
    work = build / ".work"
    if work.is_dir():
        (build / "logs").mkdir(exist_ok=True)
        for log in work.glob("*.log"):
            shutil.move(str(log), build / "logs" / log.name)
        shutil.rmtree(work)
    (build / PROGRESS).unlink(missing_ok=True)
    write_manifest(build, manifest)
    (build / ".lock").unlink(missing_ok=True)
    old = None
    if out_dir.exists():
        old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
        os.replace(out_dir, old)
    os.replace(build, out_dir)
    fsync_dir(out_dir.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def partial_dir(out_dir: str | Path) -> Path:
    """Where an unfinished export of ``out_dir`` lives (what a re-run resumes)."""
    out_dir = Path(out_dir).expanduser().absolute()
    return out_dir.parent / f".{out_dir.name}.partial"


def partial_size_bytes(out_dir: str | Path) -> int:
    p = partial_dir(out_dir)
    return tree_size_bytes(p) if p.exists() else 0
