"""A number's provenance: shared by ``schema`` (the record) and ``comparison`` (its server
comparison) without either importing the other."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from edgeprof.results.dicts import _Dict


@dataclass(frozen=True, slots=True)
class Provenance(_Dict):
    """Where a number came from (CONTRACTS ``provenance``)."""

    kind: str                       # measured | estimated | derived | spec | reference
    source: str = ""
    scope: str | None = None
    period_s: float | None = None
    note: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def estimated(self) -> bool:
        return self.kind == "estimated"

    def noted(self, more: str) -> "Provenance":
        """A copy with ``more`` appended to the note."""
        return replace(self, note=f"{self.note}; {more}" if self.note else more)
