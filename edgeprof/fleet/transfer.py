"""Files between the laptop and a board, over SFTP: models out, run files back.

Models out: a local model file is identified by sha256 and size; the board's agent says whether it
holds it already (never re-sent) and where an upload goes (a ``.part`` file); the agent's
``commit`` renames the ``.part`` only when its size and hash are the expected ones, so an upload
cut short is never taken for a model.

Run files back: paths coming from a board are untrusted, like a manifest. Only the run's own
names are accepted (``records.jsonl``, ``plan.json``, ``env.json``, ``baseline.json``,
``suite.json``, ``samples/<name>.csv``), each is checked against the size and sha256 the agent
listed, capped in size, and written through a temporary file opened with ``O_NOFOLLOW`` then
renamed into the run directory — a board cannot write outside it, not through ``..``, an absolute
path or a link planted in the way.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import re
from pathlib import Path, PurePosixPath
from typing import Any, Callable

from edgeprof.errors import EdgeprofError
from edgeprof.fleet.ssh import SshOptions, request
from edgeprof.results.jsonl import write_atomic

TOP_FILES = ("records.jsonl", "plan.json", "env.json", "baseline.json", "suite.json")
SAMPLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.csv")
MAX_FILE_BYTES = 256 << 20


class UntrustedPath(EdgeprofError):
    """A board named a file edgeprof will not write (outside the run directory, or not a run file)."""


def safe_relpath(rel: Any) -> PurePosixPath:
    """A path a board sent, accepted only when it is one of a run's own files."""
    text = str(rel)
    p = PurePosixPath(text)
    ok = ("\x00" not in text and "\\" not in text and not p.is_absolute()
          and ((len(p.parts) == 1 and p.name in TOP_FILES)
               or (len(p.parts) == 2 and p.parts[0] == "samples" and SAMPLE.fullmatch(p.name) is not None)))
    if not ok:
        raise UntrustedPath(f"the board sent a file named {text[:120]!r}, which is not a file of a run; refused "
                            f"(nothing is written outside the run directory)")
    return p


def write_into(run_dir: Path, rel: PurePosixPath, data: bytes) -> Path:
    """``data`` as ``run_dir/rel``: the folder must be the run's own (no link), the file is written
    to a temporary name with O_NOFOLLOW|O_EXCL, fsynced and renamed over the target."""
    top = run_dir.resolve()
    folder = top
    for part in rel.parts[:-1]:
        folder = folder / part
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            raise UntrustedPath(f"{folder} is a link or a file; refusing to write the board's {rel} through it")
        folder.mkdir(exist_ok=True)
    dst = folder / rel.name
    if folder.resolve() != top and top not in folder.resolve().parents:
        raise UntrustedPath(f"{dst} leads outside {top}; refused")
    write_atomic(dst, data, folder / f".{rel.name}.fetch-{os.getpid()}")   # a link at dst is replaced, not followed
    return dst


async def fetch(sftp: Any, remote_dir: str, entry: dict) -> tuple[PurePosixPath, bytes]:
    """One listed file of a board's run: (its checked relative path, its verified bytes)."""
    rel = safe_relpath(entry.get("path"))
    size, sha = entry.get("size_bytes"), str(entry.get("sha256") or "")
    if not isinstance(size, int) or not 0 <= size <= MAX_FILE_BYTES:
        raise UntrustedPath(f"the board lists {rel} as {size!r} bytes (at most {MAX_FILE_BYTES >> 20} MiB); refused")
    chunks, got = [], 0
    async with sftp.open(posixpath.join(remote_dir, rel.as_posix()), "rb") as f:
        while got <= size:
            chunk = await f.read(1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    data = b"".join(chunks)
    if len(data) != size or hashlib.sha256(data).hexdigest() != sha:
        raise UntrustedPath(f"the board's {rel} is not what its agent listed ({len(data)} of {size} bytes, or "
                            f"another hash); not copied")
    return rel, data


async def stage_model(conn: Any, opts: SshOptions, path: Path, note: Callable[[str], None]) -> str:
    """The board's path of a local model file, sending it only when the board lacks it."""
    from edgeprof.models.trust import sha256_cached

    size = path.stat().st_size
    sha = sha256_cached(path)
    spec = {"sha256": sha, "size_bytes": size, "name": path.name}
    staged = await request(conn, opts, {"op": "stage", **spec}, "stage")
    if staged.get("present"):
        return str(staged.get("path"))
    note(f"sending {path.name} ({size / 2**20:.1f} MiB, sha256 {sha[:12]}…) to the board")
    async with conn.start_sftp_client() as sftp:
        await sftp.put(str(path), str(staged.get("upload")))
    done = await request(conn, opts, {"op": "commit", **spec}, "commit")
    return str(done.get("path"))
