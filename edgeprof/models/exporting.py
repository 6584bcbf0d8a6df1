"""The bridge from the CLI to ``exporters``: progress lines, and export-then-bench."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from edgeprof.exporters.manifest import ExportManifest
    from edgeprof.models.artifacts import Artifact


def progress_printer(note: Callable[[str], None]):
    def on(e) -> None:
        took = f" ({e.elapsed_s:.1f} s)" if e.elapsed_s is not None else ""
        where = f"[{e.index}/{e.total}] " if e.index else ""
        note(f"export {where}{e.step} {e.status}{': ' + e.message if e.message else ''}{took}")
    return on


def resolve_source(arg: str, note: Callable[[str], None]) -> Path:
    """An export source: an existing directory, or a catalogue HF id (prepared from its packaged
    GGUF the first time)."""
    p = Path(arg).expanduser()
    if p.exists():
        return p
    from edgeprof.models import catalogue

    entry = catalogue.get(arg)
    if entry.format != "hf":
        raise catalogue.CatalogueError(f"{arg} is a {entry.format} model; export needs an HF source such as "
                                       f"{entry.id}-hf ('edgeprof models' lists them)")
    if entry.package:  # an HF model a package ships (a sentence embedder): fetched, verified
        return catalogue.ensure(entry, log=note)
    if not catalogue.is_present(entry):
        catalogue.prepare_hf(entry, note)
    return catalogue.local_path(entry)


MANIFEST_COLUMNS = ("artifact", "format", "quant", "size MiB", "compression", "perplexity", "retention",
                    "greedy agreement", "quality", "sha256")


def baseline_row(m: ExportManifest) -> list[str] | None:
    """The row every other row is measured against: the source, its 16-bit size (the compression
    basis) and its perplexity on the same text (in the manifest's quality method, never shown
    before: issue 20). None for an export made without quality."""
    if m.reference_perplexity is None:
        return None
    size = m.size_16bit_bytes
    return [m.baseline_label or "baseline", f"source (scored as {m.reference_format})",
            "", f"{size / 2**20:.1f} (16-bit)" if size else "", "1 (basis)", str(m.reference_perplexity),
            "1 (reference)", "reference", "reference", m.source_sha256[:12]]


def manifest_rows(m: ExportManifest) -> list[list[str]]:
    """One row per artifact of an export manifest (the CLI's table and the TUI's export screen),
    after the baseline's row when the export measured quality."""
    from edgeprof.results.quality import read_quality

    def cell(v) -> str:
        return "" if v is None else str(v)

    base = baseline_row(m)
    rows = [base] if base else []
    for a in m.artifacts:
        q = read_quality(a.quality)
        status = a.quality_status  # the export's quality gate (exporters/gate.py)
        rows.append([a.name or "", a.format, a.quant or "", f"{a.size_bytes / 2**20:.1f}", str(a.compression_rate or ""),
                     cell(q.perplexity), cell(q.quality_retention), cell(q.greedy_agreement),
                     "DEGRADED" if status == "degraded" else status, a.sha256[:12]])
    return rows


def converter_cache() -> Path:
    """llama.cpp's converter, extracted for the installed llama-cpp-python, lives in the user cache
    (CONTRACTS.md "User directories": cache/), never in the package. The archive it is extracted
    from comes from the machine-wide download cache (``download_cache``)."""
    from edgeprof.exporters.gguf.converter import installed_version

    from edgeprof.home import cache_dir

    return cache_dir() / "converters" / f"llama-cpp-python-{installed_version()}"


def download_cache() -> Path:
    from edgeprof.home import downloads_dir

    return downloads_dir()


def export_for_bench(source: Artifact, targets: list[str], *, note: Callable[[str], None],
                     out_dir: Path | None = None, allow_degraded: bool = False) -> list[Artifact]:
    """Export an HF source artifact to ``targets`` next to it (reusing a finished export of the
    same targets) and return the exported artifacts to bench. An artifact that fails the quality
    gate stops the bench unless ``allow_degraded`` (``bench --export ... --allow-degraded``): it is
    then benched, and its rows say DEGRADED."""
    import hashlib

    from edgeprof.exporters import ExportError, export, parse_targets

    from edgeprof.models.artifacts import ArtifactError, resolve

    try:
        spec = parse_targets(targets)
    except ExportError as exc:
        raise ArtifactError(str(exc)) from exc
    key = hashlib.sha256(repr(sorted((k, sorted(v)) for k, v in spec.items())).encode()).hexdigest()[:8]
    src = Path(source.path)
    out = out_dir or src.parent / f"{src.name}-export-{key}"
    if not (out / "manifest.json").exists():
        try:
            export(src, spec, out, progress=progress_printer(note), converter_cache=converter_cache(),
                   download_cache=download_cache(), allow_degraded=allow_degraded)
        except ExportError as exc:
            raise ArtifactError(str(exc)) from exc
    else:
        note(f"export: reusing {out}")
    return [a for a in resolve(str(out)) if a.format != "hf"]  # the source row is already benched
