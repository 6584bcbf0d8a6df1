"""A machine-wide, sha256-verified cache of the archives an export fetches from the package index.

Why: llama.cpp's converter ships only in the llama-cpp-python sdist (76 MB) and ONNX Runtime's
model builder only in the onnxruntime-genai wheel. Each ``EDGEPROF_HOME`` keeps its own small
extracted copy (CONTRACTS.md "User directories": caches under ``EDGEPROF_HOME/cache``), but the
archive itself is downloaded once per machine into the platform cache dir
(``platformdirs.user_cache_dir("edgeprof")/downloads``, e.g. ``~/.cache/edgeprof/downloads``)
and every home extracts from there: a second home costs an extraction (~1 s), not a download.

Integrity: ``pip download`` checks the file against the index's own sha256; we record that sha256
beside the archive and recompute it on every reuse, so a truncated or altered archive in the shared
cache is never extracted (it is fetched again, or the export stops with a one-line error).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from edgeprof.exporters.errors import ExportError
from edgeprof.exporters.files import fsync_dir, sha256_file

RECORD = "archive.json"


@dataclass(frozen=True)
class Archive:
    """A verified archive in the machine cache; ``fetched`` is True when this call downloaded it."""
    path: Path
    sha256: str
    fetched: bool


def _platform_cache() -> Path:
    try:
        from platformdirs import user_cache_dir
        return Path(user_cache_dir("edgeprof", appauthor=False))
    except ImportError:  # exporters used without edgeprof's dependencies: the XDG rule platformdirs applies
        return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edgeprof"


def machine_cache_dir() -> Path:
    """``<platform user cache dir>/edgeprof/downloads``; shared by every EDGEPROF_HOME on the machine."""
    return _platform_cache() / "downloads"


def converters_dir() -> Path:
    """Where extracted tools go when the caller names no cache directory of its own."""
    return _platform_cache() / "converters"


def _cached(entry: Path) -> Archive | None:
    """The recorded archive when its bytes still hash to what was recorded; None when absent."""
    try:
        rec = json.loads((entry / RECORD).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    path = entry / rec.get("file", "")
    if not path.is_file() or sha256_file(path) != rec.get("sha256"):
        return None
    return Archive(path=path, sha256=rec["sha256"], fetched=False)


def fetch(package: str, version: str, *, binary: bool, cache_dir: Path | None = None) -> Archive:
    """The ``package==version`` sdist (``binary=False``) or wheel for this platform, downloaded at
    most once per machine. A cached copy whose sha256 no longer matches is replaced."""
    kind = "wheel" if binary else "sdist"
    root = Path(cache_dir) if cache_dir else machine_cache_dir()
    entry = root / f"{package}-{version}-{kind}"
    hit = _cached(entry)
    if hit is not None:
        return hit
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"cannot create the download cache {root} ({err.strerror}); "
                          f"make it writable or pass another download cache") from err
    tmp = Path(tempfile.mkdtemp(dir=root, prefix=f".{entry.name}.partial-"))
    try:
        fmt = ["--only-binary", ":all:"] if binary else ["--no-binary", ":all:"]
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *fmt, "--disable-pip-version-check",
               "-q", "--timeout", "30", "--retries", "1", "-d", str(tmp), f"{package}=={version}"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        files = sorted(p for p in tmp.iterdir() if p.suffix in (".whl", ".gz", ".zip"))
        if proc.returncode != 0 or not files:
            last = (proc.stderr.strip().splitlines() or ["no file downloaded"])[-1]
            raise ExportError(f"could not download {package}=={version} ({last[:200]}); check access to "
                              f"the package index, or copy a download cache that holds it to {root}")
        digest = sha256_file(files[0])  # pip has checked it against the index's hash
        (tmp / RECORD).write_text(json.dumps({"package": package, "version": version, "kind": kind,
                                               "file": files[0].name, "sha256": digest}) + "\n")
        if _cached(entry) is None:  # (another export may have recorded it meanwhile)
            shutil.rmtree(entry, ignore_errors=True)
            os.replace(tmp, entry)  # atomic: a half-downloaded archive is never recorded
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    fsync_dir(root)
    done = _cached(entry)
    if done is None:
        raise ExportError(f"the download of {package}=={version} into {entry} did not verify; delete {entry} "
                          f"and retry")
    return Archive(path=done.path, sha256=done.sha256, fetched=True)


def mark_extracted(target: Path, archive: Archive) -> None:
    """Record in an extracted copy which verified archive it came from (shown in manifests)."""
    (target / ".edgeprof-source.json").write_text(json.dumps({"archive": archive.path.name, "sha256": archive.sha256}))


def extracted_from(target: Path) -> dict | None:
    try:
        return json.loads((target / ".edgeprof-source.json").read_text())
    except (OSError, json.JSONDecodeError):
        return None
