"""``exporters`` is a library on its own: it never imports ``edgeprof``, ``import exporters`` loads
no heavy library, and every module stays within the house size limit."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "exporters"
HEAVY = ("torch", "transformers", "optimum", "onnx", "onnxruntime", "llama_cpp", "gguf", "numpy", "tokenizers")


def test_no_module_imports_edgeprof_or_devices():
    for path in PKG.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                assert name.split(".")[0] not in ("edgeprof", "devices"), f"{path.name} imports {name}"


def test_heavy_libraries_are_imported_inside_functions_only():
    for path in PKG.glob("*.py"):
        for node in ast.parse(path.read_text()).body:  # module level statements only
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            for name in names:
                assert name.split(".")[0] not in HEAVY, f"{path.name} imports {name} at module level"


def test_import_exporters_is_cheap():
    code = ("import sys, exporters; heavy = [m for m in %r if m in sys.modules]; print(heavy)" % (HEAVY,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PKG.parent).stdout.strip()
    assert out == "[]"


def test_modules_stay_under_300_lines():
    for path in PKG.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 300, path.name


def test_eval_text_licence_is_recorded_beside_it():
    readme = (PKG.parent / "edgeprof" / "assets" / "eval" / "README.md").read_text()
    assert "CC0" in readme and "Origin" in readme
    assert len((PKG.parent / "edgeprof" / "assets" / "eval" / "eval.txt").read_text().split()) > 1200
