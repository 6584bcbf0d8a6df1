"""A power knob: one setting of the machine that a sweep may change and must put back.

Every knob answers the same questions, so the engine sweeps ``--power-mode``, ``--gpu-power-limit``,
``--governor`` and ``--jetson-clocks`` with one loop: which values exist (``resolve``), what is set
now (``current``), how to change it (``apply``: a refusal is ``NoPermission`` whose ``hint`` is the
command that grants it), and a ``snapshot`` of the original that ``restore`` puts back — the
snapshot is plain JSON because it is written to the restore journal BEFORE the first change
(``journal.py``), so a later command can restore it after this process died.
"""
from __future__ import annotations

from typing import Any


class Knob:
    """Base: ``axis`` is the sweep's name (``power_mode``), ``flag`` the command-line option."""

    axis = ""
    flag = ""
    what = ""   # words for a person: "power mode", "GPU power limit"

    def __init__(self, device_id: str):
        self.device_id = device_id

    def choices(self) -> list[str] | None:
        """The values this machine offers (None: any value ``resolve`` accepts)."""
        return None

    def resolve(self, text: str) -> str:
        """The canonical value for what the user typed; ValueError naming the choices."""
        return text

    def current(self) -> str | None:
        raise NotImplementedError

    def apply(self, value: str) -> None:
        raise NotImplementedError

    def matches(self, value: str, now: str | None) -> bool:
        """Whether the read-back ``now`` confirms ``value``."""
        return now == value

    def snapshot(self) -> dict[str, Any]:
        return {"value": self.current()}

    def restore(self, snap: dict[str, Any]) -> None:
        value = snap.get("value")
        if value is not None:
            self.apply(str(value))

    def describe(self, snap: dict[str, Any]) -> str:
        return f"{self.what} {snap.get('value')}"

    def journal_entry(self, snap: dict[str, Any]) -> dict[str, Any]:
        """What ``journal.reopen`` needs to rebuild this knob in another process."""
        return {"axis": self.axis, "device_id": self.device_id, "snapshot": snap}
