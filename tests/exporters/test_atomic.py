"""Atomic, resumable, refusing: an export killed midway leaves nothing that looks done, its child
processes die with it, a re-run resumes after the last finished step, and an existing directory is
only replaced with ``overwrite=True``."""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edgeprof import exporters
from edgeprof.exporters import ExportError, partial_dir, read_manifest

SCRIPT = """
import sys
from pathlib import Path
from edgeprof import exporters
exporters.export(sys.argv[1], ["onnx:fp32,int4", "gguf:q8_0"], sys.argv[2], jobs=1,  # one at a time: a
                 converter_cache=Path(sys.argv[3]), download_cache=Path(sys.argv[4]), quality=False)  # sure kill point
"""


def _children_of_partial(build: Path) -> list[int]:
    import psutil
    pids = []
    for p in psutil.process_iter(["pid", "cmdline"]):
        try:
            if any(str(build) in part for part in (p.info["cmdline"] or [])):
                pids.append(p.info["pid"])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return pids


@pytest.fixture(scope="module")
def killed_export(tiny_llama_dir, converter_cache, download_cache, tmp_path_factory):
    """An export killed (SIGKILL) right after its first step (the ONNX graph) finished, while the next runs."""
    out = tmp_path_factory.mktemp("killed") / "export"
    build = partial_dir(out)
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(tiny_llama_dir), str(out), str(converter_cache),
                             str(download_cache)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    progress = build / ".progress.json"
    while time.monotonic() < deadline and proc.poll() is None:
        if progress.is_file() and "onnx:graph" in json.loads(progress.read_text() or "{}").get("steps", {}):
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the export finished or failed before it could be interrupted"
    time.sleep(0.5)  # let the next step's child start
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(1.0)
    return out, build


def test_killed_export_leaves_no_finished_looking_directory(killed_export):
    out, build = killed_export
    assert not out.exists()
    assert build.is_dir() and not list(build.rglob("manifest.json"))
    with pytest.raises(ExportError, match="no manifest.json"):
        read_manifest(build)


def test_children_die_with_the_killed_export(killed_export):
    _, build = killed_export
    assert _children_of_partial(build) == []


def test_rerun_resumes_after_the_last_finished_step(killed_export, tiny_llama_dir, converter_cache):
    out, build = killed_export
    finished = set(json.loads((build / ".progress.json").read_text())["steps"])
    events = []
    exporters.export(tiny_llama_dir, ["onnx:fp32,int4", "gguf:q8_0"], out, converter_cache=converter_cache,
                     quality=False, progress=events.append)
    skipped = [e.step for e in events if e.status == "skipped"]
    done = [e.step for e in events if e.status == "done"]
    assert "onnx:graph" in skipped and set(skipped) == finished  # what had finished is not redone...
    jobs = {"onnx:graph", "onnx:int4", "gguf:f16", "gguf:q8_0", "check:onnx-fp32", "check:onnx-int4", "check:gguf-q8_0"}
    assert sorted(skipped + done) == sorted(jobs)  # ...and everything else is done exactly once
    m = read_manifest(out)
    assert [a["quant"] for a in m["artifacts"]] == ["fp32", "int4", "q8_0"]
    assert m["quality_method"] == {"skipped": "quality measurement turned off (--no-quality)"}
    assert all(a["quality"] is None and "mcr" not in a for a in m["artifacts"])
    assert not build.exists()


def test_existing_directory_needs_overwrite(killed_export, tiny_llama_dir, converter_cache):
    out, _ = killed_export
    with pytest.raises(exporters.UsageError) as err:
        exporters.export(tiny_llama_dir, ["gguf:q8_0"], out, converter_cache=converter_cache)
    assert "--overwrite" in str(err.value) and "\n" not in str(err.value)
    before = read_manifest(out)["created_at"]
    exporters.export(tiny_llama_dir, ["gguf:q4_0"], out, overwrite=True, converter_cache=converter_cache,
                     quality=False)
    m = read_manifest(out)
    assert [a["quant"] for a in m["artifacts"]] == ["q4_0"] and sorted(p.name for p in out.iterdir()) == [
        "README.md", "gguf-q4_0", "logs", "manifest.json"]
    assert m["created_at"] >= before and not list(out.parent.glob(".*old-*"))


def test_a_second_concurrent_export_is_refused(tiny_llama_dir, tmp_path):
    out = tmp_path / "export"
    build = partial_dir(out)
    build.mkdir(parents=True)
    with open(build / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ExportError, match="another export is writing"):
            exporters.export(tiny_llama_dir, ["onnx:fp32"], out)
    assert not out.exists()


def test_failed_step_reports_one_line_and_keeps_progress(tiny_llama_dir, tmp_path):
    """A step that fails in its child process surfaces as one ExportError line naming the cause."""
    src = tmp_path / "broken"
    src.mkdir()
    for f in tiny_llama_dir.iterdir():
        os.symlink(f, src / f.name)
    cfg = json.loads((tiny_llama_dir / "config.json").read_text())
    cfg["model_type"] = "not-a-model"
    (src / "config.json").unlink()
    (src / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ExportError) as err:
        exporters.export(src, ["onnx:fp32"], tmp_path / "out", quality=False)
    assert "\n" not in str(err.value) and "onnx:base" in str(err.value) or "not-a-model" in str(err.value)
    assert not (tmp_path / "out").exists()
