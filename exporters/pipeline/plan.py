"""The jobs of one export: what is built from what, which runtime scores the source, what each
artifact's check waits for. ``pipeline.py`` runs them (``schedule.py``) and writes the result.

Build jobs (each a child process, ``steps.py``):
- ``onnx:graph``: the model builder's fp32 graph (``onnx-fp32/`` when asked for, else scratch),
  the graph of every ONNX scheme; when the builder cannot be had it becomes an optimum export and
  ``fallback_reason`` says why (``int4-builder`` fails instead);
- ``onnx:base``: optimum's fp32 export, only for the ``*-optimum`` schemes and for architectures
  the builder does not support;
- ``onnx:<scheme>``: fp16 / weight quantization from one of those graphs;
- ``gguf:<f16|bf16|f32>``: llama.cpp's converter; ``gguf:<quant>``: ``llama_model_quantize`` from f16.
Then ``quality:reference`` (the source's figures) and one ``check:<artifact dir>`` per artifact,
which loads it, scores it and applies the gate (``gate.py``) as soon as its build is done.
"""
from __future__ import annotations

import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import edgeprof.exporters.gguf.quantize as gguf_mod
from edgeprof.exporters.errors import ExportError
from edgeprof.exporters.quality.gate import failure_message, judge
from edgeprof.exporters.source.hf import Source
from edgeprof.exporters.onnx.schemes import get_scheme
from edgeprof.exporters.onnx.builder import build_graph, unsupported_reason
from edgeprof.exporters.pipeline.schedule import Job
from edgeprof.exporters.pipeline.steps import StepStats, log_tail, run_command, run_python_step

BASE, GRAPH, REFERENCE = "onnx:base", "onnx:graph", "quality:reference"


@dataclass(frozen=True)
class Artifact:
    step: str
    fmt: str
    quant: str
    rel: str
    main: str


@dataclass
class Context:
    """What every job needs; ``record`` is the only way jobs touch the shared progress state."""
    src: Source
    build: Path
    opts: dict
    state: dict
    save: Callable[[], None]
    converter: object = None
    eval_path: str | None = None
    ref_path: str | None = None
    prompt: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, name: str, value: dict | None) -> None:
        with self.lock:
            if value is None:
                self.state[kind].pop(name, None)
            else:
                self.state[kind][name] = value
            self.save()

    def step(self, name: str, info: dict, stats: StepStats) -> None:
        self.record("steps", name, {"info": info, "stats": stats.to_dict()})

    def child(self, name: str, func: str, kwargs: dict) -> tuple[object, StepStats]:
        return run_python_step(name, func, kwargs, work_dir=self.build / ".work", timeout_s=self.opts["timeout_s"],
                               threads=self.opts["child_threads"])


def _onnx_jobs(ctx: Context, schemes: list[str]) -> tuple[list[Job], list[Artifact], tuple]:
    """ONNX jobs, artifacts, and (job, dir) of the fp32 graph that can score the source ((None, None): none)."""
    o, src, b = ctx.opts, ctx.src, ctx.build
    specs = {s: get_scheme(s, block_size=o["block_size"], accuracy_level=o["accuracy_level"]) for s in schemes}
    on_graph = [s for s in schemes if specs[s].graph != "optimum"]
    reason = unsupported_reason(src.path) if on_graph else None
    forced = [s for s in on_graph if specs[s].graph == "builder"]
    if reason and forced:
        raise ExportError(f"onnx:{forced[0]} needs the model builder: {reason}")
    builder = bool(on_graph) and not reason
    on_base = [s for s in schemes if not builder or s not in on_graph]
    base_rel = "onnx-fp32" if "fp32" in on_base else ".scratch/onnx-fp32"
    graph_rel = "onnx-fp32" if "fp32" in schemes and builder else ".scratch/onnx-graph"
    jobs, arts = [], []

    def optimum(name: str, rel: str) -> StepStats:
        return ctx.child(name, "edgeprof.exporters.onnx.schemes:export_base", {"source_dir": str(src.path), "out_dir": str(b / rel),
                                                               "trust_remote_code": src.trust_remote_code})[1]
    if on_base:
        def run_base() -> None:
            ctx.step(BASE, {"graph": "optimum", "exporter": "optimum main_export (text-generation-with-past)",
                            **({"fallback_reason": reason} if reason else {})}, optimum(BASE, base_rel))
        jobs.append(Job(BASE, run_base))
    if builder:
        def run_graph() -> None:
            try:
                info, st = build_graph(src.path, b / graph_rel, b / ".work", cache=Path(o["builder_cache"]),
                                       download_cache=o["download_cache"], timeout_s=o["timeout_s"])
            except ExportError as err:
                if forced:
                    raise ExportError(f"onnx:{forced[0]} needs the model builder: {err}") from err
                info, st = {"graph": "optimum", "fallback_reason": str(err)}, optimum(f"{GRAPH} (optimum fallback)", graph_rel)
            ctx.step(GRAPH, info, st or StepStats(GRAPH, 0.0, None))
        jobs.append(Job(GRAPH, run_graph))
    if "fp32" in schemes:
        arts.append(Artifact(GRAPH if builder else BASE, "onnx", "fp32", graph_rel if builder else base_rel, "model.onnx"))
    for s in (s for s in schemes if s != "fp32"):
        dep, rel = (GRAPH, graph_rel) if builder and s in on_graph else (BASE, base_rel)

        def run_q(s=s, dep=dep, rel=rel) -> None:
            info, st = ctx.child(f"onnx:{s}", "edgeprof.exporters.onnx.schemes:quantize_scheme",
                                 {"scheme": s, "base_dir": str(b / rel), "target_dir": str(b / f"onnx-{s}"),
                                  "block_size": o["block_size"], "accuracy_level": o["accuracy_level"]})
            graph = {k: v for k, v in ctx.state["steps"][dep]["info"].items() if k != "exporter"}
            ctx.step(f"onnx:{s}", {**info, **graph}, st)
        jobs.append(Job(f"onnx:{s}", run_q, (dep,), meta={"after": dep}))
        arts.append(Artifact(f"onnx:{s}", "onnx", s, f"onnx-{s}", "model.onnx"))
    return jobs, arts, (GRAPH, graph_rel) if builder else ((BASE, base_rel) if on_base else (None, None))


def _gguf_jobs(ctx: Context, quants: list[str]) -> tuple[list[Job], list[Artifact]]:
    from edgeprof.exporters.gguf.converter import converter_command, explain_failure, provenance

    b, conv = ctx.build, ctx.converter
    direct = [q for q in quants if q in ("f32", "bf16", "f16")]
    if any(q not in direct for q in quants) and "f16" not in direct:
        direct.append("f16")  # scratch f16 for the quantizer
    jobs, arts = [], []
    for q in direct:
        rel = f"gguf-{q}" if q in quants else ".scratch"

        def run_c(q=q, rel=rel) -> None:
            out = b / rel / f"model-{q}.gguf"
            out.parent.mkdir(parents=True, exist_ok=True)
            cmd, env = converter_command(conv, ctx.src.path, out, outtype=q)
            log = b / ".work" / f"gguf-convert-{q}.log"
            rc, st = run_command(f"gguf:{q}", cmd, log_path=log, env=env, timeout_s=ctx.opts["timeout_s"])
            if rc != 0 or not out.is_file():
                raise ExportError(explain_failure(log_tail(log), conv, rc))
            ctx.step(f"gguf:{q}", {"converter": f"llama.cpp convert_hf_to_gguf.py from llama-cpp-python {conv.version}",
                                   "converter_source": provenance(conv), "outtype": q}, st)
        jobs.append(Job(f"gguf:{q}", run_c))
        if q in quants:
            arts.append(Artifact(f"gguf:{q}", "gguf", q, rel, f"model-{q}.gguf"))
    f16 = ("gguf-f16" if "f16" in quants else ".scratch") + "/model-f16.gguf"
    for q in (q for q in quants if q not in direct):
        def run_q(q=q) -> None:
            out = b / f"gguf-{q}" / f"model-{q}.gguf"
            out.parent.mkdir(parents=True, exist_ok=True)
            log = b / ".work" / f"gguf-{q}.log"
            cmd = gguf_mod.quantize_command(b / f16, out, q, threads=ctx.opts["child_threads"])
            rc, st = run_command(f"gguf:{q}", cmd, log_path=log, timeout_s=ctx.opts["timeout_s"])
            if rc != 0 or not out.is_file():
                raise ExportError(gguf_mod.explain_quantize_failure(log_tail(log), b / f16, q, rc))
            ctx.step(f"gguf:{q}", {"quantizer": "llama_model_quantize (llama-cpp-python)", "from": "f16",
                                   "converter_source": provenance(conv)}, st)
        jobs.append(Job(f"gguf:{q}", run_q, ("gguf:f16",), meta={"after": "gguf:f16"}))
        arts.append(Artifact(f"gguf:{q}", "gguf", q, f"gguf-{q}", f"model-{q}.gguf"))
    return jobs, arts


def _check_job(ctx: Context, a: Artifact, reference: bool) -> Job:
    def run() -> None:
        try:
            done, _ = ctx.child(f"check-{a.rel}", "edgeprof.exporters.quality.verify:check_artifact",
                                {"fmt": a.fmt, "path": str(ctx.build / a.rel / a.main), "prompt": ctx.prompt,
                                 "eval_path": ctx.eval_path, "ref_path": ctx.ref_path,
                                 "threads": ctx.opts["child_threads"]})
        except ExportError:
            ctx.record("steps", a.step, None)  # a file that does not load is rebuilt on the next run
            raise
        ctx.record("checks", a.rel, done)
        verdict = judge(a.fmt, a.quant, done.get("quality"))
        if verdict.status == "degraded" and not ctx.opts["allow_degraded"]:
            raise ExportError(failure_message(f"{a.fmt}:{a.quant}", verdict))
    return Job(f"check:{a.rel}", run, (a.step,) + ((REFERENCE,) if reference else ()))


def plan_jobs(ctx: Context, targets: dict[str, list[str]]) -> tuple[list[Job], list[Artifact], str | None]:
    """All jobs in plan order, the artifacts, and the reference's format (None: no quality).

    The source is scored by ONNX Runtime on the fp32 graph the export builds anyway (the model
    builder's, else optimum's; measured: the same numbers as PyTorch), by PyTorch when there is none."""
    jobs, arts, (graph_job, rel) = _onnx_jobs(ctx, targets["onnx"]) if targets.get("onnx") else ([], [], (None, None))
    if targets.get("gguf"):
        gj, ga = _gguf_jobs(ctx, targets["gguf"])
        jobs, arts = jobs + gj, arts + ga
    ref_fmt = None
    if ctx.ref_path:
        ref_fmt, model = ("onnx", ctx.build / rel / "model.onnx") if graph_job else ("hf", ctx.src.path)

        def run_ref() -> None:
            _, st = ctx.child(REFERENCE, "edgeprof.exporters.quality.verify:compute_reference",
                              {"fmt": ref_fmt, "model_path": str(model), "eval_path": ctx.eval_path,
                               "ref_path": ctx.ref_path, "threads": ctx.opts["child_threads"]})
            graph = ctx.state["steps"][graph_job]["info"]["graph"] if graph_job else None
            runtime = f"onnxruntime, fp32 {graph} graph of the source" if graph else "torch eager fp32"
            ctx.record("checks", REFERENCE, {"format": ref_fmt, "runtime": runtime, "stats": st.to_dict()})
        jobs.append(Job(REFERENCE, run_ref, (graph_job,) if graph_job else ()))
    jobs += [_check_job(ctx, a, ctx.ref_path is not None) for a in arts]
    for i, j in enumerate(jobs, 1):
        j.index = i
    return jobs, arts, ref_fmt


def clear_scratch(build: Path) -> None:
    shutil.rmtree(build / ".scratch", ignore_errors=True)
