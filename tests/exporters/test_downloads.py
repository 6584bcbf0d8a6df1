"""The converter is downloaded once per machine: a second ``EDGEPROF_HOME`` extracts it from the
sha256-verified download cache with no network, and a tampered archive is never extracted.

"No network" is proven, not assumed: pip is pointed at an unreachable index (port 9 on localhost
refuses connections) with no other source (find-links cleared, pip's own cache off); the same
command with an EMPTY download cache must then fail, which shows that a success can only have come
from the cache. One run goes through the CLI with a fresh EDGEPROF_HOME, as a user's second home.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edgeprof.exporters.gguf.converter import PACKAGE, installed_version
from edgeprof.exporters.downloads import fetch

ROOT = Path(__file__).resolve().parents[2]
OFFLINE = {"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_EXTRA_INDEX_URL": "", "PIP_FIND_LINKS": "",
           "PIP_NO_CACHE_DIR": "1", "PIP_RETRIES": "0", "PIP_TIMEOUT": "3"}
CODE = """
import sys
from pathlib import Path
from edgeprof.exporters.gguf.converter import ensure_converter
conv = ensure_converter(Path(sys.argv[1]), download_cache=Path(sys.argv[2]))
print(conv.source)
"""


def _offline(cmd: list[str], **env) -> subprocess.CompletedProcess:
    full = {**os.environ, **OFFLINE, **env, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(cmd, capture_output=True, text=True, env=full, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def archive(converter_cache, download_cache) -> Path:
    """The sdist entry in the tests' machine-wide cache (the session's converter came through it)."""
    entry = download_cache / f"{PACKAGE}-{installed_version()}-sdist"
    assert (entry / "archive.json").is_file(), "the converter fixture should have filled the download cache"
    assert not fetch(PACKAGE, installed_version(), binary=False, cache_dir=download_cache).fetched  # verified, reused
    return entry


def test_a_second_home_extracts_the_converter_without_a_download(archive, download_cache, tmp_path):
    before = {p.name: p.stat().st_mtime_ns for p in archive.iterdir()}
    home_b = tmp_path / "home-b" / "cache" / "converters" / f"{PACKAGE}-{installed_version()}"
    proc = _offline([sys.executable, "-c", CODE, str(home_b), str(download_cache)])
    assert proc.returncode == 0, proc.stderr[-1500:]
    assert proc.stdout.strip() == "download-cache"
    assert (home_b / "convert_hf_to_gguf.py").is_file() and (home_b / "gguf-py" / "gguf").is_dir()
    rec = json.loads((archive / "archive.json").read_text())
    assert json.loads((home_b / ".edgeprof-source.json").read_text()) == {"archive": rec["file"], "sha256": rec["sha256"]}
    assert {p.name: p.stat().st_mtime_ns for p in archive.iterdir()} == before  # the archive was only read


def test_the_same_command_with_an_empty_cache_fails_so_the_index_really_is_unreachable(tmp_path):
    proc = _offline([sys.executable, "-c", CODE, str(tmp_path / "home-c"), str(tmp_path / "empty-downloads")])
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert f"could not download {PACKAGE}=={installed_version()}" in last and "package index" in last
    assert not (tmp_path / "home-c").exists()


def test_a_tampered_archive_is_not_extracted(archive, tmp_path):
    cache = tmp_path / "downloads"
    shutil.copytree(archive, cache / archive.name)
    rec = json.loads((archive / "archive.json").read_text())
    with open(cache / archive.name / rec["file"], "r+b") as f:  # one flipped byte in the middle
        f.seek(1_000_000)
        byte = f.read(1)
        f.seek(1_000_000)
        f.write(bytes([byte[0] ^ 0xFF]))
    proc = _offline([sys.executable, "-c", CODE, str(tmp_path / "home-d"), str(cache)])
    assert proc.returncode != 0 and "could not download" in proc.stderr  # it tried to replace it, offline
    assert not (tmp_path / "home-d").exists()


def test_a_second_edgeprof_home_exports_gguf_offline(tiny_llama_dir, xdg_cache_home, archive, tmp_path):
    """The CLI with a brand-new EDGEPROF_HOME: the converter comes from the machine cache, offline."""
    env = {"EDGEPROF_HOME": str(tmp_path / "home-e"), "XDG_CACHE_HOME": str(xdg_cache_home)}
    proc = _offline([sys.executable, "-m", "edgeprof", "export", str(tiny_llama_dir), "--to", "gguf:q8_0",
                     "--no-quality", "--out", str(tmp_path / "export")], **env)
    assert proc.returncode == 0, proc.stderr[-1500:]
    conv = tmp_path / "home-e" / "cache" / "converters" / f"{PACKAGE}-{installed_version()}"
    assert (conv / "convert_hf_to_gguf.py").is_file()
    m = json.loads((tmp_path / "export" / "manifest.json").read_text())
    assert m["artifacts"][0]["scheme"]["converter_source"]["source"] == "download-cache"
    assert m["artifacts"][0]["quality_status"] == "unchecked"
