"""How a runtime declares its options (optimum-benchmark's backends own their configs): each
runtime module lists its knobs in ``OPTIONS``, and nothing else names them — the bench flags and
their ``--help`` (engine/config.py builds ``BenchOptions`` from them), the form in the TUI, the
sweep axes (engine/plan.py), the checks of a resumed plan (engine/case_check.py) and the record's
placement all read these declarations. Adding a runtime knob is one ``Knob`` in one file.

A knob is data, not code: choices, or an integer range, and a default (``None``: the runtime's own
default, resolved and recorded). Standard library only: ``edgeprof --help`` reads them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Knob:
    """One option of a runtime: ``name`` is its key in the placement and the record; every value
    of a comma list becomes an axis of the sweep."""

    name: str
    flags: tuple[str, ...]
    help: str
    default: Any = None                          # one value; None = the runtime's default (resolved in the row)
    choices: tuple[str, ...] | None = None
    integer: tuple[int, int] | None = None       # an integer in [lo, hi]
    runtimes: tuple[str, ...] = ()               # the runtimes that read it (its --help group)

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or not self.flags or not all(f.startswith("-") for f in self.flags):
            raise ValueError(f"knob {self.name!r}: a Python name and at least one flag starting with '-'")
        if self.choices and self.integer:
            raise ValueError(f"knob {self.name!r}: choices or an integer range, not both")

    @property
    def optional(self) -> bool:
        """Whether ``None`` (unset: the runtime decides) is a value of this knob."""
        return self.default is None
