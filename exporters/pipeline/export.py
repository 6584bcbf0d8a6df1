"""``export()``: source -> verified, quality-gated ONNX/GGUF artifacts + manifest, atomically and resumably.

Why it is shaped like this:
- Everything is built in ``.<out>.partial`` next to ``out_dir`` (same filesystem, so the final
  ``rename`` is atomic). The manifest is written last, inside it, and the directory appears under
  its final name only by that rename: an interrupted export, or one whose artifact fails the
  quality gate, never leaves a directory that looks done (``read_manifest`` is what "done" means).
- The partial directory's name is fixed, and ``.progress.json`` records each finished build and
  check with the plan it belongs to: re-running the same export resumes after them (e.g. with
  ``--allow-degraded`` after a gate failure, nothing is rebuilt); a different plan (other source
  hash, targets, options or recipe) rebuilds from scratch.
- The jobs (``plan.py``) run as a dependency graph, two at a time on a machine with the cores and
  memory for it (``schedule.py``); each heavy step is its own child process (``steps.py``).
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

from edgeprof.exporters.errors import ExportError, UsageError, write_failure
from edgeprof.exporters.files import available_memory_bytes, fsync_dir, peak_rss_bytes, tool_versions, tree_size_bytes
from edgeprof.exporters.quality.gate import TIERS, failure_message, judge
from edgeprof.exporters.source.hf import Source, load_source
from edgeprof.exporters.manifest import MANIFEST, artifact_entry, build_manifest, write_manifest
from edgeprof.exporters.onnx.builder import cache_beside
from edgeprof.exporters.pipeline.plan import REFERENCE, Context, clear_scratch, plan_jobs
from edgeprof.exporters.pipeline.schedule import run_jobs
from edgeprof.exporters.targets import check_resources, parse_targets

PROGRESS = ".progress.json"
RECIPE = 2  # bump when a build step's output changes for the same options (a partial dir is then rebuilt)


@dataclass(frozen=True)
class ProgressEvent:
    """One job of an export: ``status`` in started/done/skipped/failed, or ``info`` (index 0: the
    up-front resource estimate; otherwise a note about that job, e.g. a fallback)."""
    step: str
    status: str
    message: str
    index: int
    total: int
    elapsed_s: float | None = None


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


def parallel_jobs(need_memory_bytes: int, requested: int | None = None) -> int:
    """Jobs side by side: 2 when there are >= 2 cores and memory for two of the biggest step, else 1."""
    if requested:
        return max(1, requested)
    avail = available_memory_bytes()
    roomy = avail is None or avail >= 2 * need_memory_bytes
    return 2 if (os.cpu_count() or 1) >= 2 and roomy else 1


def export(source: str | Path | Source, targets, out_dir: str | Path, *, overwrite: bool = False,
           progress: Callable[[ProgressEvent], None] | None = None, quality: bool = True,
           allow_degraded: bool = False, quality_tokens: int = 1024, block_size: int = 32, accuracy_level: int = 4,
           threads: int | None = None, jobs: int | None = None, converter_cache: Path | None = None,
           builder_cache: Path | None = None, download_cache: Path | None = None, allow_pickle: bool = False,
           trust_remote_code: bool = False, check_memory: bool = True, timeout_s: float | None = None) -> Path:
    """Export ``source`` to ``targets`` (dict or ``--to`` specs) into ``out_dir``; returns ``out_dir``.

    ``allow_degraded``: keep an artifact that fails the quality gate, labelled ``degraded``.
    ``quality_tokens``: tokens of the bundled text each artifact is scored on (fewer: faster, noisier;
    the tests' tiny random models use 256, whose figures only exercise the mechanics).
    ``jobs``: jobs run side by side (default: ``parallel_jobs``). ``download_cache``: the machine-wide
    archive cache (default ``downloads.machine_cache_dir()``); ``converter_cache`` / ``builder_cache``:
    where the converter and the model builder are extracted (the builder defaults beside the converter).
    """
    t0 = time.perf_counter()
    if block_size < 16 or block_size & (block_size - 1):
        raise UsageError(f"block size must be a power of two >= 16 (e.g. 32), got {block_size}")
    if quality_tokens < 64:
        raise UsageError(f"quality needs at least 64 tokens of text, got {quality_tokens}")
    if accuracy_level not in (0, 1, 2, 3, 4):
        raise UsageError(f"accuracy level must be 0-4 (4: int8 activations, 0: fp32), got {accuracy_level}")
    src = source if isinstance(source, Source) else load_source(
        source, allow_pickle=allow_pickle, trust_remote_code=trust_remote_code)
    targets = parse_targets(targets) if not isinstance(targets, dict) else parse_targets(
        [f"{k}:{','.join(v)}" for k, v in targets.items()])
    out_dir = Path(out_dir).expanduser().absolute()
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir} is a file; name a directory")
    if out_dir.exists() and not overwrite:
        what = "an export" if (out_dir / MANIFEST).is_file() else "a directory"
        raise UsageError(f"{out_dir} already exists ({what}); pass --overwrite to replace it")
    build = out_dir.parent / f".{out_dir.name}.partial"
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        build.mkdir(exist_ok=True)
        lock = open(build / ".lock", "w")
    except OSError as exc:  # nothing is written yet: bad usage, one line
        raise UsageError(f"--out {out_dir}: {write_failure(exc.filename or build, exc)}; pass --out DIR on a "
                         f"writable disk") from None
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise UsageError(f"another export is writing {build}; wait for it or stop it") from None
    opts = {"block_size": block_size, "accuracy_level": accuracy_level, "threads": threads, "jobs": jobs,
            "quality_tokens": quality_tokens,
            "timeout_s": timeout_s, "allow_degraded": allow_degraded, "download_cache": download_cache,
            "builder_cache": str(builder_cache or cache_beside(converter_cache))}
    try:
        return _run(src, targets, out_dir, build, t0, progress or (lambda e: None), quality=quality, opts=opts,
                    converter_cache=converter_cache, check_memory=check_memory)
    except UsageError:  # refused before any step ran (too little disk or memory): leave nothing behind
        if not any(c.name != ".lock" for c in build.iterdir()):
            shutil.rmtree(build, ignore_errors=True)
        raise
    except OSError as exc:  # e.g. the disk filled up: finished steps stay in the partial directory
        raise ExportError(f"{write_failure(exc.filename or build, exc)}; free space or choose another --out, then "
                          f"run the same command again (finished steps are kept in {build})") from None
    finally:
        lock.close()


def _run(src: Source, targets: dict, out_dir: Path, build: Path, t0: float, emit, *, quality: bool,
         opts: dict, converter_cache, check_memory: bool) -> Path:
    from edgeprof.exporters.quality.verify import prepare_quality, verify_prompt

    plan = {"source_sha256": src.weights_sha256, "targets": targets, "recipe": RECIPE,
            **{k: opts[k] for k in ("block_size", "accuracy_level", "quality_tokens")}}
    state = _load_progress(build, plan)
    need = check_resources(targets, src.params, out_dir, check_memory=check_memory,
                           already_bytes=tree_size_bytes(build))
    limit = parallel_jobs(need["memory_bytes"], opts["jobs"])
    opts["child_threads"] = opts["threads"] or max(1, (os.cpu_count() or 1) // limit)
    ctx = Context(src=src, build=build, opts=opts, state=state, save=lambda: _save_progress(build, state))
    if targets.get("gguf"):
        from edgeprof.exporters.gguf.converter import ensure_converter
        ctx.converter = ensure_converter(converter_cache, download_cache=opts["download_cache"])
    method, ctx.eval_path, ctx.ref_path = prepare_quality(src, build / ".work", quality, opts["quality_tokens"])
    ctx.prompt = verify_prompt(src)
    jobs, arts, ref_fmt = plan_jobs(ctx, targets)
    total = len(jobs)
    emit(ProgressEvent("resources", "info", f"needs about {need['disk_bytes'] / 1e9:.2f} GB of disk "
                       f"({need['free_disk_bytes'] / 1e9:.1f} GB free) and {need['memory_bytes'] / 1e9:.1f} GB "
                       f"of memory; {limit} job(s) at a time", 0, total))
    done = _resumed(state, arts, ctx.ref_path)
    for j in jobs:
        if j.name in done:
            emit(ProgressEvent(j.name, "skipped", "already done (resumed)", j.index, total))
    started: dict[str, float] = {}

    def on_start(j) -> None:
        started[j.name] = time.perf_counter()
        for a in arts:
            if a.step == j.name:  # an interrupted earlier attempt may have left part of it
                shutil.rmtree(build / a.rel, ignore_errors=True)
                ctx.record("checks", a.rel, None)
        emit(ProgressEvent(j.name, "started", j.name, j.index, total))

    def on_done(j) -> None:
        took = time.perf_counter() - started[j.name]
        info = state["steps"].get(j.name, {}).get("info", {})
        if info.get("fallback_reason"):
            emit(ProgressEvent(j.name, "info", f"{info.get('graph')}: {info['fallback_reason']}", j.index, total))
        emit(ProgressEvent(j.name, "done", f"{j.name} in {took:.1f} s", j.index, total, round(took, 3)))

    run_jobs(jobs, limit=limit, done=done, on_start=on_start, on_done=on_done,
             on_fail=lambda j, e: emit(ProgressEvent(j.name, "failed", str(e), j.index, total)))
    entries = [_entry(ctx, a, jobs) for a in arts]
    if ref_fmt:
        ref = json.loads(Path(ctx.ref_path).read_text())
        method = {**method, "baseline": {"format": ref_fmt, "runtime": state["checks"][REFERENCE]["runtime"],
                                         "label": src.baseline_label, "perplexity": round(ref["perplexity"], 4)},
                  "gate": {t: {"max_perplexity_ratio": r, "min_greedy_agreement": g} for t, (r, g) in TIERS.items()}}
    peaks = [r["stats"]["peak_rss_bytes"] or 0 for r in state["steps"].values()] + [peak_rss_bytes() or 0]
    manifest = build_manifest(source=src.to_manifest(), artifacts=entries, tool_versions=tool_versions(),
                              quality_method=method, export={
                                  "wall_s": round(time.perf_counter() - t0, 2), "peak_rss_bytes": max(peaks),
                                  "parallel_jobs": limit, "steps": [r["stats"] for r in state["steps"].values()],
                                  "resources_checked": need})
    _finish(build, out_dir, manifest)
    return out_dir


def _resumed(state: dict, arts: list, ref_path: str | None) -> set[str]:
    """Jobs a resumed export need not run again: finished builds, and checks of those builds."""
    done = set(state["steps"])
    if ref_path and REFERENCE in state["checks"] and Path(ref_path).is_file():
        done.add(REFERENCE)
    for a in arts:
        c = state["checks"].get(a.rel)
        if a.step in done and c and (c.get("quality") or not ref_path):
            done.add(f"check:{a.rel}")
    return done


def _entry(ctx: Context, a, jobs) -> dict:
    """The manifest entry of one artifact, with the gate's verdict (a degraded one raises unless allowed)."""
    rec, check = ctx.state["steps"][a.step], ctx.state["checks"][a.rel]
    figures = {k: v for k, v in (check.get("quality") or {}).items() if k != "eval_s"} or None
    verdict = judge(a.fmt, a.quant, figures)
    if verdict.status == "degraded" and not ctx.opts["allow_degraded"]:
        raise ExportError(failure_message(f"{a.fmt}:{a.quant}", verdict))
    after = next((j.meta.get("after") for j in jobs if j.name == a.step), None)
    export_info = {**rec["stats"], "step": a.step,
                   **({"after": after, "after_wall_s": ctx.state["steps"][after]["stats"]["wall_s"]} if after else {})}
    if check.get("quality"):
        export_info["quality_eval_s"] = check["quality"].get("eval_s")
    return artifact_entry(ctx.build, a.rel, a.fmt, a.quant, main_file=a.main, params=ctx.src.params,
                          scheme=rec["info"], quality=figures, export=export_info, verify=check["verify"],
                          gate=verdict.to_dict())


def _finish(build: Path, out_dir: Path, manifest: dict) -> None:
    """Keep the step logs, drop scratch and bookkeeping, write the manifest, rename into place."""
    clear_scratch(build)
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
