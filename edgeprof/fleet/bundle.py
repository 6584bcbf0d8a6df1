"""What a local MODEL argument sends to a board: its files, each with size and sha256.

A bench is given a GGUF file, an ONNX file (its external data and tokenizer beside it), an
export directory (``manifest.json`` and its artifacts' files), one artifact of an export (a
file or a folder: the manifest travels with it, so the board's row keeps the export's model id,
quant and quality) or an HF directory (safetensors, config, tokenizer). A ``Bundle`` is those
files under one top folder named as the local one (an HF directory's or an ONNX file's model id
comes from that name), and ``arg``, the path the board's bench is given inside it.

Containment on this side: a file is sent only when it resolves inside the model's own folder
(an HF hub snapshot may link into its ``blobs/``); a link leading out, a FIFO or a device is a
one-line refusal — the board receives regular files under the names the bench opens, never
links. Hidden entries (``.git``, ``.cache``) are not sent, nor pickle checkpoints beside
safetensors (they are never loaded when safetensors exist).
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from edgeprof.models.trust import ArtifactError, allowed_root, sha256_cached

MAX_FILES = 10_000
#: files an ONNX directory holds for OTHER models, or weights a loader never reads beside safetensors
WEIGHTS = (".onnx", ".onnx_data", ".data")
PICKLES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".msgpack", ".h5")


@dataclass(frozen=True)
class BundleFile:
    rel: str            # posix path inside the bundle: "<top>/<...>", or the file's name for a lone file
    local: Path         # what is read here (links resolved, contained)
    size_bytes: int
    sha256: str

    def to_wire(self) -> dict:
        return {"path": self.rel, "size_bytes": self.size_bytes, "sha256": self.sha256}


@dataclass(frozen=True)
class Bundle:
    """The files of one MODEL argument, and the path (inside the bundle) the bench is given."""

    files: tuple[BundleFile, ...]
    arg: str
    formats: frozenset[str]

    @property
    def size_bytes(self) -> int:
        return sum(f.size_bytes for f in self.files)

    @property
    def lone(self) -> bool:
        """One file with no folder (a GGUF): the board keeps it by its hash, as a blob."""
        return len(self.files) == 1 and "/" not in self.files[0].rel

    def describe(self) -> str:
        mib = self.size_bytes / 2**20
        if self.lone:
            f = self.files[0]
            return f"{f.rel} ({mib:.1f} MiB, sha256 {f.sha256[:12]}…)"
        return f"{self.arg} ({len(self.files)} files, {mib:.1f} MiB)"


def of(path: str | Path) -> Bundle:
    """The bundle of a local file or directory (ArtifactError, one line, when it cannot be sent)."""
    p = Path(path).expanduser()
    st = os.stat(p)
    if stat.S_ISREG(st.st_mode):
        export = _export_of_file(p)
        if export is not None:
            return export
        return _onnx(p.parent, p) if p.suffix.lower() == ".onnx" else _lone(p)
    if not stat.S_ISDIR(st.st_mode):
        raise ArtifactError(f"{p} is not a regular file or directory (a FIFO, socket or device); pass a model")
    if (p / "manifest.json").is_file():
        return _export(p, None)
    if (p.parent / "manifest.json").is_file() and _artifact_dir(p.parent, p) is not None:
        return _export(p.parent, p)
    onnx = sorted(p.glob("*.onnx"))
    if (p / "config.json").is_file() and (list(p.glob("*.safetensors")) or not onnx):
        return _hf(p)
    if onnx:
        return _onnx(p, onnx[0], arg_is_dir=True)
    raise ArtifactError(f"{p} is a directory without manifest.json, config.json or *.onnx; pass a GGUF/ONNX file, "
                        f"an export directory or an HF model directory")


# -- one kind each -----------------------------------------------------------------------
def _lone(p: Path) -> Bundle:
    return Bundle((_file(p.resolve(), p.name),), p.name, frozenset({"gguf"}))


def _onnx(d: Path, model: Path, arg_is_dir: bool = False) -> Bundle:
    """The ONNX file, the external data it names (under the names it names them) and the files a
    runtime reads beside it (tokenizer, configs) — not other models' weights."""
    from edgeprof.models.onnx_check import OnnxCheckError, check_external_data, external_data

    try:
        check_external_data(model)   # every location a plain path to a regular file inside d
        locations = {e.get("location", "") for e in external_data(model)}
    except OnnxCheckError as exc:
        raise ArtifactError(str(exc)) from exc
    top = d.resolve()
    names = {model.name, *locations}
    for q in sorted(d.iterdir()):
        if not q.name.startswith(".") and not q.name.lower().endswith(WEIGHTS) and q.is_file():
            names.add(q.name)
    files = _contained(top, sorted(names), d.name, top)
    return Bundle(files, d.name if arg_is_dir else f"{d.name}/{model.name}", frozenset({"onnx"}))


def _hf(d: Path) -> Bundle:
    top = allowed_root(d)   # a hub snapshot links into its models--* folder
    rels = []
    has_safetensors = any(d.glob("*.safetensors"))
    for dirpath, dirnames, filenames in os.walk(d, followlinks=False):
        dirnames[:] = sorted(x for x in dirnames if not x.startswith("."))
        here = Path(dirpath)
        for link in [x for x in dirnames if (here / x).is_symlink()]:
            raise ArtifactError(f"{here / link} is a link to a folder; refusing to send {d} — copy the folder in")
        for name in sorted(filenames):
            if name.startswith(".") or (has_safetensors and name.lower().endswith(PICKLES)):
                continue
            rels.append((here / name).relative_to(d).as_posix())
    files = _contained(d, rels, d.name, top)
    return Bundle(files, d.name, frozenset({"hf"}))


def _export(root: Path, only: Path | None) -> Bundle:
    """An export (``only``: one of its artifact directories): manifest.json and the listed files."""
    from edgeprof.exporters import ExportError, list_artifacts

    try:
        listed = list_artifacts(root)
    except ExportError as exc:
        raise ArtifactError(str(exc)) from exc
    top = root.resolve()
    if only is not None:
        listed = [a for a in listed if a.dir == str(only.resolve())]
    rels = ["manifest.json"] + [Path(f.path).relative_to(top).as_posix() for a in listed for f in a.file_entries]
    files = _contained(root, rels, root.name, top)
    arg = root.name if only is None else f"{root.name}/{Path(listed[0].dir).relative_to(top).as_posix()}"
    return Bundle(files, arg, frozenset(a.format for a in listed))


def _export_of_file(p: Path) -> Bundle | None:
    """A file that is an export's artifact (its main file): that artifact with the manifest, found
    as the bench finds it (``models.artifacts.read_export``: a manifest one or two levels up; one
    it cannot use leaves the file a file of its own)."""
    from edgeprof.models.artifacts import read_export

    exported = read_export(p)
    if exported is None or exported.entry is None:
        return None
    root = p.parent if (p.parent / "manifest.json").is_file() else p.parent.parent
    b = _export(root, Path(exported.entry.dir))
    return Bundle(b.files, f"{root.name}/{p.resolve().relative_to(root.resolve()).as_posix()}", b.formats)


def _artifact_dir(root: Path, d: Path) -> str | None:
    """``d`` when the export at ``root`` lists it as an artifact directory (``models.artifacts``:
    a forged manifest is never bypassed by naming one of its folders)."""
    from edgeprof.exporters import ExportError, list_artifacts

    try:
        listed = list_artifacts(root)
    except ExportError as exc:
        raise ArtifactError(f"{d} sits in an export whose manifest is not usable: {exc}") from exc
    return next((a.dir for a in listed if a.dir == str(d.resolve())), None)


# -- containment and hashing ---------------------------------------------------------------
def _contained(base: Path, rels: list[str], top_name: str, top: Path) -> tuple[BundleFile, ...]:
    """Each ``base/rel`` as a BundleFile named ``top_name/rel``: a regular file resolving inside ``top``."""
    if len(rels) > MAX_FILES:
        raise ArtifactError(f"{base} holds {len(rels)} files (at most {MAX_FILES} are sent); point at the model's "
                            f"own folder")
    out, seen = [], set()
    for rel in rels:
        if rel in seen:
            continue
        seen.add(rel)
        src = base / rel
        try:
            real = src.resolve(strict=True)
            mode = os.stat(real).st_mode
        except (OSError, RuntimeError):
            raise ArtifactError(f"{src} is missing or a broken link; restore it before sending {base}") from None
        if real != top and top not in real.parents:
            raise ArtifactError(f"{src} leads outside {top} (to {real}); refusing to send it — copy the file into "
                                f"the model's folder instead of linking it")
        if not stat.S_ISREG(mode):
            raise ArtifactError(f"{src} is not a regular file (a FIFO, socket or device); remove it from {base}")
        name = PurePosixPath(top_name, rel).as_posix()
        out.append(BundleFile(name, real, os.stat(real).st_size, sha256_cached(real)))
    return tuple(out)


def _file(real: Path, name: str) -> BundleFile:
    if not real.is_file():
        raise ArtifactError(f"{real} is not a regular file; pass a model file")
    return BundleFile(name, real, real.stat().st_size, sha256_cached(real))
