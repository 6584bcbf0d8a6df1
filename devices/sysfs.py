"""The one helper through which device files are read, under a ``root`` (CONTRACTS.md:
``EDGEPROF_SYSROOT``, read once at the CLI and passed down).

Adapters receive a ``FileReader`` and never open device files themselves, so tests point them at
a fixture tree and inject failures (CI runs as root, so file modes prove nothing about permission
errors: a test subclasses the reader instead of patching ``builtins.open``).
"""
from __future__ import annotations

import errno
from pathlib import Path

from .errors import NoPermission, NotPresent


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
            raise

    def read_int(self, device_path: str) -> int:
        text = self.read_text(device_path)
        try:
            return int(text.split()[0])
        except (ValueError, IndexError) as exc:
            raise ValueError(f"{device_path}: expected an integer, got {text[:40]!r}") from exc

    def try_text(self, device_path: str) -> str | None:
        """Content or None when absent/unreadable (for optional identity fields only)."""
        try:
            return self.read_text(device_path)
        except (NotPresent, NoPermission, OSError):
            return None
