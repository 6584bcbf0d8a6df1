"""The layers of docs/architecture.md hold: no module imports a later layer, there is no import
cycle, modules stay short, and the top of ``edgeprof/`` holds only the CLI, the package face,
a few shared helpers and folders."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "edgeprof"
LAYERS = ["", "results", "runtimes", "models", "analysis", "compare", "engine", "fleet", "views", "commands"]
TOP_FILES = {"__init__.py", "__main__.py", "cli.py", "errors.py", "home.py", "assets_access.py"}


def _modules() -> dict[str, Path]:
    out = {}
    for f in PKG.rglob("*.py"):
        if "assets" in f.relative_to(PKG).parts:
            continue
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _imports(path: Path, name: str) -> set[str]:
    """edgeprof modules imported anywhere in the file (function-level imports included)."""
    tree = ast.parse(path.read_text())
    pkg = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(pkg.split(".")[: len(pkg.split(".")) - node.level + 1] + ([base] if base else []))
            out.add(base)
            out |= {f"{base}.{a.name}" for a in node.names}
    mods = _modules()
    return {m for m in out if m in mods and m != name}


def _layer(mod: str) -> int:
    parts = mod.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else 0


def test_no_module_imports_a_later_layer():
    bad = []
    for name, path in _modules().items():
        for dep in _imports(path, name):
            if dep != "edgeprof" and _layer(dep) > _layer(name):
                bad.append(f"{name} ({LAYERS[_layer(name)] or 'top'}) imports {dep} ({LAYERS[_layer(dep)]})")
    assert not bad, "\n".join(bad)


def test_no_import_cycle():
    mods = _modules()
    graph = {n: _imports(p, n) - {"edgeprof"} for n, p in mods.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for d in graph.get(n, ()):
            if d.startswith(n + "."):  # a package importing its own submodules is not a cycle
                continue
            if state.get(d) == 1 and not n.startswith(d + "."):
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(d):] + [d]))
            if d not in state:
                visit(d)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)


def test_modules_are_short_and_the_top_is_tidy():
    long = [f"{p.relative_to(ROOT)}: {n}" for p in PKG.rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 400]
    assert not long, long
    top = {p.name for p in PKG.iterdir() if p.is_file() and p.suffix == ".py"}
    assert top <= TOP_FILES, top - TOP_FILES
    assert {p.name for p in PKG.iterdir() if p.is_dir() and p.name != "__pycache__"} <= set(LAYERS) | {"assets"}
