"""What a case runs: the file(s), its model, and what the export manifest says about it (16-bit
baseline size, quality figures and the gate's one verdict). ``info()`` is the record's
``artifact`` field; plan.json holds ``to_dict()`` so ``--resume`` needs nothing else. Made by
models/artifacts.py (one constructor per kind of MODEL).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from edgeprof.results.quality import Quality, read_quality, status_of
from edgeprof.results.schema import ArtifactInfo, ModelInfo, Provenance


@dataclass(frozen=True)
class Artifact:
    path: str
    format: str                          # gguf | onnx | hf
    quant: str | None
    size_bytes: int
    sha256: str
    files: tuple[str, ...]
    model: ModelInfo
    runtime: str | None = None           # the runtime that runs this format by default
    label: str | None = None             # e.g. "baseline (dequantized Q4_1 source)"
    quality: Quality | None = None       # the export manifest's quality figures (None: never scored)
    quality_status: str | None = None    # the export gate's one verdict: ok | degraded | unchecked
    baseline_size: tuple[float, Provenance] | None = None     # 16-bit equivalent size, its basis
    quality_retention: tuple[float, Provenance] | None = None
    catalogue_id: str | None = None
    extra: dict = field(default_factory=dict)

    def _quality_dict(self) -> dict | None:
        """The figures as records and plan.json hold them: the gate's verdict inside."""
        if self.quality is None:
            return None
        return {**self.quality.to_dict(), "quality_status": self.quality_status or "unchecked"}

    def info(self) -> ArtifactInfo:
        """The record's ``artifact`` field (the verdict inside ``quality`` and beside it, where every
        reader since wave 2 looks: results/quality.py ``status_of``)."""
        extra = {k: v for k, v in (("label", self.label), ("quality", self._quality_dict()),
                                   ("quality_status", self.quality_status)) if v}
        return ArtifactInfo(self.path, self.format, self.quant, self.size_bytes, self.sha256, tuple(self.files),
                            extra={**extra, **self.extra})

    def runtime_view(self) -> dict[str, Any]:
        """What a runtime's ``load(artifact, placement, n_ctx)`` reads (the plug-in boundary)."""
        return {"path": self.path, "format": self.format, "quant": self.quant,
                "model": {"params": self.model.params}, **self.extra}

    def with_model(self, **kw: Any) -> "Artifact":
        return replace(self, model=replace(self.model, **{k: v for k, v in kw.items() if k != "extra"},
                                           extra={**self.model.extra, **kw.get("extra", {})}))

    def to_dict(self) -> dict[str, Any]:
        d = {"path": self.path, "format": self.format, "quant": self.quant, "size_bytes": self.size_bytes,
             "sha256": self.sha256, "files": list(self.files), "runtime": self.runtime,
             "model": self.model.to_dict(), "label": self.label, "quality": self._quality_dict(),
             "catalogue_id": self.catalogue_id, **self.extra}
        if self.quality_status:
            d["quality_status"] = self.quality_status
        if self.baseline_size:
            d["baseline_size"] = {"bytes": self.baseline_size[0], "provenance": self.baseline_size[1].to_dict()}
        if self.quality_retention:
            d["quality_retention"] = {"value": self.quality_retention[0],
                                      "provenance": self.quality_retention[1].to_dict()}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Artifact":
        d = dict(d)
        bs, qr = d.pop("baseline_size", None), d.pop("quality_retention", None)
        quality, status = d.pop("quality", None), d.pop("quality_status", None)
        kw = {k: d.pop(k, None) for k in ("path", "format", "quant", "size_bytes", "sha256", "runtime", "label",
                                          "catalogue_id")}
        figures = read_quality(quality) if isinstance(quality, dict) else None
        return cls(**kw, files=tuple(d.pop("files", None) or ()), model=ModelInfo.from_dict(d.pop("model", None)),
                   quality=replace(figures, quality_status=None) if figures else None,
                   quality_status=status_of(quality, {"quality_status": status}),
                   baseline_size=(bs["bytes"], Provenance.from_dict(bs["provenance"])) if bs else None,
                   quality_retention=(qr["value"], Provenance.from_dict(qr["provenance"])) if qr else None,
                   extra=d)
