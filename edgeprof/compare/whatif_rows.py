"""The rows the what-if model is fitted on: LocalScore's public results (the packaged set, or the
user's newer import that ``refreshes`` it) and this machine's own runs, each turned into one typed
``Row`` of a ``DeviceClass``.

What is left out, and why (counted in ``Rows.excluded``, printed by the command and the hold-out):
a model whose file size is unknown (bytes per token is the model's x), a model larger than the
accelerator's memory as submitted (it spilled to host memory: another machine), a zero or missing
decode rate. A row naming hardware the device table lacks still fits its own class (by name) but
is never extrapolated from: without a published bandwidth its efficiency means nothing elsewhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from edgeprof.analysis import specs
from edgeprof.analysis.spec_types import DeviceSpec
from edgeprof.analysis.whatif_types import DeviceClass, Row
from edgeprof.results.schema import Record

SPILL_MARGIN = 1.05  # a model this much larger than the accelerator's memory cannot be resident


@dataclass
class Rows:
    classes: dict[str, DeviceClass] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)  # the sets / run lists the rows came from

    def skip(self, why: str) -> None:
        self.excluded[why] = self.excluded.get(why, 0) + 1

    def add(self, cls: DeviceClass, row: Row) -> None:
        self.classes.setdefault(cls.id, cls)
        self.rows.append(row)


def _unlisted(name: str, role: str) -> DeviceClass:
    fam = {"apple": "apple", "jetson": "jetson", "rpi": "arm-sbc", "cpu": "x86-cpu"}.get(role, "other")
    return DeviceClass(id="name:" + specs.normalize(name), name=name, family=fam, source="no devices.csv row")


def _metric(rec: Record, name: str) -> float | None:
    m = rec.metric(name)
    return float(m.value) if m is not None and m.value else None


@dataclass(frozen=True, slots=True)
class Submission:
    """What the fit reads of one LocalScore row: kept in a user set's ``rows.fit.json`` at import
    (``refindex.py``), so a fit over a 300,000-row import reads these few columns, not every row."""
    result_id: int | None
    url: str | None
    size_bytes: float | None
    decode_tps: float | None
    prefill_tps: float | None
    memory_bytes: int | None
    backend: str                  # "cpu" (a CPU-backend run on a GPU machine) or "gpu"
    device: str | None
    role: str
    params: float | None
    runtime: str | None
    model: str | None

    @classmethod
    def of(cls, rec: Record) -> "Submission":
        accel = str(rec.runtime.placement.to_dict().get("accel_type", "")).upper()
        return cls(rec.extra.get("result_id"), rec.extra.get("url"), rec.artifact.size_bytes,
                   _metric(rec, "decode_tokens_per_s"), _metric(rec, "prefill_tokens_per_s"), rec.device.memory_bytes,
                   "cpu" if accel == "CPU" else "gpu", rec.device.name, rec.device.extra.get("role", ""),
                   rec.model.params, rec.runtime.extra.get("label") or rec.runtime.name, rec.model.name or rec.model.id)


def localscore_rows(records: Iterable[Record | Submission], table: list[dict], out: Rows | None = None) -> Rows:
    """LocalScore summaries -> rows. Class: the ``devices.csv`` row its accelerator name matches
    (the full name, so Apple's GPU bins stay apart), ``<id>:cpu`` for a CPU-backend run on a GPU
    machine, else the name itself. Each accelerator is looked up once (a lookup per row was most
    of a 300,000-row fit)."""
    out = out or Rows()
    classes: dict[tuple, DeviceClass] = {}
    for item in records:
        sub = item if isinstance(item, Submission) else Submission.of(item)
        size, decode, mem = sub.size_bytes, sub.decode_tps, sub.memory_bytes
        if not size:
            out.skip("model file size unknown")
            continue
        if not decode:
            out.skip("no decode rate")
            continue
        if mem and sub.backend == "gpu" and size > mem * SPILL_MARGIN:
            out.skip("model larger than the accelerator's memory (spilled)")
            continue
        key = (sub.device, mem, sub.backend, sub.role)
        if key not in classes:
            row = specs.lookup(sub.device, None, mem, table)
            classes[key] = specs.device_class(row, sub.backend) if row else _unlisted(sub.device, sub.role)
        cls = classes[key]
        out.add(cls, Row(cls.id, float(size), 2.0 * float(sub.params) if sub.params else None, decode,
                         sub.prefill_tps, f"LocalScore result {sub.result_id}", sub.url, sub.runtime, sub.model))
    return out


def own_rows(records: Iterable[tuple[str, Record]], spec_of, out: Rows | None = None) -> Rows:
    """This machine's runs (history records) -> rows: ``ok`` records with a decode rate and a file
    size. ``spec_of(device)`` gives a ``DeviceSpec`` (a stored probe's measured
    bandwidth counts for a CPU). Measured average power comes along (the energy figure's basis)."""
    out = out or Rows()
    for run_id, rec in records:
        decode = _metric(rec, "decode_tokens_per_s")
        if not rec.ok or not decode or not rec.artifact.size_bytes or rec.workload.suite == "localscore":
            continue
        spec = spec_of(rec.device) or DeviceSpec()
        sid = spec.spec_id
        row = next((r for r in specs.load_table() if r.id == sid), None) if sid else None
        if row:
            cls = specs.device_class(row, "gpu" if rec.runtime.placement.to_dict().get("n_gpu_layers") else "cpu")
        else:
            cls = DeviceClass(id=f"host:{rec.device.id}", name=f"{rec.device.name or rec.device.id} (this machine)",
                              family="x86-cpu" if rec.device.kind == "cpu" else "other",
                              bandwidth_gbs=spec.peak_mem_bandwidth_gbs, compute_tflops=spec.peak_fp32_tflops,
                              tdp_w=spec.tdp_w, source="this machine (bandwidth: " + (
                                  bw.kind if (bw := spec.peak("peak_mem_bandwidth_gbs")) else "none") + ")")
        power = rec.metric("avg_power_w")
        pk = power.provenance.kind if power is not None and power.provenance else None
        out.add(cls, Row(cls.id, float(rec.artifact.size_bytes), 2.0 * float(rec.model.params) if rec.model.params
                         else None, decode, _metric(rec, "prefill_tokens_per_s"), f"run {run_id} {rec.case_id}",
                         None, f"{rec.runtime.name} {rec.runtime.version or ''}".strip(), rec.model.name or rec.model.id,
                         float(power.value) if power is not None and power.value else None, pk,
                         rec.device.extra.get("power_mode")))
    return out
