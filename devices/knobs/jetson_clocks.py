"""``jetson_clocks`` on or off (NVIDIA's script: with no argument it pins every CPU, GPU and EMC
floor to its ceiling within the current nvpmodel mode; ``--store FILE`` saves the current clock
settings; ``--restore FILE`` puts them back). "on" is read from the tree as ``devices/jetson.py``
infers it (floors equal ceilings); "off" is the state stored before the first change.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import DeviceError
from ..jetson import find_igpu, jetson_clocks_state
from ..sysfs import FileReader
from .base import Knob
from .commands import Commands

STATES = ("on", "off")


class JetsonClocksKnob(Knob):
    axis, flag, what = "jetson_clocks", "--jetson-clocks", "jetson_clocks"

    def __init__(self, device_id: str, reader: FileReader, commands: Commands, store: Path):
        super().__init__(device_id)
        self.reader, self.commands, self.store = reader, commands, store

    def choices(self) -> list[str]:
        return list(STATES)

    def resolve(self, text: str) -> str:
        t = text.strip().lower()
        if t not in STATES:
            raise ValueError(f"{text!r}: jetson_clocks is 'on' or 'off'")
        return t

    def current(self) -> str | None:
        return jetson_clocks_state(self.reader, find_igpu(self.reader))

    def apply(self, value: str) -> None:
        if value == "on":
            self.commands.run("jetson_clocks", why="(pinning clocks needs root)")
            return
        if not self.store.is_file():
            raise DeviceError("jetson_clocks was already on when the sweep started: there is no stored 'off' state "
                              "to go back to", hint="start the sweep with jetson_clocks off, or run "
                                                    "'sudo jetson_clocks --restore' yourself first")
        self.commands.run("jetson_clocks", "--restore", str(self.store), why="(restoring clocks needs root)")

    def grant(self, value: str) -> str:
        return self.commands.shown("jetson_clocks", *(() if value == "on" else ("--restore", str(self.store))),
                                   sudo=True)

    def snapshot(self) -> dict[str, Any]:
        now = self.current()
        if now is None:
            raise DeviceError("jetson_clocks' state cannot be read (no cpufreq or GPU devfreq floors/ceilings)")
        if now == "off":  # the 'off' clocks, saved where a later command can restore them
            self.store.parent.mkdir(parents=True, exist_ok=True)
            self.commands.run("jetson_clocks", "--store", str(self.store), why="(reading clock settings needs root)")
        return {"value": now, "store": str(self.store) if now == "off" else None}

    def restore(self, snap: dict[str, Any]) -> None:
        if snap.get("store"):
            self.store = Path(snap["store"])
        self.apply(str(snap["value"]))
