"""The device tables and probes as values: a ``devices.csv`` row (``SpecRow``), a stored probe
(``ProbeResult``), one peak figure with where it came from (``Peak``) and a device's peaks
(``DeviceSpec``, what a roofline reads). Each is read once where its CSV or JSON is read
(analysis/specs.py); every later layer reads attributes (STYLE.md rule 14)."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from edgeprof.devices.probe import probe_label

PACKAGED = "assets/devices/devices.csv"
#: the numeric columns of devices.csv (an empty cell is None, never 0)
NUMERIC = ("memory_gb", "peak_mem_bandwidth_gbs", "peak_fp16_tflops", "peak_fp32_tflops", "peak_int8_tops", "tdp_w")
PEAKS = ("peak_mem_bandwidth_gbs", "peak_fp16_tflops", "peak_fp32_tflops", "peak_int8_tops")


@dataclass(frozen=True)
class SpecRow:
    """One row of a device table: published figures, the source that states them, and where the
    row was read (``origin``: the packaged table or your own file). ``match_note`` says how a
    device name found it (``specs.lookup``); columns this version does not know stay in ``extra``."""
    id: str
    name: str = ""
    kind: str = ""
    vendor: str = ""
    memory_gb: float | None = None
    memory_type: str = ""
    peak_mem_bandwidth_gbs: float | None = None
    peak_fp16_tflops: float | None = None
    peak_fp32_tflops: float | None = None
    peak_int8_tops: float | None = None
    tdp_w: float | None = None
    match: str = ""
    source_url: str = ""
    source_note: str = ""
    origin: str = PACKAGED
    match_note: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_csv(cls, row: Mapping[str, Any], origin: str, where: str = "") -> "SpecRow":
        """A ``csv.DictReader`` row; a numeric cell that is not a number is a ValueError naming it."""
        known = {f.name for f in fields(cls)} - {"origin", "match_note", "extra"}
        vals: dict[str, Any] = {}
        for k, v in row.items():
            if k in NUMERIC:
                try:
                    vals[k] = float(v) if v not in (None, "") else None
                except ValueError:
                    raise ValueError(f"{where}: row {row.get('id')!r}: {k} {v!r} is not a number") from None
            elif k in known:
                vals[k] = v or ""
        return cls(**vals, origin=origin, extra={k: v for k, v in row.items() if k not in known and k is not None})

    @property
    def source(self) -> str:
        """The provenance every figure of this row repeats: its table and id."""
        return f"{self.origin} row {self.id}"

    def spec(self, note: str = "") -> "DeviceSpec":
        """This row's published peaks as a ``DeviceSpec`` (kind ``spec``, each naming the row)."""
        prov = {fig: Peak("spec", self.source, note) for fig in PEAKS + ("tdp_w",) if getattr(self, fig) is not None}
        return DeviceSpec(id=self.id, name=self.name, spec_id=self.id, provenance=prov,
                          **{fig: getattr(self, fig) for fig in PEAKS + ("tdp_w",)})


@dataclass(frozen=True)
class Peak:
    """Where one peak figure came from: ``spec`` (a table row) or ``measured`` (a stored probe:
    its ``label`` names date and quality, ``flag`` a figure more than 2x below the published one)."""
    kind: str
    source: str
    note: str = ""
    label: str | None = None
    quality: str | None = None
    flag: str | None = None


@dataclass(frozen=True)
class DeviceSpec:
    """A device's peak figures (None = not known) with each one's ``Peak`` provenance."""
    id: str | None = None
    name: str | None = None
    spec_id: str | None = None
    peak_mem_bandwidth_gbs: float | None = None
    peak_fp16_tflops: float | None = None
    peak_fp32_tflops: float | None = None
    peak_int8_tops: float | None = None
    tdp_w: float | None = None
    provenance: Mapping[str, Peak] = field(default_factory=dict)

    def figure(self, name: str) -> float | None:
        """The figure named by its column (``peak_fp16_tflops``): the roofline picks one by precision."""
        return getattr(self, name) if name in PEAKS + ("tdp_w",) else None

    def peak(self, name: str | None) -> Peak | None:
        return self.provenance.get(name) if name else None


@dataclass(frozen=True)
class Measured:
    """One figure of a probe: its value and how it was measured."""
    value: float | None
    method: str = ""


@dataclass(frozen=True)
class ProbeResult:
    """A stored ``devices.probe`` result: the figures the rooflines use, when and how quietly they
    were taken (``label``, ``devices.probe.probe_label``'s), and the JSON itself (``raw``), which
    is what is written back: the file keeps every key the probe wrote."""
    measured_at: str | None
    quality: str | None
    bandwidth: Measured
    flops: Measured
    label: str
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "ProbeResult":
        def fig(part: str) -> Measured:
            m = d.get(part) or {}
            v = m.get("value")
            return Measured(float(v) if v else None, str((m.get("provenance") or {}).get("method", "")))

        return cls(measured_at=d.get("measured_at"), quality=d.get("quality") or None, bandwidth=fig("bandwidth"),
                   flops=fig("flops"), label=probe_label(d), raw=dict(d))

    def to_dict(self) -> dict[str, Any]:
        return dict(self.raw)

    @property
    def date(self) -> str:
        return str(self.measured_at or "?")[:10]
