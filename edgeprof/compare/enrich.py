"""What a finished record gains beyond its own trace: roofline / compute-utilization figures
against its device's peaks, the server reference it compares with, and (for GGUF) the model's
shape so the roofline can count KV-cache bytes and attention FLOPs.

Peaks come from ``assets/devices/devices.csv`` (kind ``spec``) or from this machine's stored probe
(kind ``measured``); whether to run the probe when neither is known is decided by the engine
(engine/peaks.py), which hands the enricher its ``spec`` function. Each device's spec is looked
up once.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable

from edgeprof.analysis import roofline, specs
from edgeprof.analysis.spec_types import DeviceSpec, SpecRow
from edgeprof.compare import reference
from edgeprof.models.gguf_meta import GGUFError, read_header
from edgeprof.results.schema import DeviceRef, Record


def device_table(log: Callable[[str], None] = lambda s: None) -> list[SpecRow]:
    """Your device rows, then the packaged ones; a broken file of yours is one logged line."""
    try:
        return specs.load_table()
    except ValueError as exc:  # your devices.csv is broken: say so, use the packaged rows
        log(f"{exc}; using the packaged device table only")
        return specs.packaged_table()


def table_spec(device_info: DeviceRef, log: Callable[[str], None] = lambda s: None) -> DeviceSpec | None:
    """The device's peaks from the device tables (yours first) and a stored probe, never probing:
    whether to run the multi-second probe is the engine's decision (engine/peaks.py)."""
    return specs.device_spec(device_info, table=device_table(log))


def model_dims(fmt: str | None, path: str | None) -> dict | None:
    if fmt != "gguf" or not path:
        return None
    try:
        return roofline.model_dims_from_gguf(read_header(path)["metadata"])
    except (GGUFError, OSError, KeyError, TypeError):
        return None


class Enricher:
    """``spec(device)`` gives a device's peaks: the tables by default; a bench passes the
    engine's, which may probe this machine once (engine/peaks.py)."""

    def __init__(self, log: Callable[[str], None] = lambda s: None,
                 spec: Callable[[DeviceRef], DeviceSpec | None] | None = None, predicted_server: str = ""):
        self.log = log
        self.predicted_server = predicted_server  # server ids predicted when nothing measured matches
        self._spec_of = spec or (lambda device: table_spec(device, log))
        try:
            notes: list[str] = []
            self.sets = reference.load_sets(notes=notes)
            for n in notes:
                log(n)
        except reference.ReferenceSetError as exc:  # a broken user set must not stop a bench
            log(f"reference sets not loaded: {exc}")
            self.sets = []
        self._dims: dict[str, dict | None] = {}
        self._judge = None
        self._specs: dict[str, DeviceSpec | None] = {}

    def spec(self, device: DeviceRef) -> DeviceSpec | None:
        key = str(device.id)
        if key not in self._specs:
            self._specs[key] = self._spec_of(device)
        return self._specs[key]

    def __call__(self, record: Record, case=None) -> Record:
        if not record.metrics:
            return record
        a = record.artifact
        key = a.sha256 or a.path or ""
        if key not in self._dims:
            self._dims[key] = model_dims(a.format, a.path)
        dims = self._dims[key]
        if dims:  # the header's shape, without overriding what the record already knows
            record = replace(record, model=replace(record.model, extra={**dims, **record.model.extra}))
        figures, impossible = roofline.withhold_impossible(
            roofline.roofline_metrics(record, self.spec(record.device), dims))
        record = record.with_metrics(figures)
        if impossible:
            record = replace(record, warnings=record.warnings + tuple(w for w in impossible if w not in record.warnings))
        return self.compare(record)

    def compare(self, record: Record) -> Record:
        """Only the server comparison (a suite's summary row already carries its figures), with the
        model file's contradicted claims as warnings (its identity is what its tensors say)."""
        if self._judge is None:
            from edgeprof.compare.judge import Judge

            self._judge = Judge(host=record.host)
        comp = reference.match(record, self.sets, self._judge)
        if comp.kind == "none" and self.predicted_server and not record.workload.inference:  # decoder-only model
            from edgeprof.compare import predicted

            comp = predicted.comparison(record, comp, self.predicted_server)
        return replace(record, reference=comp, warnings=record.warnings + tuple(
            w for w in identity_warnings(record) if w not in record.warnings))


def identity_warnings(record: Record) -> list[str]:
    """What the model file claims and its content contradicts, and a catalogue file that is not
    what the catalogue publishes (``models.artifacts``): said once per row, never silent."""
    ex = record.artifact.extra
    out = [f"model identity: {p} (names are claims; matching uses the tensors)"
           for p in (ex.get("identity") or {}).get("problems") or []]
    cm = ex.get("catalogue_mismatch") or {}
    if cm:
        out.append(f"not the catalogue's {cm.get('id')}: {'; '.join(cm.get('problems') or [])}; benched under its own "
                   f"identity")
    return out
