"""``-ngl 99`` on a llama.cpp build without GPU offload (issue 20, item 2): the row says what ran
(0 GPU layers, provider cpu, the 99 asked for beside it) and warns, instead of ``provider: gpu``."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cpu_build():
    llama_cpp = pytest.importorskip("llama_cpp")
    if llama_cpp.llama_supports_gpu_offload():
        pytest.skip("this llama.cpp build offloads to a GPU")
    return llama_cpp


def test_the_engine_records_the_cpu_it_ran_on(cpu_build, smollm2_gguf):
    from edgeprof.runtimes.base import Placement
    from edgeprof.runtimes.llamacpp import LlamaCppEngine

    e = LlamaCppEngine(str(smollm2_gguf), Placement(threads=1, gpu_layers=99), 64)
    try:
        pl = e.info.placement
        assert (pl["gpu_layers"], pl["gpu_layers_requested"], pl["provider"]) == (0, 99, "cpu")
        [w] = e.info.extra["warnings"]
        assert "-ngl 99" in w and "ran on the CPU" in w and "llama_supports_gpu_offload" in w
        assert e.prefill(e.tokenize("Hello there")) >= 0  # it does run, on the CPU
    finally:
        e.close()


@pytest.mark.slow
def test_the_row_and_its_legend_say_it_ran_on_the_cpu(cpu_build, smollm2_gguf, tmp_path, seeded):
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    env = dict(os.environ, EDGEPROF_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))
    args = [sys.executable, "-m", "edgeprof", "bench", str(smollm2_gguf), "-ngl", "99", "-p", "8", "-n", "4",
            "--reps", "1", "--warmup", "0", "--min-seconds", "0", "--idle-seconds", "0.2", "-t", "1",
            "--out", str(tmp_path / "run"), "-o", "md"]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "ran on the CPU" in proc.stdout  # the table's legend
    [row] = [json.loads(line) for line in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    assert row["status"] == "ok"
    assert row["runtime"]["placement"]["provider"] == "cpu" and row["runtime"]["placement"]["gpu_layers"] == 0
    assert any("ran on the CPU" in w for w in row["warnings"])
    assert "warnings" not in row["runtime_extra"]


def test_the_case_is_sampled_on_the_cpu_not_on_an_idle_gpu(cpu_build):
    """On a machine with a GPU and a CPU build of llama.cpp, the -ngl case runs on the CPU, so its
    power and memory are the CPU's: the device it is measured on is the CPU."""
    from edgeprof.devices.base import BaseDevice, DeviceInfo
    from edgeprof.engine.device_choice import bench_device

    gpu = BaseDevice(DeviceInfo(id="nvidia0:x", kind="nvidia", name="NVIDIA H100"), [])
    cpu = BaseDevice(DeviceInfo(id="cpu0:x", kind="cpu", name="CPU"), [])
    from edgeprof.runtimes.base import Placement

    assert bench_device([gpu, cpu], Placement(threads=1, gpu_layers=99)) is cpu
    assert bench_device([gpu, cpu], Placement(threads=1, provider="cuda")) is gpu  # ONNX/torch: as asked
