"""Are an export's files still what its manifest says? (missing, not regular, wrong size, wrong hash)

Apart from ``manifest.py``, which reads and contains the manifest's paths: this module touches
the files themselves, and only after the manifest has been read and its paths contained.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from edgeprof.exporters.manifest import list_artifacts


def check_files(export_dir: str | Path, *, rehash: bool = False,
                hasher: Callable[[Path], str] | None = None, only: str | Path | None = None) -> list[str]:
    """Problems with the files an export lists (missing, not a regular file, wrong size, wrong
    hash); empty when intact. Paths are contained first (``list_artifacts``); ``hasher`` lets a
    caller pass a cached sha256 so a large file is hashed once; ``only`` (an artifact directory)
    checks that artifact's files alone."""
    from edgeprof.exporters.files import sha256_file

    problems = []
    for a in list_artifacts(export_dir):
        if only is not None and a.dir != str(Path(only).resolve()):
            continue
        for f in a.file_entries:
            p = Path(f.path)
            if not p.exists():
                problems.append(f"{p} is missing")
            elif not p.is_file():
                problems.append(f"{p} is not a regular file")
            elif p.stat().st_size != f.size_bytes:
                problems.append(f"{p} has {p.stat().st_size} bytes, manifest says {f.size_bytes}")
            elif rehash and (hasher or sha256_file)(p) != f.sha256:
                problems.append(f"{p} does not match its sha256 in the manifest")
        main = next((f for f in a.file_entries if f.path == a.path), None)
        if main is not None and main.sha256 != a.sha256:
            problems.append(f"{a.path}: the artifact sha256 differs from its file entry")
        if sum(f.size_bytes for f in a.file_entries) != a.size_bytes:
            problems.append(f"{a.dir}: size_bytes {a.size_bytes} is not the sum of its files")
    return problems
