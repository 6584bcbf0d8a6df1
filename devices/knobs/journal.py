"""The restore journal: a file in ``EDGEPROF_HOME`` that holds the ORIGINAL value of every power
knob a sweep changed, written and fsynced BEFORE the change.

Why a file: a sweep restores its settings at the end, on Ctrl-C, SIGTERM and SIGHUP — but a parent
killed with SIGKILL (or a power cut) runs no code. The next edgeprof command of any kind finds the
journal, sees that the process that wrote it is gone (its pid AND its start time, so a reused pid
does not count), restores each entry and says so. A journal whose owner is still running is left
alone: that sweep restores its own settings.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Callable

from ..errors import DeviceError
from ..sysfs import FileReader
from .base import Knob
from .commands import Commands

NAME = "power-journal.json"
VERSION = 1


def _started(pid: int) -> float | None:
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


def owner_alive(data: dict[str, Any]) -> bool:
    """The process that wrote the journal is still this one (pid and start time both match)."""
    pid, t = data.get("pid"), data.get("pid_started")
    if not isinstance(pid, int):
        return False
    now = _started(pid)
    return now is not None and (t is None or abs(now - float(t)) < 1.0)


def read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DeviceError(f"{path} is damaged ({type(exc).__name__}); power settings it recorded cannot be restored "
                          f"automatically", hint=f"check the settings by hand, then delete {path}") from None
    return data if isinstance(data, dict) else None


def _write(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    try:
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass  # a directory that cannot be fsynced (some filesystems): the file itself is


class Journal:
    """One sweep's journal. ``add`` before each first change of a knob; ``close`` after restoring."""

    def __init__(self, path: Path, root: Path | str, run_dir: str = ""):
        self.path, self.root, self.run_dir = Path(path), str(root), run_dir
        self.data: dict[str, Any] | None = None

    def open(self) -> None:
        held = read(self.path)
        if held and held.get("entries") and owner_alive(held) and held.get("pid") != os.getpid():
            raise DeviceError(f"another edgeprof (pid {held['pid']}, run {held.get('run_dir') or '?'}) has changed "
                              f"power settings and has not restored them yet ({self.path})",
                              hint="wait for it to finish; power settings cannot be swept by two runs at once")
        self.data = {"version": VERSION, "pid": os.getpid(), "pid_started": _started(os.getpid()),
                     "started_at": dt.datetime.now(dt.timezone.utc).isoformat(), "root": self.root,
                     "run_dir": self.run_dir, "entries": []}

    def add(self, entry: dict[str, Any]) -> None:
        if self.data is None:
            self.open()
        self.data["entries"].append(entry)  # type: ignore[index]
        _write(self.path, self.data)  # type: ignore[arg-type]

    def drop(self, axis: str, device_id: str) -> None:
        """Forget an entry whose knob was put back."""
        if self.data is None:
            return
        self.data["entries"] = [e for e in self.data["entries"] if (e["axis"], e["device_id"]) != (axis, device_id)]
        if self.data["entries"]:
            _write(self.path, self.data)
        else:
            self.close()

    def close(self) -> None:
        self.path.unlink(missing_ok=True)
        self.data = None


def reopen(entry: dict[str, Any], root: Path | str, commands: Commands, nvml: Any = None) -> Knob:
    """The knob an entry describes, rebuilt without opening the devices (a recovery must be quick)."""
    from .governor import GovernorKnob
    from .jetson_clocks import JetsonClocksKnob
    from .nvpmodel import PowerModeKnob

    axis, dev, reader = entry["axis"], entry["device_id"], FileReader(root)
    if axis == "power_mode":
        return PowerModeKnob(dev, reader, commands)
    if axis == "jetson_clocks":
        return JetsonClocksKnob(dev, reader, commands, Path(entry["snapshot"].get("store") or "/nonexistent"))
    if axis == "governor":
        return GovernorKnob(dev, reader)
    if axis == "gpu_power_limit":
        from .._nvml import Nvml
        from .nvml_limit import GpuPowerLimitKnob

        lib = Nvml(nvml)
        lib.call("nvmlInit")
        uuid = dev.split(":", 1)[-1]
        for i in range(int(lib.call("nvmlDeviceGetCount"))):
            h = lib.call("nvmlDeviceGetHandleByIndex", i)
            if lib.text(lib.call("nvmlDeviceGetUUID", h)) == uuid:
                return GpuPowerLimitKnob(dev, lib, h, i)
        raise DeviceError(f"GPU {uuid} is not present any more")
    raise DeviceError(f"unknown power axis {axis!r} in the journal")


def recover(path: Path, commands_for: Callable[[str], Commands], nvml: Any = None) -> list[str]:
    """Restore what a dead sweep left changed; one line per entry (restored, or why not).
    Entries that could not be restored stay in the journal; nothing is done while the owner runs."""
    data = read(path)
    if not data or not data.get("entries") or owner_alive(data):
        return []
    root = data.get("root") or "/"
    who = f"edgeprof pid {data.get('pid')}" + (f", run {data['run_dir']}" if data.get("run_dir") else "")
    lines, left = [], []
    for entry in data["entries"]:
        snap = entry.get("snapshot") or {}
        try:
            knob = reopen(entry, root, commands_for(root), nvml)
            knob.restore(snap)
            lines.append(f"restored {knob.describe(snap)} on {entry['device_id']}, left changed by {who} "
                         f"(it ended without restoring it)")
        except (DeviceError, KeyError, ValueError, OSError) as exc:
            left.append(entry)
            hint = getattr(exc, "hint", None)
            lines.append(f"could not restore {entry.get('axis')} {snap.get('value')} on {entry.get('device_id')} "
                         f"(left changed by {who}): {exc}" + (f"; {hint}" if hint else ""))
    if left:
        _write(path, {**data, "entries": left})
    else:
        path.unlink(missing_ok=True)
    return lines
