"""The CPU frequency governor of every core (Linux cpufreq: ``cpuN/cpufreq/scaling_governor``,
choices in ``scaling_available_governors``; kernel Documentation/admin-guide/pm/cpufreq.rst).
Writing it needs root; ``sudo cpupower frequency-set -g NAME`` is the usual way to grant it.

Files are written under ``root`` through an injectable ``write`` (CI runs as root, so a test of a
refused write injects one that raises, as the readers' tests do).
"""
from __future__ import annotations

import errno
import shlex
from pathlib import Path
from typing import Any, Callable

from ..errors import DeviceError, NoPermission, NotPresent
from ..sysfs import FileReader
from .base import Knob

GOV = "/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor"
Write = Callable[[Path, str], None]


def write_file(path: Path, text: str) -> None:
    with open(path, "w") as f:  # sysfs: one write of the whole value
        f.write(text)


class GovernorKnob(Knob):
    axis, flag, what = "governor", "--governor", "CPU governor"

    def __init__(self, device_id: str, reader: FileReader, write: Write | None = None):
        super().__init__(device_id)
        self.reader, self.write = reader, write or write_file
        self.files = reader.glob(GOV)
        if not self.files:
            raise NotPresent("no cpufreq scaling_governor files (a VM or a kernel without cpufreq)",
                             hint="the governor can only be swept where /sys/devices/system/cpu/cpu0/cpufreq exists")

    def choices(self) -> list[str] | None:
        text = self.reader.try_text(self.files[0].replace("scaling_governor", "scaling_available_governors"))
        return text.split() if text else None

    def resolve(self, text: str) -> str:
        t = text.strip()
        offered = self.choices()
        if offered is not None and t not in offered:
            raise ValueError(f"{t!r} is not a governor of this kernel; scaling_available_governors: {' '.join(offered)}")
        if not t or not t.replace("_", "").replace("-", "").isalnum():
            raise ValueError(f"{t!r} is not a governor name")
        return t

    def _each(self) -> dict[str, str | None]:
        return {f: self.reader.try_text(f) for f in self.files}

    def current(self) -> str | None:
        vals = set(self._each().values())
        return vals.pop() if len(vals) == 1 else ("mixed: " + ", ".join(sorted(str(v) for v in vals)))

    def apply(self, value: str) -> None:
        for f in self.files:
            self._write(f, value)

    def _write(self, device_path: str, value: str) -> None:
        try:
            self.write(self.reader.path(device_path), value)
        except PermissionError as exc:
            raise NoPermission(f"{device_path} is not writable by this user (changing the governor needs root)",
                               hint=self.grant(value)) from exc
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise NoPermission(f"{device_path}: {exc.strerror}", hint=self.grant(value)) from exc
            raise DeviceError(f"writing {value!r} to {device_path} failed: {exc.strerror or exc}") from exc

    def grant(self, value: str) -> str:
        return shlex.join(["sudo", "cpupower", "frequency-set", "-g", value])

    def snapshot(self) -> dict[str, Any]:
        each = self._each()
        return {"value": self.current(), "each": {k: v for k, v in each.items() if v}}

    def restore(self, snap: dict[str, Any]) -> None:
        for f, v in (snap.get("each") or {}).items():
            if f in self.files:
                self._write(f, v)

    def describe(self, snap: dict[str, Any]) -> str:
        return f"CPU governor {snap.get('value')} on {len(snap.get('each') or {})} core(s)"
