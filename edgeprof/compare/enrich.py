"""What a finished record gains beyond its own trace: roofline / compute-utilization figures
against its device's peaks, the server reference it compares with, and (for GGUF) the model's
shape so the roofline can count KV-cache bytes and attention FLOPs.

Peaks come from ``assets/devices/devices.csv`` (kind ``spec``) or from this machine's probe
(kind ``measured``); with neither known for a CPU, the probe is run once and stored, so every
bench row can say how close it is to the hardware's limit. Each device's spec is looked up once.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from edgeprof.analysis import roofline, specs
from edgeprof.compare import reference
from edgeprof.models.gguf_meta import GGUFError, read_header
from edgeprof.results.schema import Record


def device_spec(device_info: dict, log: Callable[[str], None] = lambda s: None,
                probe_if_missing: bool = True, run_probe: Callable[[], dict] | None = None,
                quiet_now: Callable[[], bool] | None = None) -> dict[str, Any] | None:
    """The device's peaks. A CPU with no bandwidth known is probed once and the result stored; so is
    one whose stored probe recorded no load (taken before edgeprof measured it: it may be the
    several-fold-low figure of a busy machine, and every roofline on it would be inflated as much),
    and one whose stored probe was contended when this machine is quiet now (``quiet_now``)."""
    try:
        table = specs.load_table()
    except ValueError as exc:  # your devices.csv is broken: say so, use the packaged rows
        log(f"{exc}; using the packaged device table only")
        table = specs.packaged_table()
    spec = specs.device_spec(device_info, table=table)
    if not probe_if_missing or device_info.get("kind") != "cpu":
        return spec
    stored = specs.load_probe(device_info["id"]) if device_info.get("id") else None
    if stored is not None and not stored.get("quality"):
        why = (f"the stored probe ({str(stored.get('measured_at') or '?')[:10]}) recorded no machine load, so its "
               f"figures may be several times low: probing again (stored)")
    elif stored is not None and stored.get("quality") == "contended" and (quiet_now or _quiet_now)():
        why = (f"the stored probe ({str(stored.get('measured_at') or '?')[:10]}) was taken on a busy machine and "
               f"this one is quiet now: probing again (stored)")
    elif spec is None or not spec.get("peak_mem_bandwidth_gbs"):
        why = "no bandwidth/peak known for this CPU: probing memory bandwidth and matrix FLOP/s once (stored)"
    else:
        return spec
    if run_probe is None:
        from edgeprof.devices.probe import probe as run_probe
    log(why)
    result = run_probe()
    specs.save_probe(device_info["id"], result)
    return specs.device_spec(device_info, probe=result, table=table)


def _quiet_now(seconds: float = 0.3) -> bool:
    """Whether other processes leave the cores alone right now (a short load window)."""
    from edgeprof.devices.load import QUIET, LoadMeter, judge

    meter = LoadMeter()
    try:
        return judge([meter.measure(seconds)])[0] == QUIET
    finally:
        close = getattr(getattr(meter, "stat", None), "close", None)
        if close:
            close()


def model_dims(fmt: str | None, path: str | None) -> dict | None:
    if fmt != "gguf" or not path:
        return None
    try:
        return roofline.model_dims_from_gguf(read_header(path)["metadata"])
    except (GGUFError, OSError, KeyError, TypeError):
        return None


class Enricher:
    def __init__(self, log: Callable[[str], None] = lambda s: None, probe_if_missing: bool = True):
        self.log, self.probe_if_missing = log, probe_if_missing
        try:
            notes: list[str] = []
            self.sets = reference.load_sets(notes=notes)
            for n in notes:
                log(n)
        except reference.ReferenceSetError as exc:  # a broken user set must not stop a bench
            log(f"reference sets not loaded: {exc}")
            self.sets = []
        self._dims: dict[str, dict | None] = {}
        self._specs: dict[str, dict | None] = {}

    def spec(self, device: dict) -> dict | None:
        key = str(device.get("id"))
        if key not in self._specs:
            self._specs[key] = device_spec(device, self.log, self.probe_if_missing)
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
        record = record.with_metrics(roofline.roofline_metrics(record, self.spec(record.device.to_dict()), dims))
        return self.compare(record)

    def compare(self, record: Record) -> Record:
        """Only the server comparison (a suite's summary row already carries its figures)."""
        comp = reference.match(record, self.sets)
        return replace(record, reference=dict(comp.to_dict(), summary=comp.summary()))
