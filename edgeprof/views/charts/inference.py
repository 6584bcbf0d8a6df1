"""Chart data of inference cases (models that are not causal LMs): per-inference latency and
throughput against the batch, and energy per inference against the export's measured accuracy.

Why these two: a batch trades latency for throughput (a bigger batch finishes later but pushes more
samples per second and per joule), and a cheaper quantization is only worth it as long as the
embedding or the class still agrees with the source's — the energy/accuracy front shows both at
once. Rows that differ only in their batch form one line; an estimated figure stays marked; a row
without a measured accuracy (a random-weight model, or one not exported with a gate) is left out
of the second chart and counted in its notes.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from edgeprof.results.schema import Record
from edgeprof.views.charts.pareto import ParetoChart, _chart


@dataclass(frozen=True, slots=True)
class BatchLine:
    """One configuration's figures at each batch it ran, in batch order."""

    label: str
    batch: tuple[int, ...]
    p50_ms: tuple[float, ...]
    p90_ms: tuple[float | None, ...]
    p99_ms: tuple[float | None, ...]
    samples_per_s: tuple[float | None, ...]
    estimated: bool = False


def inference_rows(records: list[Record]) -> list[Record]:
    return [r for r in records if r.ok and r.workload.inference and r.metric("latency_ms")]


def _shape_key(r: Record) -> tuple:
    """What a line holds fixed: the artifact, runtime, threads and every input axis but the batch."""
    w = r.workload
    b = w.batch or 1
    shapes = tuple(sorted((k, tuple("B" if d == b else d for d in v)) for k, v in (w.inputs or {}).items()))
    return (r.run_id, r.model.id, r.artifact.format, r.artifact.quant, r.artifact.sha256, r.runtime.name,
            r.runtime.placement.threads, r.device.id, r.host, shapes)


def batch_lines(records: list[Record]) -> list[BatchLine]:
    rows = inference_rows(records)
    groups: dict[tuple, list[Record]] = {}
    for r in rows:
        groups.setdefault(_shape_key(r), []).append(r)
    out = []
    for group in groups.values():
        group.sort(key=lambda r: r.workload.batch or 1)
        first = group[0]
        b = first.workload.batch or 1
        shape = next(("x".join("B" if d == b else str(d) for d in v) for v in (first.workload.inputs or {}).values()
                      if len(v) > 1), "")
        label = f"{first.model.id} {first.artifact.format}:{first.artifact.quant or '?'} {first.runtime.name}" + (
            f" {shape}" if shape else "")
        lat = [r.metric("latency_ms") for r in group]
        out.append(BatchLine(label, tuple(r.workload.batch or 1 for r in group), tuple(m.center for m in lat),
                             tuple(m.p90 for m in lat), tuple(m.p99 for m in lat),
                             tuple(r.value("samples_per_s") for r in group),
                             any(m.provenance.estimated for m in lat)))
    labels = [ln.label for ln in out]
    runs = [g[0].run_id for g in groups.values()]
    return [replace(ln, label=f"{ln.label} (run {str(run)[-9:]})") if labels.count(ln.label) > 1 else ln
            for ln, run in zip(out, runs)]


def energy_accuracy_chart(records: list[Record]) -> ParetoChart | None:
    """J/inference against quality retention (mean embedding cosine or top-1 agreement with the
    source, from the export's manifest); None without inference rows that have energy."""
    rows = [r for r in inference_rows(records) if r.metric("energy_per_inference_j")]
    if not rows:
        return None

    def energy(r: Record):
        m = r.metric("energy_per_inference_j")
        return m.center, m.provenance.estimated

    names = {"cosine_similarity": "mean embedding cosine to the source", "top1_agreement": "top-1 agreement with "
             "the source", "max_abs_error": "1 - relative max abs error"}
    metrics = sorted({str(m) for r in rows if (m := r.artifact.quality.extra.get("metric"))})
    short = {"cosine_similarity": "cosine", "top1_agreement": "top-1", "max_abs_error": "1 - rel. error"}
    x_label = (names.get(metrics[0], metrics[0]) if len(metrics) == 1 else
               f"accuracy kept vs the source ({' / '.join(short.get(m, m) for m in metrics)}, by task)")
    return _chart("inference-energy-accuracy", "J/inference vs accuracy", rows,
                  lambda r: r.artifact.quality.quality_retention, energy, x_label, "J/inference (gross)", "higher",
                  "lower", "no measured accuracy (not an edgeprof export with a quality gate, e.g. random weights: "
                           "speed does not depend on weights, accuracy is not reported)")
