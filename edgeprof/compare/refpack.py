"""A reference set as one file: ``reference export NAME FILE.tar.gz`` (or ``reference build ...
--pack FILE``) on the machine that measured it, ``reference import set FILE`` on any other.

Why: the packaged model has no server numbers it can match, and none can be made without a GPU
here; a set built by ``edgeprof reference build`` on a GPU machine is the one honest way to get
them. The file carries the set as written (``reference.json`` with its hardware, runtime build and
energy provenance, ``records.jsonl``, the run's plan/env/baseline/suite files); importing keeps all
of it and adds where and when it came from (``imported``: the file's name and sha256, the time,
the set's original name). The file is untrusted input: only regular files with known names are
read, from the archive's top or one folder, bounded in size; the rows are checked by the same
loader as every set before anything is kept.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import tarfile
import tempfile
from pathlib import Path

from edgeprof.compare.refsets import ReferenceSetError, load_set
from edgeprof.compare.refwrite import target, write
from edgeprof.compare.setmeta import SetMeta

FILES = ("reference.json", "records.jsonl", "plan.json", "env.json", "baseline.json", "suite.json")
MAX_BYTES = 256 * 2**20   # per file: a set of a few thousand rows is a few MB


def export(src: Path, out: str | Path) -> Path:
    """The set in folder ``src`` as a gzipped tar of its known files under one folder (its name)."""
    out = Path(out)
    if not (src / "reference.json").is_file():
        raise ReferenceSetError(f"{src} is not a reference set (no reference.json)")
    names = [f for f in FILES if (src / f).is_file()]
    if "records.jsonl" not in names:
        raise ReferenceSetError(f"{src} holds no records.jsonl: only sets made by 'edgeprof reference add' or "
                                f"'reference build' can be exported (a packaged set ships with edgeprof already)")
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            for f in names:
                tar.add(src / f, arcname=f"{src.name}/{f}", recursive=False)
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ReferenceSetError(f"cannot write {out} ({exc.strerror or exc}); choose another path") from None
    return out


def _members(tar: tarfile.TarFile, path: Path) -> dict[str, tarfile.TarInfo]:
    """The archive's known files (at its top or in one folder); anything else is refused by name."""
    found: dict[str, tarfile.TarInfo] = {}
    for m in tar.getmembers():
        parts = Path(m.name).parts
        if m.isdir() and len(parts) == 1:
            continue
        name = parts[-1] if parts else ""
        if not m.isfile() or len(parts) > 2 or ".." in parts or m.name.startswith("/") or name not in FILES:
            raise ReferenceSetError(f"{path}: unexpected entry {m.name!r} in the archive (a set holds only "
                                    f"{', '.join(FILES)}); not imported")
        if m.size > MAX_BYTES:
            raise ReferenceSetError(f"{path}: {m.name} is {m.size / 2**20:.0f} MiB, over {MAX_BYTES / 2**20:.0f} MiB; "
                                    f"not imported")
        if name in found:
            raise ReferenceSetError(f"{path}: {name} appears twice in the archive; not imported")
        found[name] = m
    if "reference.json" not in found or "records.jsonl" not in found:
        raise ReferenceSetError(f"{path}: the archive holds no reference.json and records.jsonl; export a set with "
                                f"'edgeprof reference export NAME FILE.tar.gz'")
    return found


def import_file(path: str | Path, name: str | None = None, dest_root: str | Path | None = None,
                overwrite: bool = False, env: dict | None = None) -> tuple[Path, int]:
    """Import a set exported by ``reference export`` (a .tar.gz) or a set folder; returns (its new
    folder, its rows)."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="edgeprof-refimport-") as tmp:
        staged = Path(tmp) / "set"
        staged.mkdir()
        if path.is_dir():
            for f in FILES:
                if (path / f).is_file():
                    (staged / f).write_bytes((path / f).read_bytes())
        else:
            try:
                with tarfile.open(path, "r:*") as tar:
                    for f, m in _members(tar, path).items():
                        src = tar.extractfile(m)
                        (staged / f).write_bytes(src.read(MAX_BYTES + 1) if src else b"")
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise ReferenceSetError(f"{path}: not a readable reference set archive ({str(exc)[:120]}); pass the "
                                        f"file 'edgeprof reference export' wrote") from None
        loaded = load_set(staged)                       # the same checks as every set, before anything is kept
        rows = [r for r in loaded.records if r.ok]
        if not rows:
            raise ReferenceSetError(f"{path}: the set holds no successful row; not imported")
        meta = loaded.meta.to_dict()
        original = str(loaded.meta.name or path.stem)
        new = name or original
        dest = target(new, dest_root, overwrite, env)
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        meta.update(name=new, imported={"from": str(path.resolve()), "sha256": digest, "original_name": original,
                                        "imported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")})
        meta.pop("summary", None)
        copy = tuple(staged / f for f in FILES if f not in ("reference.json", "records.jsonl") and (staged / f).is_file())
        write(dest, meta, loaded.records, copy)
        return dest, len(rows)


def describe(meta: SetMeta, made: str | None = None) -> str:
    """Where a set came from, for ``reference list``: ``made`` (its source, else the set's own
    ``source`` text) and, for an imported set, the file and the day it was imported."""
    if made is None:
        made = meta.source_text
    if meta.imported_from is None:
        return made
    came = f"imported from {Path(meta.imported_from).name} ({str(meta.imported_at or '?')[:10]})"
    return f"{made}; {came}" if made else came
