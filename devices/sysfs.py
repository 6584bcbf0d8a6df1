"""The one helper through which device files are read, under a ``root`` (CONTRACTS.md:
``EDGEPROF_SYSROOT``, read once at the CLI and passed down).

Adapters receive a ``FileReader`` and never open device files themselves, so tests point them at
a fixture tree and inject failures (CI runs as root, so file modes prove nothing about permission
errors: a test subclasses the reader instead of patching ``builtins.open``).

Sensors read on every sample use ``FileReader.handle(path)``: the file stays open and each read is
one ``pread`` at offset 0 (sysfs and procfs regenerate the content for every read at offset 0),
about a third of open+read+close (benchmarks/sensor_cost.py). A file that is replaced (a fixture
writer's atomic rename) or removed shows as ``st_nlink == 0`` on the open descriptor and is
re-opened by path; a removed sysfs attribute answers ENODEV. Either way a file that is gone is a
``NotPresent`` / ``DeviceLost``, never the last value again.
"""
from __future__ import annotations

import errno
import os
from pathlib import Path

from .base import Reading, Sensor, SensorInfo
from .errors import DeviceError, DeviceLost, NoPermission, NotPresent

#: Largest magnitude accepted from a device file: a 64-bit counter. Anything longer is garbage
#: (and would overflow a float conversion downstream).
INT_LIMIT = 2 ** 64
#: errno values of a device that went away under an open file (sysfs: ENODEV after removal).
GONE = (errno.ENODEV, errno.ENXIO, errno.ESTALE)


def parse_int(text: str | bytes, where: str) -> int:
    """The first whitespace-separated token as an int within ±INT_LIMIT, else ValueError."""
    token = text.split()[:1]
    try:
        value = int(token[0]) if token else None
    except ValueError:
        value = None
    if value is None or not -INT_LIMIT <= value <= INT_LIMIT:
        shown = text[:40] if isinstance(text, str) else text[:40].decode(errors="replace")
        raise ValueError(f"{where}: expected an integer, got {shown!r}")
    return value


class FileReader:
    """Reads files below ``root``; paths are given as absolute device paths ("/sys/...")."""

    def __init__(self, root: Path | str = "/"):
        self.root = Path(root)

    def path(self, device_path: str) -> Path:
        return self.root / device_path.lstrip("/")

    def exists(self, device_path: str) -> bool:
        return self.path(device_path).exists()

    def glob(self, device_path_pattern: str) -> list[str]:
        """Device paths (starting with "/") matching a glob pattern, sorted."""
        base = self.root
        found = sorted(base.glob(device_path_pattern.lstrip("/")))
        return ["/" + str(p.relative_to(base)) for p in found]

    def listdir(self, device_path: str) -> list[str]:
        p = self.path(device_path)
        try:
            return sorted(x.name for x in p.iterdir())
        except FileNotFoundError as exc:
            raise NotPresent(f"{device_path} does not exist") from exc

    def read_text(self, device_path: str) -> str:
        """Stripped file content; NotPresent / NoPermission instead of OSError."""
        p = self.path(device_path)
        try:
            return p.read_text(errors="replace").strip()
        except FileNotFoundError as exc:
            raise NotPresent(f"{device_path} does not exist") from exc
        except PermissionError as exc:
            raise NoPermission(f"{device_path} is not readable by this user") from exc
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise NoPermission(f"{device_path} is not readable by this user") from exc
            if exc.errno in GONE:
                raise DeviceLost(f"{device_path}: device gone ({exc.strerror})") from exc
            raise

    def read_int(self, device_path: str) -> int:
        return parse_int(self.read_text(device_path), device_path)

    def handle(self, device_path: str) -> "Handle":
        """A kept-open reader of one file (opened lazily, on the first read)."""
        return Handle(self, device_path)

    def try_text(self, device_path: str) -> str | None:
        """Content or None when absent/unreadable (for optional identity fields only)."""
        try:
            return self.read_text(device_path)
        except (NotPresent, NoPermission, OSError):
            return None


class Handle:
    """One device file kept open, re-read with ``pread`` (see the module docstring)."""

    __slots__ = ("reader", "device_path", "fd")

    def __init__(self, reader: FileReader, device_path: str):
        self.reader, self.device_path = reader, device_path
        self.fd: int | None = None

    def _open(self) -> int:
        self.close()
        try:
            self.fd = os.open(self.reader.path(self.device_path), os.O_RDONLY)
        except FileNotFoundError as exc:
            raise NotPresent(f"{self.device_path} does not exist") from exc
        except PermissionError as exc:
            raise NoPermission(f"{self.device_path} is not readable by this user") from exc
        except OSError as exc:
            if exc.errno in GONE:
                raise DeviceLost(f"{self.device_path}: device gone ({exc.strerror})") from exc
            raise
        return self.fd

    def read_bytes(self, size: int = 64) -> bytes:
        fd = self.fd
        if fd is None or os.fstat(fd).st_nlink == 0:  # never opened, or replaced/removed by path
            fd = self._open()
        try:
            return os.pread(fd, size, 0)
        except OSError as exc:
            self.close()
            if exc.errno in GONE:
                raise DeviceLost(f"{self.device_path}: device gone ({exc.strerror})") from exc
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise NoPermission(f"{self.device_path} is not readable by this user") from exc
            raise

    def read_int(self) -> int:
        return parse_int(self.read_bytes(), self.device_path)

    def close(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            try:
                os.close(fd)
            except OSError:
                pass  # already closed: nothing to release

    def __del__(self) -> None:  # a device dropped without close() must not leak its descriptors
        self.close()


class FileValue(Sensor):
    """One integer file, kept open, scaled into a quantity (``value = int(file) * scale``): an
    amdgpu hwmon power or clock file, a Jetson GPU load or devfreq clock. The one such reader."""

    def __init__(self, reader: FileReader, path: str, scale: float, info: SensorInfo):
        super().__init__(info)
        self.path, self.scale = path, scale
        self.handle = reader.handle(path)

    def _read(self, t_ns: int) -> list[Reading]:
        return [self.reading(t_ns, self.handle.read_int() * self.scale)]

    def value_at(self, t_ns: int) -> float | None:
        """The scaled value, or None on trouble (for rules that only consult it)."""
        try:
            return self.handle.read_int() * self.scale
        except (DeviceError, ValueError, OSError):
            return None

    def close(self) -> None:
        self.handle.close()
