"""Jetson power modes through NVIDIA's ``nvpmodel`` (Jetson Linux Developer Guide, "Power Management
for Jetson ... Supported Modes and Power Efficiency"): ``/etc/nvpmodel.conf`` lists the modes as
``< POWER_MODEL ID=n NAME=... >``; ``nvpmodel -q`` prints ``NV Power Mode: NAME`` then the id;
``nvpmodel -m ID`` switches (root only). A mode is named on the command line by id or name
(``--power-mode 15W,25W,MAXN_SUPER`` on an Orin Nano Super: ids 0, 1, 2; 7W is 3).

The mode is read back through ``nvpmodel -q`` when the command is available, else through the status
file nvpmodel writes (``/var/lib/nvpmodel/status``, ``pmode:0002``), as ``devices/jetson.py`` does.
"""
from __future__ import annotations

from typing import Any

from ..errors import DeviceError, NotPresent
from ..jetson import parse_nvpmodel, power_mode
from ..sysfs import FileReader
from ..throttle import parse_nvpmodel_conf
from .base import Knob
from .commands import Commands


def modes(reader: FileReader) -> dict[int, str]:
    """{id: name} from /etc/nvpmodel.conf (empty when the file is missing)."""
    return {i: name for i, (name, _) in parse_nvpmodel_conf(reader.try_text("/etc/nvpmodel.conf") or "")[1].items()}


class PowerModeKnob(Knob):
    axis, flag, what = "power_mode", "--power-mode", "power mode"

    def __init__(self, device_id: str, reader: FileReader, commands: Commands):
        super().__init__(device_id)
        self.reader, self.commands = reader, commands
        self.modes = modes(reader)
        if not self.modes:
            raise NotPresent("no power modes in /etc/nvpmodel.conf", hint="is this a Jetson with nvpmodel installed?")

    def choices(self) -> list[str]:
        return [self.modes[i] for i in sorted(self.modes)]

    def listing(self) -> str:
        return ", ".join(f"{i}={n}" for i, n in sorted(self.modes.items()))

    def resolve(self, text: str) -> str:
        t = text.strip()
        if t.isdigit() and int(t) in self.modes:
            return self.modes[int(t)]
        by_name = {n.lower(): n for n in self.modes.values()}
        if t.lower() in by_name:
            return by_name[t.lower()]
        raise ValueError(f"{t!r} is not a power mode of this board; its modes (/etc/nvpmodel.conf) are {self.listing()}")

    def mode_id(self, name: str) -> int:
        return next(i for i, n in self.modes.items() if n == name)

    def current(self) -> str | None:
        if self.commands.has("nvpmodel"):
            name, _ = parse_nvpmodel(self.commands.run("nvpmodel", "-q").stdout)
            if name:
                return name
        return power_mode(self.reader, None).get("power_mode")  # type: ignore[return-value]

    def apply(self, value: str) -> None:
        mode = str(self.mode_id(value))
        self.commands.run("nvpmodel", "-m", mode, why="(changing the power mode needs root)")

    def grant(self, value: str) -> str:
        return self.commands.shown("nvpmodel", "-m", str(self.mode_id(value)), sudo=True)

    def snapshot(self) -> dict[str, Any]:
        now = self.current()
        if now is None:
            raise DeviceError("the current power mode cannot be read (no 'nvpmodel -q', no /var/lib/nvpmodel/status)",
                              hint="without the original mode it could not be restored; nothing was changed")
        return {"value": now, "mode_id": self.mode_id(now) if now in self.modes.values() else None}
