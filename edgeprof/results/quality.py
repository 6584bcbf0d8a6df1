"""An artifact's quality figures, typed: what the export measured on the bundled evaluation text
(exporters/quality/measure.py) and the quality gate's verdict (exporters/quality/gate.py).

One ``quality_status`` for every reader: the gate's ``ok`` | ``degraded`` | ``unchecked``. Records
carry it inside ``artifact.quality`` and, since wave 2, beside it at ``artifact.quality_status``
(older records, and manifests before the gate, wrote ``status``); ``status_of`` is the one place
that reads those spellings. Printers, charts and recommendations read ``Quality.status``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from edgeprof.results.dicts import Open

STATUSES = ("ok", "degraded", "unchecked")
#: an encoder export's measure -> (its short name in a table cell, what its retention figure is)
MEASURES = {"cosine_similarity": ("cos", "mean embedding cosine to the source's, on the bundled evaluation text"),
            "top1_agreement": ("top-1", "top-1 agreement with the source on the bundled images"),
            "max_abs_error": ("1-err", "1 - the relative max abs error of the first output vs the source")}
PERPLEXITY_BASIS = "baseline perplexity ÷ the artifact's, on the bundled evaluation text"


@dataclass(frozen=True, slots=True)
class Quality(Open):
    perplexity: float | None = None
    baseline_perplexity: float | None = None
    perplexity_ratio: float | None = None       # artifact ÷ source; 1.0 = no loss
    quality_retention: float | None = None      # source ÷ artifact perplexity, at most 1
    next_token_agreement: float | None = None
    greedy_agreement: float | None = None
    quality_status: str | None = None           # the gate's verdict, as the record's quality carries it
    extra: dict = field(default_factory=dict)
    absent: frozenset = field(default=frozenset(), repr=False)

    @property
    def measured(self) -> bool:
        return self.perplexity is not None

    @property
    def ratio(self) -> float | None:
        """Perplexity ratio artifact ÷ source, from its own figure or the two perplexities."""
        if self.perplexity_ratio is not None:
            return float(self.perplexity_ratio)
        if self.perplexity and self.baseline_perplexity:
            return float(self.perplexity) / float(self.baseline_perplexity)
        return None

    @property
    def degraded(self) -> bool:
        return self.quality_status == "degraded"

    @property
    def measure(self) -> str | None:
        """An encoder export's own measure (``cosine_similarity``, ``top1_agreement``,
        ``max_abs_error``: exporters/quality/measure.py), or None for a decoder's perplexity."""
        m = self.extra.get("metric")
        return m if self.perplexity is None and m in MEASURES else None

    @property
    def basis(self) -> str:
        """What ``quality_retention`` is, in words, for a line that quotes it."""
        return MEASURES[self.measure][1] if self.measure else PERPLEXITY_BASIS


def status_of(quality: Mapping[str, Any] | None, beside: Mapping[str, Any] | None = None) -> str | None:
    """The gate's verdict of an artifact as any edgeprof wrote it: inside its quality figures
    (``quality_status``, or ``status`` before the gate), else beside them (``beside``: the
    artifact's own keys). Any spelling that says ``degraded`` wins: a flag is never lost."""
    said = [v for d in (quality or {}, beside or {}) for v in (d.get("quality_status"), d.get("status"))
            if isinstance(v, str) and v]
    return "degraded" if "degraded" in said else (said[0] if said else None)


def read_quality(quality: Mapping[str, Any] | None, beside: Mapping[str, Any] | None = None) -> Quality:
    """The typed figures with the one ``quality_status`` (``status_of``) inside. A figure of the
    wrong type (a hand-edited record) is kept as an unknown key, never read as a figure."""
    d = dict(quality) if isinstance(quality, Mapping) else {}
    try:
        q = Quality.from_dict(d)
    except ValueError:
        good = {}
        for k, v in d.items():
            try:
                Quality.from_dict({k: v})
                good[k] = v
            except ValueError:
                good[f"unread_{k}"] = v
        q = Quality.from_dict(good)
    status = status_of(quality if isinstance(quality, Mapping) else None, beside)
    if status is None or q.quality_status == status:
        return q
    return Quality.from_dict({**q.to_dict(), "quality_status": status})
