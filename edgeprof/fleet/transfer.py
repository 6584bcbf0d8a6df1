"""Files between the laptop and a board, over SFTP: models out, run files back.

Models out: a local model — a file, an export, an HF directory (``bundle.py``) — is a list of files
with sha256 and size; the board's agent says which contents it holds already (never re-sent)
and where each missing one goes (a ``.part`` file); the agent's ``commit`` turns a ``.part`` into
the content only when its size and hash are the expected ones, and a folder into a model only
whole (``staging.py``), so an upload cut short is never taken for a model.

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
from edgeprof.fleet.bundle import Bundle
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


async def stage(conn: Any, opts: SshOptions, bundle: Bundle, note: Callable[[str], None]) -> str:
    """The board's path of a local model (file or folder, ``bundle.py``), sending only the
    contents the board lacks; the agent's ``commit`` checks each upload before it counts."""
    wire = {"files": [f.to_wire() for f in bundle.files]}
    staged = await request(conn, opts, {"op": "stage", **wire}, "stage")
    uploads = staged.get("uploads") or {}
    if not staged.get("present"):
        if uploads:
            by_sha = {f.sha256: f for f in bundle.files}
            size = sum(by_sha[sha].size_bytes for sha in uploads if sha in by_sha)
            some = len(uploads) < len(by_sha)
            note(f"sending {bundle.describe()} to the board"
                 + (f": only the {len(uploads)} of {len(by_sha)} contents it lacks ({size / 2**20:.1f} MiB)"
                    if some else ""))
            async with conn.start_sftp_client() as sftp:
                for sha, remote in uploads.items():
                    if sha not in by_sha:
                        raise UntrustedPath(f"the board asked for content {str(sha)[:16]!r}, which is not in "
                                            f"{bundle.arg}; refused")
                    await sftp.put(str(by_sha[sha].local), str(remote))
        staged = await request(conn, opts, {"op": "commit", "token": staged.get("token") or "", **wire}, "commit")
    return posixpath.join(str(staged.get("root")), bundle.arg)
