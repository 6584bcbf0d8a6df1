"""Obtain llama.cpp's ``convert_hf_to_gguf.py`` for the INSTALLED llama-cpp-python, at run time.

Why this way: the installed llama-cpp-python wheel has no converter, and the PyPI ``gguf`` package
is too old for the current script (``LazyChunkedTensor`` missing). The converter that matches the
installed llama.cpp ships in the llama-cpp-python *sdist* under ``vendor/llama.cpp/`` together with
its ``conversion/`` package and its own ``gguf-py/``. So that exact sdist is downloaded once per
machine into the sha256-verified download cache (``downloads.py``), each cache directory (one per
``EDGEPROF_HOME``) extracts only those three parts (~2 MB of a 76 MB archive) from it, and the
script runs in a subprocess with ``PYTHONPATH=<gguf-py>``. No converter code is ever copied into
this repository.
"""
from __future__ import annotations

import os
import shutil
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from edgeprof.exporters.downloads import converters_dir, extracted_from, fetch, mark_extracted
from edgeprof.exporters.errors import ExportError
from edgeprof.exporters.pipeline.steps import StepStats, log_tail, run_command

PACKAGE = "llama-cpp-python"
VENDOR = "vendor/llama.cpp/"
WANTED = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/gguf/", "gguf-py/pyproject.toml",
          "gguf-py/LICENSE", "LICENSE")


@dataclass(frozen=True)
class Converter:
    """An extracted converter: run ``script`` with ``gguf_py`` first on PYTHONPATH."""
    root: Path
    version: str
    source: str = "cache"  # "cache" (already extracted), "download-cache" (extracted now) or "downloaded"

    @property
    def script(self) -> Path:
        return self.root / "convert_hf_to_gguf.py"

    @property
    def gguf_py(self) -> Path:
        return self.root / "gguf-py"


def installed_version() -> str:
    """The installed llama-cpp-python version (the converter must match the quantizer)."""
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError as err:
        raise ExportError("GGUF export needs llama-cpp-python: pip install llama-cpp-python==0.3.36") from err


def default_cache_dir(version: str) -> Path:
    """``<platform cache>/edgeprof/converters/llama-cpp-python-<ver>`` (callers pass their own, e.g.
    ``EDGEPROF_HOME/cache/converters/...``)."""
    return converters_dir() / f"{PACKAGE}-{version}"


def _check(root: Path, version: str) -> Converter:
    conv = Converter(root=root, version=version)
    if not conv.script.is_file() or not (conv.gguf_py / "gguf" / "__init__.py").is_file():
        raise ExportError(f"the {PACKAGE} {version} sdist in {root} has no vendor/llama.cpp/convert_hf_to_gguf.py "
                          f"with gguf-py; this version is incompatible: delete {root} or install "
                          f"llama-cpp-python==0.3.36")
    return conv


def ensure_converter(cache_dir: Path | None = None, *, version: str | None = None,
                     download_cache: Path | None = None) -> Converter:
    """The converter for ``version`` (default: installed), extracted once into ``cache_dir`` from the
    machine-wide download cache (``download_cache``, default ``downloads.machine_cache_dir()``),
    which downloads the sdist only when no verified copy is there yet."""
    version = version or installed_version()
    root = Path(cache_dir) if cache_dir else default_cache_dir(version)
    if (root / "convert_hf_to_gguf.py").is_file():
        return _check(root, version)
    try:
        root.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"cannot create the converter cache {root.parent} ({err.strerror})") from err
    archive = fetch(PACKAGE, version, binary=False, cache_dir=download_cache)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=f".{root.name}.partial-") as tmp:
        staged = Path(tmp) / "extracted"
        _extract(archive.path, staged)
        _check(staged, version)
        mark_extracted(staged, archive)
        if root.exists():
            shutil.rmtree(root)
        os.replace(staged, root)  # atomic: a half-extracted converter never looks present
    return Converter(root=root, version=version, source="downloaded" if archive.fetched else "download-cache")


def provenance(conv: Converter) -> dict:
    """What the manifest says about the converter: version, where it came from, the archive hash."""
    return {"version": conv.version, "source": conv.source, **(extracted_from(conv.root) or {})}


def _extract(sdist: Path, dest: Path) -> None:
    """Extract only the converter, its ``conversion`` package and ``gguf-py`` from the sdist."""
    dest.mkdir(parents=True)
    with tarfile.open(sdist, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/", 1)
            rel = parts[1] if len(parts) == 2 else ""
            if not rel.startswith(VENDOR):
                continue
            inner = rel[len(VENDOR):]
            if not any(inner == w or (w.endswith("/") and inner.startswith(w)) for w in WANTED):
                continue
            if not (member.isfile() or member.isdir()):
                continue
            member.name = inner
            tar.extract(member, dest, filter="data")  # "data" refuses absolute paths and ../ escapes


def converter_command(converter: Converter, source_dir: Path, out_file: Path, *,
                      outtype: str = "f16") -> tuple[list[str], dict]:
    """The converter command line and environment (its own gguf-py first on PYTHONPATH)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(converter.gguf_py)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")  # a local source needs no hub
    cmd = [sys.executable, str(converter.script), str(source_dir), "--outfile", str(out_file),
           "--outtype", outtype]
    return cmd, env


def convert_hf_to_gguf(converter: Converter, source_dir: Path, out_file: Path, *, outtype: str = "f16",
                       log_path: Path | None = None, timeout_s: float | None = None) -> StepStats:
    """Run the converter in a child process; returns its wall time and peak RSS."""
    cmd, env = converter_command(converter, Path(source_dir), Path(out_file), outtype=outtype)
    with tempfile.TemporaryDirectory(prefix="edgeprof-convert-") as tmp:
        log = Path(log_path) if log_path else Path(tmp) / "convert.log"
        rc, stats = run_command(f"gguf:convert-{outtype}", cmd, log_path=log, env=env, timeout_s=timeout_s)
        if rc != 0 or not Path(out_file).is_file():
            raise ExportError(explain_failure(log_tail(log), converter, rc))
    return stats


def explain_failure(lines: list[str], converter: Converter, rc: int = 1) -> str:
    """One line saying why the converter failed, with the fix when the cause is known."""
    stderr = "\n".join(lines)
    last = lines[-1].strip() if lines else "no output"
    if rc < 0:
        return f"llama.cpp's converter was killed by signal {-rc} (out of memory?)"
    if "pre-tokenizer was not recognized" in stderr or "BPE pre-tokenizer" in stderr:
        return (f"llama.cpp's converter does not know this model's tokenizer ({last}); use a model whose "
                f"tokenizer llama.cpp supports or a newer llama-cpp-python")
    if "ModuleNotFoundError" in stderr or "ImportError" in stderr:
        return (f"llama.cpp's converter is missing a Python package ({last}); install the export extras: "
                f"pip install 'edgeprof[export]'")
    if "not supported" in stderr.lower() and "model" in stderr.lower():
        return f"llama.cpp's converter {converter.version} does not support this architecture ({last})"
    return f"llama.cpp's converter failed ({last}); converter at {converter.script}"
