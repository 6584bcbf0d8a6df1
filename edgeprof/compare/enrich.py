"""What a finished record gains beyond its own trace: roofline / compute-utilization figures
against the device's peaks, the server reference it compares with, and (for GGUF) the model's
shape so the roofline can count KV-cache bytes and attention FLOPs.

Peaks come from ``assets/devices/devices.csv`` (kind ``spec``) or from this machine's probe
(kind ``measured``); with neither known for a CPU, the probe is run once and stored, so every
bench row can say how close it is to the hardware's limit.
"""
from __future__ import annotations

from typing import Any, Callable

from edgeprof.compare import reference
from edgeprof.analysis import roofline
from edgeprof.analysis import specs
from edgeprof.models.gguf_meta import GGUFError, read_header


def device_spec(device_info: dict, log: Callable[[str], None] = lambda s: None,
                probe_if_missing: bool = True) -> dict[str, Any] | None:
    spec = specs.device_spec(device_info)
    if (spec is None or not spec.get("peak_mem_bandwidth_gbs")) and probe_if_missing and device_info.get("kind") == "cpu":
        from devices import probe

        log("no bandwidth/peak known for this CPU: probing memory bandwidth and matrix FLOP/s once (stored)")
        result = probe.probe()
        specs.save_probe(device_info["id"], result)
        spec = specs.device_spec(device_info, probe=result)
    return spec


def model_dims(artifact: dict) -> dict | None:
    if artifact.get("format") != "gguf":
        return None
    try:
        return roofline.model_dims_from_gguf(read_header(artifact["path"])["metadata"])
    except (GGUFError, OSError, KeyError, TypeError):
        return None


class Enricher:
    def __init__(self, device_info: dict, log: Callable[[str], None] = lambda s: None):
        self.spec = device_spec(device_info, log)
        try:
            self.sets = reference.load_sets()
        except reference.ReferenceSetError as exc:  # a broken user set must not stop a bench
            log(f"reference sets not loaded: {exc}")
            self.sets = []
        self._dims: dict[str, dict | None] = {}

    def __call__(self, record: dict, artifact: dict) -> dict:
        if not record.get("metrics"):
            return record
        key = artifact.get("sha256") or artifact.get("path")
        if key not in self._dims:
            self._dims[key] = model_dims(artifact)
        dims = self._dims[key]
        if dims:
            record["model"].update({k: v for k, v in dims.items() if k not in record["model"]})
        record["metrics"].update(roofline.roofline_metrics(record, self.spec, dims))
        comp = reference.match(record, self.sets)
        record["reference"] = dict(comp.to_dict(), summary=comp.summary())
        return record
