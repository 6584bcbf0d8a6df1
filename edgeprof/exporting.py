"""The bridge from the CLI to ``exporters``: progress lines, and export-then-bench."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable


def progress_printer(note: Callable[[str], None]):
    def on(e) -> None:
        took = f" ({e.elapsed_s:.1f} s)" if e.elapsed_s is not None else ""
        where = f"[{e.index}/{e.total}] " if e.index else ""
        note(f"export {where}{e.step} {e.status}{': ' + e.message if e.message else ''}{took}")
    return on


def converter_cache() -> Path:
    """llama.cpp's converter, extracted for the installed llama-cpp-python, lives in the user cache
    (CONTRACTS.md "User directories": cache/), never in the package. The archive it is extracted
    from comes from the machine-wide download cache (``download_cache``)."""
    from exporters.converter import installed_version

    from .home import cache_dir

    return cache_dir() / "converters" / f"llama-cpp-python-{installed_version()}"


def download_cache() -> Path:
    from .home import downloads_dir

    return downloads_dir()


def export_for_bench(source: dict[str, Any], targets: list[str], *, note: Callable[[str], None],
                     out_dir: Path | None = None) -> list[dict[str, Any]]:
    """Export an HF source artifact to ``targets`` next to it (reusing a finished export of the
    same targets) and return the exported artifacts to bench."""
    import hashlib

    from exporters import ExportError, export, parse_targets

    from .artifacts import ArtifactError, resolve

    try:
        spec = parse_targets(targets)
    except ExportError as exc:
        raise ArtifactError(str(exc)) from exc
    key = hashlib.sha256(repr(sorted((k, sorted(v)) for k, v in spec.items())).encode()).hexdigest()[:8]
    src = Path(source["path"])
    out = out_dir or src.parent / f"{src.name}-export-{key}"
    if not (out / "manifest.json").exists():
        try:
            export(src, spec, out, progress=progress_printer(note), converter_cache=converter_cache(),
                   download_cache=download_cache())
        except ExportError as exc:
            raise ArtifactError(str(exc)) from exc
    else:
        note(f"export: reusing {out}")
    return [a for a in resolve(str(out)) if a["format"] != "hf"]  # the source row is already benched
