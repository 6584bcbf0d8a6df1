"""Small file helpers shared by the exporters: hashing, sizes, tool versions, peak memory.

Kept dependency-free (stdlib only) so that reading a manifest or listing artifacts never imports
torch or onnx.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
from importlib import metadata
from pathlib import Path

TOOLS = ("torch", "transformers", "optimum", "optimum-onnx", "onnx", "onnxruntime",
         "llama-cpp-python", "gguf", "tokenizers")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks so a multi-GB artifact needs no RAM."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def file_entries(root: Path, *, exclude: tuple[str, ...] = ()) -> list[dict]:
    """``[{name, size_bytes, sha256}]`` for every file under ``root`` (relative posix names, sorted)."""
    out = []
    for p in sorted(root.rglob("*")):
        if p.is_file() and p.name not in exclude:
            out.append({"name": p.relative_to(root).as_posix(), "size_bytes": p.stat().st_size,
                        "sha256": sha256_file(p)})
    return out


def tree_size_bytes(root: Path) -> int:
    """Total bytes of the files under ``root`` (a file counts as itself)."""
    if root.is_file():
        return root.stat().st_size
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def tool_versions(names: tuple[str, ...] = TOOLS) -> dict[str, str | None]:
    """Installed versions of the tools that shape an artifact (None when not installed)."""
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def peak_rss_bytes() -> int | None:
    """Peak resident memory of this process and its waited-for children (the converter runs as one).

    Linux reports ``ru_maxrss`` in KiB, macOS in bytes; returns None where ``resource`` is missing.
    """
    try:
        import resource
    except ImportError:  # Windows
        return None
    scale = 1 if sys.platform == "darwin" else 1024
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale
    return max(own, kids)


def free_disk_bytes(path: Path) -> int:
    """Free bytes on the filesystem that holds ``path`` (its nearest existing parent)."""
    p = Path(path).resolve()
    while not p.exists():
        p = p.parent
    return shutil.disk_usage(p).free


def available_memory_bytes() -> int | None:
    """Memory available for new work (MemAvailable on Linux; psutil elsewhere when installed)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except ImportError:
        return None


def fsync_dir(path: Path) -> None:
    """Flush a directory entry so a rename into it survives a power cut (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
