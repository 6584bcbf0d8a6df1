"""``manifest.json`` of an export directory (the deployer ``README.md`` beside it: ``readme.py``); reading them back.

The manifest is the evidence a deployer needs and the bench's list of what to run: for each
artifact its format, quant, files (size + sha256), main file, compression rate against the 16-bit
baseline, quality figures, tool versions, export wall time and peak memory. Paths inside are
relative to the export directory so the directory can be moved or copied to a device.

``compression_rate`` = (params x 2 bytes) / (all files of the artifact). The 16-bit baseline is
computed from the parameter count, not from an f16 artifact, so it exists for every export and is
the same for ONNX and GGUF; ``compression_basis`` says so in every entry. It is a size ratio only
(CONTRACTS.md); ``mcr`` multiplies it by ``quality.quality_retention`` when quality was measured.

``quality_status`` is the quality gate's verdict (``gate.py``): ``ok``, ``degraded`` (kept only with
``--allow-degraded``; the README flags it) or ``unchecked`` (``--no-quality``); ``quality_gate``
holds the limits it was held to and what failed.

It is written LAST, inside the build directory, just before that directory is renamed into place:
a directory with a manifest is a finished export.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from edgeprof.exporters.errors import ExportError
from edgeprof.exporters.files import file_entries, fsync_dir

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
README = "README.md"
COMPRESSION_BASIS = "params x 2 bytes (16-bit equivalent of the source)"
RUNTIMES = {"onnx": "onnxruntime", "gguf": "llama.cpp", "hf": "torch"}


def artifact_entry(export_dir: Path, rel_dir: str, fmt: str, quant: str, *, main_file: str,
                   params: int, scheme: dict | None = None, quality: dict | None = None,
                   export: dict | None = None, verify: dict | None = None, gate: dict | None = None) -> dict[str, Any]:
    """One artifact's manifest entry, hashing its files now (the bytes that will be renamed into place)."""
    files = file_entries(export_dir / rel_dir)
    size = sum(f["size_bytes"] for f in files)
    main = next((f for f in files if f["name"] == main_file), None)
    if main is None:
        raise ExportError(f"artifact {rel_dir} has no main file {main_file}")
    entry = {"name": rel_dir, "path": rel_dir, "format": fmt, "quant": quant, "scheme": scheme or {},
             "runtime": RUNTIMES[fmt], "main_file": f"{rel_dir}/{main_file}", "sha256": main["sha256"],
             "size_bytes": size, "files": files,
             "compression_rate": round(params * 2 / size, 4) if size else None,
             "compression_basis": COMPRESSION_BASIS, "quality": quality,
             "quality_status": (gate or {}).get("status", "unchecked"), "quality_gate": gate,
             "export": export or {}, "verify": verify or {}}
    if quality and quality.get("quality_retention") is not None and entry["compression_rate"]:
        entry["mcr"] = round(entry["compression_rate"] * quality["quality_retention"], 4)
    return entry


def build_manifest(*, source: dict, artifacts: list[dict], tool_versions: dict, export: dict,
                   quality_method: dict | None = None, model_name: str | None = None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "edgeprof-export",
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"id": source["model_id"], "name": model_name or source["model_id"],
                  "params": source["params"]},
        "source": source,
        "baseline": {"label": source["baseline_label"], "size_16bit_bytes": source["params"] * 2,
                     "basis": COMPRESSION_BASIS},
        "quality_method": quality_method,
        "tool_versions": tool_versions,
        "export": export,
        "artifacts": artifacts,
    }


def write_manifest(export_dir: Path, manifest: dict) -> Path:
    """Write README.md then manifest.json (fsynced, via rename): the manifest is the 'done' mark."""
    from edgeprof.exporters.readme import render_readme

    (export_dir / README).write_text(render_readme(manifest))
    tmp = export_dir / f".{MANIFEST}.tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, export_dir / MANIFEST)
    fsync_dir(export_dir)
    return export_dir / MANIFEST


def read_manifest(export_dir: str | Path) -> dict[str, Any]:
    """The manifest of an export directory; a one-line error when absent, corrupt or too new."""
    path = Path(export_dir) / MANIFEST
    if not path.is_file():
        raise ExportError(f"{export_dir} has no {MANIFEST}: not a finished edgeprof export")
    try:
        data = json.loads(path.read_bytes())
    except json.JSONDecodeError as err:
        raise ExportError(f"{path} is not valid JSON ({err.msg} at line {err.lineno})") from err
    except (UnicodeDecodeError, RecursionError, OSError) as err:
        raise ExportError(f"{path} cannot be read as JSON ({type(err).__name__}); re-export the model") from err
    if not isinstance(data, dict):
        raise ExportError(f"{path} is not a JSON object; not an edgeprof export manifest")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ExportError(f"{path} has schema_version {version!r}; this edgeprof reads {SCHEMA_VERSION}")
    return data


QUALITY_STATUSES = ("ok", "degraded", "unchecked")  # exporters/gate.py


@dataclass(frozen=True)
class FileEntry:
    """One file of an artifact: its name in the artifact directory, absolute path, size, sha256."""

    name: str
    path: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class ExportedArtifact:
    """One artifact of an export as the bench needs it, checked (``list_artifacts`` is its one
    construction path): paths contained and absolute, every field of its declared type, the
    gate's ``quality_status`` one of ``QUALITY_STATUSES``. ``quality`` is the manifest's figures
    as written (exporters/quality/measure.py)."""

    path: str                       # the main file
    dir: str                        # the artifact directory
    format: str
    quant: str | None
    size_bytes: int
    sha256: str
    files: tuple[str, ...]
    file_entries: tuple[FileEntry, ...]
    quality: dict | None
    quality_status: str
    quality_gate: dict | None
    compression_rate: float | None
    mcr: float | None
    model_id: str
    model_name: str
    params: int
    baseline_label: str
    name: str | None = None


def list_artifacts(export_dir: str | Path) -> list[ExportedArtifact]:
    """What a bench needs per artifact: absolute path of the main file plus the manifest figures.

    The manifest is untrusted input (a directory may come from anywhere): every path in it must
    stay inside the export directory — relative, no ``..``, no symlink out — every field has the
    type the schema says, and an unknown format is refused with the list of known ones. The
    hashes and sizes are checked against the files by the caller (``check_files`` or the bench)."""
    root = Path(export_dir).resolve()
    m = read_manifest(root)
    where = root / MANIFEST
    model, baseline = _field(m, "model", dict, where), _field(m, "baseline", dict, where)
    model_id, params = _field(model, "id", str, where, "model"), _field(model, "params", int, where, "model")
    model_name = model.get("name") if isinstance(model.get("name"), str) and model.get("name") else model_id
    label = _field(baseline, "label", str, where, "baseline")
    out = []
    for i, a in enumerate(_field(m, "artifacts", list, where)):
        ctx = f"artifacts[{i}]"
        if not isinstance(a, dict):
            raise ExportError(f"{where}: {ctx} is not an object; re-export the model")
        fmt = a.get("format")
        if not isinstance(fmt, str) or fmt not in RUNTIMES:
            raise ExportError(f"{where}: {ctx} has unknown format {repr(fmt)[:60]}; known formats: "
                              f"{', '.join(sorted(RUNTIMES))} — re-export the model with 'edgeprof export'")
        art_dir = contained(root, _field(a, "path", str, where, ctx), f"{ctx}.path")
        files = []
        for j, f in enumerate(_field(a, "files", list, where, ctx)):
            fctx = f"{ctx}.files[{j}]"
            if not isinstance(f, dict):
                raise ExportError(f"{where}: {fctx} is not an object; re-export the model")
            name = _field(f, "name", str, where, fctx)
            files.append(FileEntry(name, str(contained(art_dir, name, f"{fctx}.name", root)),
                                   _field(f, "size_bytes", int, where, fctx), _field(f, "sha256", str, where, fctx)))
        main = contained(root, _field(a, "main_file", str, where, ctx), f"{ctx}.main_file")
        if str(main) not in {f.path for f in files}:
            raise ExportError(f"{where}: {ctx}.main_file is not one of its files; re-export the model")
        quant, status = a.get("quant"), a.get("quality_status")
        out.append(ExportedArtifact(
            path=str(main), dir=str(art_dir), format=fmt, quant=quant if isinstance(quant, str) else None,
            size_bytes=_field(a, "size_bytes", int, where, ctx), sha256=_field(a, "sha256", str, where, ctx),
            files=tuple(f.name for f in files), file_entries=tuple(files),
            quality=a.get("quality") if isinstance(a.get("quality"), dict) else None,
            quality_status=status if status in QUALITY_STATUSES else "unchecked",
            quality_gate=a.get("quality_gate") if isinstance(a.get("quality_gate"), dict) else None,
            compression_rate=_number(a.get("compression_rate")), mcr=_number(a.get("mcr")), model_id=model_id,
            model_name=model_name, params=params, baseline_label=label,
            name=a.get("name") if isinstance(a.get("name"), str) else None))
    return out


@dataclass(frozen=True)
class ExportManifest:
    """An export's ``manifest.json`` as the commands and views show it, read once and checked
    (``load_manifest``): the source model, the 16-bit baseline every artifact is measured against,
    how quality was measured, and the artifacts (``list_artifacts``'s). ``raw`` is the JSON as
    written (``--format json`` prints it)."""

    model_id: str
    model_name: str
    params: int
    baseline_label: str
    artifacts: tuple[ExportedArtifact, ...]
    baseline_basis: str = COMPRESSION_BASIS
    size_16bit_bytes: int | None = None
    architecture: str | None = None          # an encoder export: the model's architecture and task
    task: str | None = None
    reference_perplexity: float | None = None   # the source's perplexity on the same text, and its format
    reference_format: str | None = None
    quality_how: str | None = None           # an encoder export's measure: how, on what, against what
    quality_eval: str | None = None
    quality_reference: str | None = None
    source_path: str | None = None
    source_sha256: str = ""
    raw: dict = field(default_factory=dict, repr=False)


def load_manifest(export_dir: str | Path) -> ExportManifest:
    """The manifest of an export directory, typed: ``read_manifest``'s checks, then
    ``list_artifacts``'s (paths contained, fields typed); an ExportError names what is wrong."""
    m = read_manifest(export_dir)
    arts = list_artifacts(export_dir)
    model = m.get("model") if isinstance(m.get("model"), dict) else {}
    base = m.get("baseline") if isinstance(m.get("baseline"), dict) else {}
    qm = m.get("quality_method") if isinstance(m.get("quality_method"), dict) else {}
    ref = qm.get("baseline") if isinstance(qm.get("baseline"), dict) else {}
    src = m.get("source") if isinstance(m.get("source"), dict) else {}
    text = (lambda v: v if isinstance(v, str) else None)
    first = arts[0] if arts else None
    return ExportManifest(
        model_id=first.model_id if first else str(model.get("id")), model_name=first.model_name if first else
        str(model.get("name") or model.get("id")), params=first.params if first else int(model.get("params") or 0),
        baseline_label=first.baseline_label if first else str(base.get("label") or ""), artifacts=tuple(arts),
        baseline_basis=str(base.get("basis") or COMPRESSION_BASIS),
        size_16bit_bytes=base.get("size_16bit_bytes") if isinstance(base.get("size_16bit_bytes"), int) else None,
        architecture=model.get("architecture"), task=model.get("task"),
        reference_perplexity=_number(ref.get("perplexity")), reference_format=ref.get("format"),
        quality_how=qm.get("how"), quality_eval=qm.get("eval"), quality_reference=qm.get("reference"),
        source_path=text(src.get("path")), source_sha256=str(src.get("weights_sha256") or ""), raw=m)


def _number(v: Any) -> float | None:
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def contained(root: Path, rel: str, what: str, top: Path | None = None) -> Path:
    """``root / rel`` when it stays inside ``top`` (default ``root``) once symlinks are resolved;
    an ExportError naming the entry otherwise. ``root`` and ``top`` are already resolved."""
    top = top or root
    p = Path(rel)
    if not rel or "\0" in rel or p.is_absolute() or ".." in p.parts or "\\" in rel:
        raise ExportError(f"{top / MANIFEST}: {what} {rel!r} is not a plain path inside the export directory; "
                          f"refusing it — a manifest may only name files inside its own directory; re-export the model")
    full = root / p
    try:
        real = full.resolve()
    except (OSError, RuntimeError) as err:  # a symlink loop
        raise ExportError(f"{full}: cannot resolve ({err}); remove the broken link or re-export") from None
    if real != top and top not in real.parents:
        raise ExportError(f"{top / MANIFEST}: {what} {rel!r} leads outside the export directory (to {real}); "
                          f"refusing it — copy the files into the export directory or re-export the model")
    return full


def _field(d: dict, key: str, typ: type, where: Path, ctx: str = "") -> Any:
    v = d.get(key)
    ok = isinstance(v, typ) and not (typ is int and (isinstance(v, bool) or v < 0))
    if not ok:
        name = f"{ctx}.{key}" if ctx else key
        raise ExportError(f"{where}: {name} must be {'a non-negative integer' if typ is int else 'a ' + typ.__name__}, "
                          f"got {type(v).__name__}; the manifest is damaged or forged — re-export the model")
    return v
