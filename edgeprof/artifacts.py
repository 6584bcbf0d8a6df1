"""MODEL arguments → artifacts to bench (CONTRACTS.md: an existing path first — GGUF file, ONNX
file, export directory with a manifest, HF directory with safetensors — then a catalogue id).

An artifact is a plain dict, copied into the record's ``artifact`` and ``model`` fields:
``{path, format, quant, size_bytes, sha256, files, model: {id, name, params}, runtime, ...}``.
An artifact from an edgeprof export also carries ``quality_status`` ("ok" | "degraded" |
"unchecked": the export's quality gate, exporters/gate.py) and ``quality`` (the manifest's figures
with the same ``quality_status`` inside, so the record's ``artifact.quality`` keeps the label).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from . import catalogue
from .catalogue import CatalogueError, sha256_file
from devices.cpu import slug
from .gguf_meta import GGUFError, read_header


class ArtifactError(ValueError):
    """A MODEL argument that cannot be benched; the message names the problem and the fix."""


def _catalogue_by_sha() -> dict[str, catalogue.Entry]:
    _, entries = catalogue.load()
    return {e.raw["sha256"]: e for e in entries if e.raw.get("sha256")}


def _export_model(path: Path) -> dict | None:
    """The ``model`` of the edgeprof export a file sits in (its manifest is one or two levels up),
    so an artifact benched on its own keeps the model id of its source."""
    for d in (path.parent, path.parent.parent):
        m = d / "manifest.json"
        if m.is_file():
            try:
                data = json.loads(m.read_text())
            except (json.JSONDecodeError, OSError):
                return None
            model = dict(data.get("model") or {})
            rel = str(path.resolve().relative_to(d.resolve())) if path.resolve().is_relative_to(d.resolve()) else None
            for a in data.get("artifacts") or []:
                if a.get("main_file") == rel:
                    model["quant"] = a.get("quant")
                    model["quality"] = _labelled(a.get("quality"), a.get("quality_status"))
                    model["quality_status"] = a.get("quality_status") or "unchecked"
            return model
    return None


def _labelled(quality: dict | None, status: str | None) -> dict | None:
    """The manifest's quality figures with the gate's verdict inside (None when never measured)."""
    return {**quality, "quality_status": status or "unchecked"} if quality else None


def _export_quality(exported: dict | None) -> dict[str, Any]:
    """``quality`` / ``quality_status`` of a file that belongs to an edgeprof export (else nothing)."""
    if not exported or "quality_status" not in exported:
        return {}
    return {"quality": exported.get("quality"), "quality_status": exported["quality_status"]}


def gguf_artifact(path: Path, model_id: str | None = None) -> dict[str, Any]:
    try:
        h = read_header(path)
    except GGUFError as exc:
        raise ArtifactError(str(exc)) from exc
    digest = sha256_file(path)
    entry = _catalogue_by_sha().get(digest)
    meta = h["metadata"]
    exported = _export_model(path)
    if exported and not model_id:
        model_id = exported.get("id")
    name = entry.name if entry else (meta.get("general.name") or path.stem)
    mid = model_id or (entry.model_id if entry else slug(str(meta.get("general.basename") or name)
                                                          + ("-" + str(meta["general.size_label"])
                                                             if meta.get("general.size_label") else "")))
    return {"path": str(path.resolve()), "format": "gguf", "quant": h["quant"], "size_bytes": path.stat().st_size,
            "sha256": digest, "files": [path.name], "runtime": "llama.cpp",
            "model": {"id": mid, "name": name, "params": h["n_params"],
                      "architecture": meta.get("general.architecture")}, **_export_quality(exported)}


RUNTIMES = {"onnx": "onnxruntime", "gguf": "llama.cpp", "hf": "torch"}


def _manifest_artifacts(d: Path) -> list[dict[str, Any]]:
    """Every artifact of an export directory, plus its HF source when still present (the
    unquantized baseline row), with the manifest's compression basis and quality retention."""
    from exporters import ExportError, list_artifacts, read_manifest

    try:
        listed, manifest = list_artifacts(d), read_manifest(d)
    except ExportError as exc:
        raise ArtifactError(str(exc)) from exc
    out = []
    for a in listed:
        base = {"bytes": a["params"] * 2,
                "provenance": {"kind": "derived", "source": "export manifest: params x 2 bytes", "scope": "artifact",
                               "period_s": None, "note": f"16-bit equivalent of the source ({a['baseline_label']})"}}
        q = a.get("quality") or {}
        retention = None
        if q.get("quality_retention") is not None:
            retention = {"value": q["quality_retention"], "provenance": {
                "kind": "measured", "source": "exporters.quality (manifest.json)", "scope": "artifact", "period_s": None,
                "note": f"perplexity {q.get('perplexity')} vs {q.get('baseline_perplexity')} of the "
                        f"{a['baseline_label']}; greedy agreement {q.get('greedy_agreement')}"}}
        out.append({"path": a["dir"] if a["format"] == "hf" else a["path"], "format": a["format"], "quant": a["quant"],
                    "size_bytes": a["size_bytes"], "sha256": a["sha256"], "files": a["files"],
                    "runtime": RUNTIMES[a["format"]], "baseline_size": base, "quality_retention": retention,
                    "quality": _labelled(q, a.get("quality_status")), "quality_status": a.get("quality_status"),
                    "label": a["baseline_label"] if a["format"] == "hf" else None,
                    "model": {"id": a["model_id"], "name": manifest["model"].get("name", a["model_id"]),
                              "params": a["params"]}})
    src = Path((manifest.get("source") or {}).get("path") or "")
    if src.is_dir() and (src / "config.json").exists() and not any(x["format"] == "hf" for x in out):
        try:
            hf = hf_artifact(src)
        except ArtifactError:
            hf = None
        if hf is not None:
            hf["model"].update(id=manifest["model"]["id"], params=manifest["model"]["params"])
            hf["baseline_size"] = dict(out[0]["baseline_size"]) if out else None
            out.insert(0, hf)
    return out


def onnx_artifact(path: Path) -> dict[str, Any]:
    with open(path, "rb") as f:
        head = f.read(64)
    if not head or head[:1] not in (b"\x08", b"\x0a", b"\x12", b"\x1a", b"\x22", b"\x3a", b"\x42"):
        raise ArtifactError(f"{path} does not look like an ONNX model (protobuf); pass a .onnx file")
    files = [p for p in path.parent.iterdir() if p.is_file() and (p == path or p.name.startswith(path.name))]
    exported = _export_model(path) or {}
    return {"path": str(path.resolve()), "format": "onnx", "quant": exported.get("quant"), "size_bytes": sum(p.stat().st_size for p in files),
            "sha256": sha256_file(path), "files": sorted(p.name for p in files), "runtime": "onnxruntime",
            "model": {"id": exported.get("id") or slug(path.parent.name or path.stem),
                      "name": exported.get("name") or path.parent.name, "params": exported.get("params")},
            **_export_quality(exported)}



def hf_artifact(d: Path) -> dict[str, Any]:
    weights = sorted(d.glob("*.safetensors"))
    if not weights:
        if list(d.glob("*.bin")) or list(d.glob("*.pt")):
            raise ArtifactError(f"{d} holds only pickle checkpoints (.bin/.pt), which can run code when loaded; "
                                f"convert them to safetensors first")
        raise ArtifactError(f"{d} has config.json but no *.safetensors weights")
    src = d / "edgeprof_source.json"
    info = json.loads(src.read_text()) if src.exists() else {}
    cfg = json.loads((d / "config.json").read_text())
    dtype = str(cfg.get("torch_dtype") or cfg.get("dtype") or "fp32").replace("float32", "fp32").replace("bfloat16", "bf16")
    return {"path": str(d.resolve()), "format": "hf", "quant": dtype.replace("float16", "fp16"),
            "size_bytes": sum(p.stat().st_size for p in weights), "sha256": sha256_file(weights[0]),
            "files": [p.name for p in weights], "runtime": "torch",
            "model": {"id": info.get("model_id") or slug(d.name), "name": info.get("name") or d.name,
                      "params": info.get("params")}, "label": info.get("label")}


def resolve(arg: str | None, *, models_root: Path | None = None,
            log: Callable[[str], None] = lambda s: None) -> list[dict[str, Any]]:
    """Artifacts for one MODEL argument (None = the catalogue default)."""
    if arg is None:
        arg = catalogue.load()[0]
    p = Path(arg).expanduser()
    if p.exists():
        if p.is_file():
            if p.suffix == ".onnx":
                return [onnx_artifact(p)]
            return [gguf_artifact(p)]
        if (p / "manifest.json").exists():
            return _manifest_artifacts(p)
        onnx = sorted(p.glob("*.onnx"))
        if (p / "config.json").exists() and (list(p.glob("*.safetensors")) or not onnx):
            return [hf_artifact(p)]
        if onnx:
            return [onnx_artifact(onnx[0])]
        raise ArtifactError(f"{p} is a directory without manifest.json, config.json or *.onnx; "
                            f"pass a GGUF/ONNX file, an export directory or an HF model directory")
    try:
        entry = catalogue.get(arg)
    except CatalogueError as exc:
        if any(ch in arg for ch in "/\\.") :
            raise ArtifactError(f"{arg}: no such file or directory") from exc
        raise ArtifactError(str(exc)) from exc
    path = catalogue.ensure(entry, models_root, log=log)
    if entry.format == "hf":
        art = hf_artifact(path)
    else:
        art = gguf_artifact(path, model_id=entry.model_id)
    art["model"].update({"id": entry.model_id, "name": entry.name, "params": entry.params or art["model"].get("params")})
    art["catalogue_id"] = entry.id
    return [art]
