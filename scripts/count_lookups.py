"""Count string-key lookups (``x["key"]`` and ``x.get("key")``) per 1,000 lines of ``edgeprof/``,
outside the boundary functions where dicts belong (STYLE.md rule 14): ``to_dict``/``from_dict``
and the readers (a function whose name says it reads or parses: ``read_*``, ``load_*``,
``parse_*``, ``from_*``, ``*_from_dict``), and anything nested in them.

Usage: ``python scripts/count_lookups.py [--top N] [--files] [PATH ...]`` — prints
``lookups  kLOC  per-kLOC`` and, with ``--top``, the modules with the most lookups.
Lines are non-blank, non-comment source lines (docstrings counted, as ``wc -l`` would).
The figure is read by ``tests/spine/test_lookups.py`` and quoted in docs/architecture.md.
"""
from __future__ import annotations

import argparse
import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: function names that are boundaries: dicts are their job
BOUNDARY = re.compile(r"^(to_dict|from_dict|as_dict|to_json|from_json|_?(read|load|parse|from)(_\w+)?|\w+_from_dict"
                      r"|\w+_to_dict)$")


@dataclass(frozen=True)
class Count:
    path: Path
    lookups: int
    lines: int


def is_lookup(node: ast.AST) -> bool:
    """``x["key"]`` (a string-constant subscript that is read, written or deleted) or
    ``x.get("key"...)``."""
    if isinstance(node, ast.Subscript):
        s = node.slice
        return isinstance(s, ast.Constant) and isinstance(s.value, str)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return bool(node.args) and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)
    return False


def _lookups(node: ast.AST) -> int:
    n = 0
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and BOUNDARY.match(child.name):
            continue
        n += is_lookup(child) + _lookups(child)
    return n


def source_lines(text: str) -> int:
    return sum(1 for line in text.splitlines() if line.strip() and not line.strip().startswith("#"))


def count_file(path: Path) -> Count:
    text = path.read_text()
    return Count(path, _lookups(ast.parse(text)), source_lines(text))


def count(paths: list[Path]) -> list[Count]:
    files = [f for p in paths for f in (sorted(p.rglob("*.py")) if p.is_dir() else [p])
             if "assets" not in f.parts]
    return [count_file(f) for f in files]


def per_kloc(counts: list[Count]) -> float:
    lines = sum(c.lines for c in counts)
    return 1000 * sum(c.lookups for c in counts) / lines if lines else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", type=Path, default=[ROOT / "edgeprof"])
    ap.add_argument("--top", type=int, default=0, help="list the N modules with the most lookups")
    args = ap.parse_args(argv)
    counts = count(args.paths)
    total, lines = sum(c.lookups for c in counts), sum(c.lines for c in counts)
    print(f"{total} lookups in {lines / 1000:.1f} kLOC: {per_kloc(counts):.1f} per kLOC")
    for c in sorted(counts, key=lambda c: -c.lookups)[:args.top]:
        rel = c.path.resolve().relative_to(ROOT) if c.path.resolve().is_relative_to(ROOT) else c.path
        print(f"{c.lookups:6d} {1000 * c.lookups / max(c.lines, 1):7.1f}/kLOC  {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
