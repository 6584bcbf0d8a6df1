"""Which files were opened while a block ran: Linux inotify (IN_OPEN) through ctypes, no mocks.

Used to prove "zero reads outside a model directory": put canary files next to the hostile
model's directory, watch their folder, run the attack, and list what was opened.

    with OpenWatch(folder) as w:
        ...
    assert not w.opened
"""
from __future__ import annotations

import ctypes
import os
import select
import struct
import sys
from pathlib import Path

IN_OPEN, IN_NONBLOCK, IN_CLOEXEC = 0x20, 0o4000, 0o2000000


class OpenWatch:
    def __init__(self, *folders: Path):
        self.folders = [Path(f) for f in folders]
        self.opened: list[str] = []
        self._fd = -1
        self._wd: dict[int, Path] = {}

    @staticmethod
    def available() -> bool:
        return sys.platform.startswith("linux")

    def __enter__(self) -> "OpenWatch":
        libc = ctypes.CDLL(None, use_errno=True)
        self._fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        for f in self.folders:
            wd = libc.inotify_add_watch(self._fd, str(f).encode(), IN_OPEN)
            if wd < 0:
                raise OSError(ctypes.get_errno(), f"inotify_add_watch {f}")
            self._wd[wd] = f
        return self

    def __exit__(self, *exc) -> None:
        self.drain()
        os.close(self._fd)

    def drain(self) -> list[str]:
        while select.select([self._fd], [], [], 0.2)[0]:
            try:
                buf = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            i = 0
            while i < len(buf):
                wd, mask, _, n = struct.unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + n].rstrip(b"\0").decode()
                if mask & IN_OPEN:
                    self.opened.append(str(self._wd.get(wd, Path("?")) / name) if name else str(self._wd.get(wd)))
                i += 16 + n
        return self.opened
