"""Test what users install: build the wheel, unpack it, and import every module of the checkout
from the unpacked wheel alone.

Why: pytest imports from the checkout, so a subpackage the wheel forgets passes every other test
and breaks every user (wave 1 shipped without ``edgeprof.tui``). The child process drops any
editable-install finder and must load each module from the unpacked wheel, not the checkout.
"""
from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: installed package -> its folder in the repository (setup.py maps them: one installed name)
PACKAGES = {"edgeprof": "edgeprof", "edgeprof.devices": "devices", "edgeprof.exporters": "exporters"}


def _modules() -> list[str]:
    out = []
    for pkg, folder in PACKAGES.items():
        for f in sorted((ROOT / folder).rglob("*.py")):
            parts = pkg.split(".") + list(f.relative_to(ROOT / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts[-1] == "__main__":
                continue
            out.append(".".join(parts))
    return out


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", str(ROOT),
                    "-w", str(dist)], check=True, capture_output=True, timeout=300)
    wheel = next(dist.glob("edgeprof-*.whl"))
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    return site


CHILD = """
import importlib, json, sys
sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]
site, mods = sys.argv[1], json.loads(sys.argv[2])
bad = {}
for m in mods:
    try:
        mod = importlib.import_module(m)
        if not str(getattr(mod, '__file__', '') or '').startswith(site):
            bad[m] = 'loaded from ' + str(getattr(mod, '__file__', None))
    except Exception as exc:
        bad[m] = f'{type(exc).__name__}: {exc}'
print(json.dumps(bad))
"""


def test_every_module_imports_from_the_wheel(unpacked, tmp_path):
    mods = _modules()
    assert "edgeprof.views.tui.app" in mods and "edgeprof.views.tui.screens.live" in mods
    assert "edgeprof.engine.session" in mods and "edgeprof.devices.cpu" in mods
    assert "edgeprof.exporters.pipeline.export" in mods
    p = subprocess.run([sys.executable, "-c", CHILD, str(unpacked), json.dumps(mods)], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == {}


def test_wheel_carries_the_packaged_data(unpacked):
    assets = unpacked / "edgeprof" / "assets"
    for rel in ("models/catalogue.json", "devices/devices.csv", "devices/cpus.csv",
                "devices/power_modes.csv", "devices/aliases.csv", "eval/eval.txt",
                "prompts/bench.txt"):
        assert (assets / rel).is_file(), rel
    assert any((assets / "reference").glob("*/reference.json"))


def test_tui_help_runs_from_the_wheel(unpacked, tmp_path):
    code = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f).lower()]; "
            "import runpy; sys.argv = ['edgeprof', 'tui', '--help']; runpy.run_module('edgeprof', run_name='__main__')")
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                       env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    assert "usage: edgeprof tui" in p.stdout


def test_the_wheel_installs_one_top_level_name(unpacked):
    """Only ``edgeprof`` (and its dist-info) lands in site-packages: a generic ``devices`` or
    ``exporters`` would shadow, or be shadowed by, another distribution's module of that name."""
    top = {p.name for p in unpacked.iterdir()}
    assert {n for n in top if not n.endswith(".dist-info")} == {"edgeprof"}, sorted(top)
    for sub in ("devices", "exporters", "assets"):
        assert (unpacked / "edgeprof" / sub / "__init__.py").is_file(), sub
