"""Model files and directories are untrusted input: checks made before a bench reads them.

Why: a model directory can come from anywhere. An HF directory may hold symlinks to files
elsewhere on the machine, a FIFO that blocks the reader forever, or a ``config.json`` that is not
JSON; an artifact may change between the plan and the case that runs it. Every path a runtime
will open must resolve inside the model's directory (for a Hugging Face hub snapshot, inside
its ``models--*`` cache folder, whose ``blobs/`` the snapshot links into), be a regular file,
and hash to what the plan recorded. Hashes are cached by (path, size, mtime, ctime, inode) in
``<cache>/sha256.json`` so a multi-GB file is hashed once, not on every bench.
"""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from edgeprof import home
from edgeprof.errors import UsageError

MAX_CACHE_ENTRIES = 2000


class ArtifactError(UsageError, ValueError):
    """A MODEL argument that cannot be benched; the message names the problem and the fix."""


def _cache_path() -> Path:
    return home.cache_dir() / "sha256.json"


def _load_cache() -> dict[str, Any]:
    try:
        data = json.loads(_cache_path().read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _save_cache(cache: dict[str, Any]) -> None:
    path = _cache_path()
    if len(cache) > MAX_CACHE_ENTRIES:
        cache = dict(list(cache.items())[-MAX_CACHE_ENTRIES:])
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(cache))
        os.replace(tmp, path)
    except OSError:  # a cache that cannot be written only costs a re-hash next time
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def sha256_cached(path: str | os.PathLike) -> str:
    """sha256 of a regular file, hashed once per (size, mtime, ctime, inode)."""
    from edgeprof.exporters.files import sha256_file

    real = os.path.realpath(path)
    st = os.stat(real)
    if not stat.S_ISREG(st.st_mode):
        raise ArtifactError(f"{path} is not a regular file; pass a model file")
    stamp = [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]
    cache = _load_cache()
    hit = cache.get(real)
    if isinstance(hit, list) and len(hit) == 5 and hit[:4] == stamp and isinstance(hit[4], str):
        return hit[4]
    digest = sha256_file(Path(real))
    cache.pop(real, None)
    cache[real] = stamp + [digest]
    _save_cache(cache)
    return digest


def allowed_root(d: Path) -> Path:
    """The folder a model directory may link into: itself, or for a hub snapshot
    (``models--org--name/snapshots/<rev>``) its ``models--*`` folder."""
    d = Path(d).resolve()
    if d.parent.name == "snapshots" and d.parent.parent.name.startswith("models--"):
        return d.parent.parent
    return d


def contained(p: Path, top: Path, what: str) -> Path:
    """``p`` resolved, when it lies inside ``top`` (resolved); ArtifactError otherwise."""
    try:
        real = Path(p).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        raise ArtifactError(f"{p}: cannot resolve this link; remove it from {what}") from None
    if real != top and top not in real.parents:
        raise ArtifactError(f"{p} leads outside {what} (to {real}); refusing to read it — copy the file into "
                            f"the directory instead of linking it")
    return real


def check_model_dir(d: Path) -> None:
    """Every entry of a model directory (top level, where loaders look) resolves inside it and is
    a regular file or a directory: no links out, no FIFOs or devices."""
    top = allowed_root(d)
    try:
        entries = list(Path(d).iterdir())
    except OSError as exc:
        raise ArtifactError(f"cannot list {d} ({exc.strerror or exc}); check the directory") from None
    for p in entries:
        real = contained(p, top, f"the model directory {d}")
        try:
            mode = os.stat(real).st_mode
        except OSError:
            raise ArtifactError(f"{p} is a broken link; remove it from {d}") from None
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise ArtifactError(f"{p} is not a regular file (a FIFO, socket or device); remove it from {d}")


def artifact_problem(a) -> str | None:
    """Why an artifact (``models.artifacts.Artifact``) must not run now, or None: a pre-flight
    error kept from the plan, or files that vanished, changed or escaped since the plan."""
    why = a.extra.get("unusable")
    if why:
        return str(why)
    base = Path(a.path)
    main = base
    if a.format == "hf":  # a directory: the hash is of one of its files (the first weights file when edgeprof
        # resolved it, the manifest's main file otherwise)
        names = sorted(a.files, key=lambda n: not n.endswith(".safetensors"))
        main = base / names[0] if names else base
    try:
        if a.format == "hf":
            check_model_dir(base)
        elif a.format == "onnx":
            from edgeprof.models.onnx_check import OnnxCheckError, check_external_data

            try:
                check_external_data(base)
            except OnnxCheckError as exc:
                return str(exc)
        if not main.exists():
            return f"{main} is gone since the plan was made; restore it or start a new run"
        if a.sha256 and a.format == "hf" and any(sha256_cached(base / n) == a.sha256 for n in names):
            return None
        if a.sha256 and sha256_cached(main) != a.sha256:
            return (f"{main} changed since the plan was made (sha256 differs); start a new run to bench the "
                    f"file as it is now")
    except ArtifactError as exc:
        return str(exc)
    except OSError as exc:
        return f"cannot read {main} ({exc.strerror or exc}); check the file"
    return None
