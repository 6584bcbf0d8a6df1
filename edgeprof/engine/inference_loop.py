"""The worker's loop for an ``inference`` case (a model that is not a causal LM): load, build the
inputs from the model's signature, one cold pass, warm-up passes, then back-to-back timed passes
until BOTH ``--reps`` passes and ``--min-seconds`` are reached (optimum-benchmark's rule: a
duration and an iteration count).

It runs inside the same crash-isolated worker as the decoder loop (``worker.child_main`` calls
``measure``) and speaks the same events. Why blocks: a pass can take 50 µs, and an event per pass
would cost more than the pass; the timed passes are grouped into repetitions of about
``BLOCK_S`` (at least one pass each), one ``repetition`` phase per block carrying every pass's
latency, so the energy sensor has windows it can resolve and the live view gets a steady beat.
Each pass's latency is the time from the end of the previous pass to the end of this one on the
monotonic clock (the loop's own bookkeeping, a list append, is inside it, as in any loop).
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

from edgeprof.engine import events as ev
from edgeprof.engine.stallwatch import StallWatch
from edgeprof.results.schema import Repetition, ResolvedPlacement, RuntimeInfo

#: longest repetition (a block of passes): 1 s is five updates of a 200 ms power sensor; a shorter
#: --min-seconds makes blocks of a third of it, so a short case still has repetitions to compare
BLOCK_S = 1.0
#: upper bound on repetitions (blocks), as the decoder loop's MAX_REPS
MAX_BLOCKS = 10_000


def _signature(case, engine):
    """The model's signature as the loaded engine sees it: an ONNX session's own inputs (the worker
    never parses the protobuf again: that would count the weights twice in its peak RSS), or the
    HF directory's config."""
    from pathlib import Path

    from edgeprof.models.signature import Input, classify, read

    io = getattr(engine, "io", None)
    if io is None:
        return read(case.artifact.path, case.artifact.format)
    ins, outs = io()
    return classify([Input(n, t, d) for n, t, d in ins], outs, Path(engine.path), "ONNX Runtime session")


def _flops(case, sig, engine) -> dict[str, Any] | None:
    """FLOPs of one pass counted by torch's FlopCounterMode (an HF model); an ONNX model's are
    counted from its graph by the parent (``engine/steps.py``), outside this worker's memory."""
    count = getattr(engine, "count_flops", None)
    n = count() if count else None
    return {"value": n, "source": "torch.utils.flop_counter (one forward pass)",
            "note": "matmuls, convolutions and attention as torch counts them"} if n else None


def measure(job, emit, affinity: dict[str, Any]) -> dict[str, Any]:
    """Run the case's inference loop; returns what only the worker knows (for ``worker_stats``)."""
    from edgeprof.models import inputs as model_inputs
    from edgeprof.runtimes import resolve_inference

    case = job.case
    cid, w = case.case_id, case.workload
    t_load0 = time.monotonic_ns()
    emit(ev.PhaseStarted(case_id=cid, t_ns=t_load0, name="load"))
    engine = resolve_inference(case.runtime)(case.artifact.runtime_view(), case.placement)
    t_load1 = time.monotonic_ns()
    emit(ev.PhaseEnded(case_id=cid, t_ns=t_load1, name="load"))
    try:
        emit(ev.PhaseStarted(case_id=cid, name="inputs"))
        sig = _signature(case, engine)
        feed, plans = model_inputs.build(sig, w.inputs or {}, case.artifact.path, job.text, w.seed or 0)
        engine.prepare(feed)
        flops = _flops(case, sig, engine)
        emit(ev.PhaseEnded(case_id=cid, name="inputs"))
        info = engine.info
        extra = {**info.extra, "feed": {p.name: p.to_dict() for p in plans}, "task": sig.task,
                 "modality": sig.modality, "signature_source": sig.source}
        if flops:
            extra["flops_per_inference"] = flops
        audio_s = model_inputs.audio_seconds(sig, w.inputs or {})
        if audio_s:
            extra["audio_s_per_sample"] = audio_s
        emit(ev.Loaded(case_id=cid, runtime=RuntimeInfo(info.name, info.version, ResolvedPlacement.from_dict(
            {**info.placement, **affinity})), n_params=info.n_params, n_ctx=None, extra=extra))
        t0 = time.monotonic_ns()
        emit(ev.PhaseStarted(case_id=cid, t_ns=t0, name="first_inference"))
        engine.run()
        t1 = time.monotonic_ns()
        emit(ev.PhaseEnded(case_id=cid, t_ns=t1, name="first_inference"))
        if job.warmup:
            emit(ev.PhaseStarted(case_id=cid, name="warmup", label="warmup"))
            for _ in range(job.warmup):
                engine.run()
            emit(ev.PhaseEnded(case_id=cid, name="warmup", label="warmup"))
        n = _timed(engine, emit, cid, job.reps, job.min_seconds)
        return {"load_ns": t_load1 - t_load0, "first_inference_ns": t1 - t0, "n_inferences": n}
    finally:
        engine.close()


def _timed(engine, emit, cid: str, reps: int, min_seconds: float) -> int:
    """The timed passes, in blocks; stops when both ``reps`` passes and ``min_seconds`` are reached."""
    watch = StallWatch().start()
    run = engine.run
    clock = time.monotonic_ns
    block_ns, min_ns = int(min(BLOCK_S, max(0.05, min_seconds / 3)) * 1e9), int(min_seconds * 1e9)
    total, rep = 0, 0
    t_start = None  # the first timed pass's start: --min-seconds counts the span the record shows
    while rep < MAX_BLOCKS:
        emit(ev.PhaseStarted(case_id=cid, name="repetition", rep=rep, label="measure"))
        cpu0 = time.process_time()
        lat: list[int] = []
        b0 = last = clock()
        t_start = b0 if t_start is None else t_start
        finished = False
        while True:
            run()
            now = clock()
            lat.append(now - last)
            last = now
            total += 1
            finished = total >= reps and now - t_start >= min_ns
            if finished or now - b0 >= block_ns:
                break
        cpu1 = time.process_time()
        out = Repetition(rep=rep, label="measure", inference=(b0, last), n_inferences=len(lat),
                         latency_ns=tuple(lat), extra={"worker_cpu_s": [round(cpu0, 6), round(cpu1, 6)]})
        stalls = watch.within(b0, last)
        if stalls:
            out = replace(out, extra={**out.extra, "stalls": stalls})
        emit(ev.PhaseEnded(case_id=cid, t_ns=last, name="repetition", rep=rep, label="measure", result=out))
        rep += 1
        if finished:
            break
    watch.stop()
    return total
