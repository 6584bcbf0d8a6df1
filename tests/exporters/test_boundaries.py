"""``edgeprof.exporters`` is a library on its own: it never imports the rest of ``edgeprof`` (nor
``edgeprof.devices``), ``import edgeprof.exporters`` loads no heavy library, and every module stays
within the house size limit."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "exporters"
HEAVY = ("torch", "transformers", "optimum", "onnx", "onnxruntime", "llama_cpp", "gguf", "numpy", "tokenizers")


def _outside(name: str) -> bool:
    """An import of edgeprof that is not edgeprof.exporters itself (the package face ``edgeprof`` is
    cheap and holds nothing, but the library must not lean on the bench, the views or devices)."""
    parts = name.split(".")
    return parts[0] == "devices" or (parts[0] == "edgeprof" and parts[1:2] != ["exporters"])


def test_no_module_imports_edgeprof_or_devices():
    files = sorted(PKG.rglob("*.py"))
    assert len(files) > 20 and any(f.parent != PKG for f in files)
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if isinstance(node, ast.ImportFrom) and node.module == "edgeprof" and not node.level:
                names = [f"edgeprof.{a.name}" for a in node.names]
            for name in names:
                assert not _outside(name), f"{path.relative_to(PKG)} imports {name}"


def test_heavy_libraries_are_imported_inside_functions_only():
    for path in PKG.rglob("*.py"):
        for node in ast.parse(path.read_text()).body:  # module level statements only
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                assert name.split(".")[0] not in HEAVY, f"{path.name} imports {name} at module level"


def test_import_exporters_is_cheap():
    code = ("import sys, edgeprof.exporters; heavy = [m for m in %r if m in sys.modules]; print(heavy)" % (HEAVY,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PKG.parent).stdout.strip()
    assert out == "[]"


def test_modules_stay_under_300_lines():
    for path in PKG.rglob("*.py"):
        assert len(path.read_text().splitlines()) <= 300, path.name


def test_eval_text_licence_is_recorded_beside_it():
    readme = (PKG.parent / "assets" / "eval" / "README.md").read_text()
    assert "CC0" in readme and "Origin" in readme
    assert len((PKG.parent / "assets" / "eval" / "eval.txt").read_text().split()) > 1200
