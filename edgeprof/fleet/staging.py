"""The board's model store, for ``stage`` and ``commit`` (agent.py): files arrive by content and
are never taken for complete before they are checked.

Layout under ``$EDGEPROF_HOME/models``:

- ``by-sha256/<sha>/<name>`` — one file per content (a "blob"), checked against its size and
  sha256 before it counts; a lone GGUF is benched from here, as it always was. An upload goes
  to ``by-sha256/<sha>/.upload-<sha16>-<token>.part`` (a fresh token per request, so two
  laptops never write one file) and becomes the blob at ``commit`` only when its size and hash
  are the expected ones — a cut-off upload stays a ``.part`` and is sent again.
- ``by-tree/<tree id>/<top>/...`` — a folder (export, HF directory, ONNX model with its data),
  hard links to blobs (copies where links fail), built in a ``.partial-*`` folder and renamed
  into place whole: a tree that exists is complete. The tree id is the sha256 of its listing
  (path, size, sha256 of every file), so the same files are never sent twice — and a file two
  trees share (each artifact's tokenizer.json) is one blob, sent once.

Containment on this side: every path the laptop names is a plain relative path (no ``..``, no
absolute path, no NUL, no backslash, no hidden or empty part); the store's folders are checked
to be folders and not links on the way down; an existing tree is used only when its files are
exactly the listed ones (no extra file, no link), each of the listed size and hash — else it is
rebuilt from the blobs.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import stat
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from edgeprof.errors import UsageError

MAX_FILES = 10_000
STALE_PART_S = 3600


@dataclass(frozen=True)
class Entry:
    path: str
    size_bytes: int
    sha256: str


def entries(req: dict) -> list[Entry]:
    """The request's files, each path checked (the laptop's names are untrusted here too)."""
    raw = req.get("files")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_FILES:
        raise UsageError(f"agent: stage/commit need 'files': 1 to {MAX_FILES} entries of path, size_bytes, sha256")
    out, seen = [], set()
    for f in raw:
        if not isinstance(f, dict):
            raise UsageError("agent: each file is an object with path, size_bytes, sha256")
        path, size, sha = f.get("path"), f.get("size_bytes"), str(f.get("sha256", ""))
        if not (isinstance(size, int) and not isinstance(size, bool) and size >= 0 and len(sha) == 64
                and all(c in "0123456789abcdef" for c in sha)):
            raise UsageError("agent: stage/commit need sha256 (64 hex digits) and size_bytes per file")
        rel = plain(path)
        if rel in seen:
            raise UsageError(f"agent: {rel!r} is listed twice")
        seen.add(rel)
        out.append(Entry(rel, size, sha))
    dirs = {str(p) for e in out for p in PurePosixPath(e.path).parents}
    clash = next((e.path for e in out if e.path in dirs), None)
    if clash is not None:
        raise UsageError(f"agent: {clash!r} is listed as a file and as a folder")
    if len(out) == 1 and "/" not in out[0].path:
        return out
    if len({PurePosixPath(e.path).parts[0] for e in out}) != 1 or any("/" not in e.path for e in out):
        raise UsageError("agent: a folder's files must all sit under one top folder")
    return out


def plain(path: Any) -> str:
    """A relative posix path whose every part is a plain, visible name."""
    text = str(path) if isinstance(path, str) else ""
    parts = text.split("/")
    if (not text or "\x00" in text or "\\" in text or text.startswith("/")
            or any(p in ("", ".", "..") or p.startswith(".") or len(p.encode()) > 255 for p in parts)):
        raise UsageError(f"agent: {str(path)[:120]!r} is not a plain relative path; refused")
    return text


def tree_id(files: list[Entry]) -> str:
    listing = sorted((e.path, e.size_bytes, e.sha256) for e in files)
    return hashlib.sha256(json.dumps(listing, separators=(",", ":")).encode()).hexdigest()


# -- the store's folders ---------------------------------------------------------------------
def store() -> Path:
    from edgeprof import home

    return home.models_dir()


def own_dir(top: Path, *parts: str) -> Path:
    """``top/parts...`` made as needed, each step a real folder (not a link, not a file)."""
    d = top
    d.mkdir(parents=True, exist_ok=True)
    for part in parts:
        d = d / part
        try:
            os.mkdir(d)
        except FileExistsError:
            pass
        if not stat.S_ISDIR(os.lstat(d).st_mode):
            raise UsageError(f"agent: {d} is a link or a file, not edgeprof's folder; remove it")
    return d


def complete(path: Path, size: int, sha: str) -> bool:
    from edgeprof.models.trust import sha256_cached

    try:
        st = os.lstat(path)
        return stat.S_ISREG(st.st_mode) and st.st_size == size and sha256_cached(path) == sha
    except (OSError, ValueError):
        return False


def blob(e: Entry) -> Path | None:
    """A complete file of this content in the store, or None."""
    folder = store() / "by-sha256" / e.sha256
    if not folder.is_dir() or folder.is_symlink():
        return None
    return next((p for p in sorted(folder.iterdir()) if not p.name.startswith(".") and complete(p, e.size_bytes,
                                                                                                 e.sha256)), None)


def _part(sha: str, token: str) -> Path:
    return own_dir(store(), "by-sha256", sha) / f".upload-{sha[:16]}-{token}.part"


def _sweep(folder: Path) -> None:
    """Parts of uploads cut off long ago: removed (a fresh token never reuses them)."""
    now = time.time()
    for p in folder.glob(".upload-*.part"):
        try:
            if now - os.lstat(p).st_mtime > STALE_PART_S:
                p.unlink()
        except OSError:
            pass


# -- stage and commit ------------------------------------------------------------------------
def stage(req: dict) -> dict:
    """Where the bundle is (``root``: the folder its paths start in) and, when something lacks,
    one ``.part`` path per missing content for the laptop to send by SFTP."""
    files = entries(req)
    lone = len(files) == 1 and "/" not in files[0].path
    if lone:
        e = files[0]
        folder = own_dir(store(), "by-sha256", e.sha256)
        final = folder / e.path
        if not complete(final, e.size_bytes, e.sha256) and (same := blob(e)) is not None:
            _link(same, final)   # the same content under another name: never sent again
        if complete(final, e.size_bytes, e.sha256):
            return {"root": str(folder), "present": True, "uploads": {}}
    else:
        root = store() / "by-tree" / tree_id(files)
        if tree_complete(root, files):
            return {"root": str(root), "present": True, "uploads": {}}
    token = secrets.token_hex(8)
    uploads = {}
    for e in files:
        if e.sha256 not in uploads and blob(e) is None:
            part = _part(e.sha256, token)
            _sweep(part.parent)
            if os.path.lexists(part):
                os.unlink(part)
            uploads[e.sha256] = str(part)
    root = folder if lone else store() / "by-tree" / tree_id(files)
    return {"root": str(root), "present": False, "uploads": uploads, "token": token}


def commit(req: dict) -> dict:
    """Every sent ``.part`` checked and made a blob; a folder's tree built from the blobs and
    renamed into place whole. A part that is short or hashes otherwise is removed and refused."""
    files = entries(req)
    token = str(req.get("token", ""))
    if token and not (len(token) == 16 and all(c in "0123456789abcdef" for c in token)):
        raise UsageError("agent: commit's token is not one this agent gave")
    for e in {e.sha256: e for e in files}.values():
        if blob(e) is None:
            _adopt(e, token, files)
    lone = len(files) == 1 and "/" not in files[0].path
    if lone:
        e = files[0]
        final = store() / "by-sha256" / e.sha256 / e.path
        if not complete(final, e.size_bytes, e.sha256):
            _link(blob(e), final)
        return {"root": str(final.parent)}
    return {"root": str(build_tree(files))}


def _adopt(e: Entry, token: str, files: list[Entry]) -> None:
    name = PurePosixPath(next(f.path for f in files if f.sha256 == e.sha256)).name
    part = _part(e.sha256, token) if token else None
    st = os.lstat(part) if part is not None and os.path.lexists(part) else None
    have = st.st_size if st is not None and stat.S_ISREG(st.st_mode) else 0
    if st is None or have != e.size_bytes:
        raise UsageError(f"agent: the upload of {name!r} is partial ({have} of {e.size_bytes} bytes); send it again")
    if not complete(part, e.size_bytes, e.sha256):
        part.unlink(missing_ok=True)
        raise UsageError(f"agent: the upload of {name!r} does not hash to {e.sha256[:12]}…; it was removed, "
                         f"send it again")
    os.replace(part, part.parent / name)


def _link(src: Path | None, dst: Path) -> None:
    if src is None:
        raise UsageError(f"agent: no checked copy of {dst.name!r} in the store; send it again")
    if os.path.lexists(dst):
        os.unlink(dst)
    try:
        os.link(src, dst, follow_symlinks=False)
    except OSError:   # a file system without hard links
        shutil.copyfile(src, dst, follow_symlinks=False)


def tree_complete(root: Path, files: list[Entry]) -> bool:
    """Exactly the listed files, regular (no links anywhere), each of its size and hash."""
    if not root.is_dir() or root.is_symlink():
        return False
    want = {e.path: e for e in files}
    seen = set()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        if any((here / d).is_symlink() for d in dirnames):
            return False
        for name in filenames:
            rel = (here / name).relative_to(root).as_posix()
            e = want.get(rel)
            if e is None or not complete(here / name, e.size_bytes, e.sha256):
                return False
            seen.add(rel)
    return seen == set(want)


def build_tree(files: list[Entry]) -> Path:
    """The tree from the blobs, in a fresh ``.partial-*`` folder renamed into place whole; one
    that exists but is not exactly these files is set aside and removed first."""
    trees = own_dir(store(), "by-tree")
    root = trees / tree_id(files)
    if tree_complete(root, files):
        return root
    tmp = trees / f".partial-{root.name[:16]}-{secrets.token_hex(4)}"
    tmp.mkdir()
    try:
        for e in files:
            dst = tmp / e.path
            own_dir(tmp, *PurePosixPath(e.path).parts[:-1])
            _link(blob(e), dst)
        if os.path.lexists(root):
            stale = trees / f".stale-{root.name[:16]}-{secrets.token_hex(4)}"
            os.replace(root, stale)
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, root)
        except OSError:   # another commit of the same tree won the race: keep the one in place
            if not tree_complete(root, files):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root
