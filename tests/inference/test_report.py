"""``edgeprof report`` of an encoder run beside an LLM run: latency and samples/s against the batch,
J/inference against the export's measured accuracy, and the decoder's sections as before."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgeprof.exporters.pipeline.encoder import export_encoder

pytestmark = pytest.mark.slow
LLM_RUN = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "matrix"


def _cli(home, *args, cwd=None):
    return subprocess.run([sys.executable, "-m", "edgeprof", *map(str, args)], capture_output=True, text=True,
                          timeout=400, cwd=cwd, env=dict(os.environ, EDGEPROF_HOME=str(home)))


def test_report_plots_encoder_rows_beside_an_llm_run(encoders, tmp_path, bench_home):
    exp = export_encoder(encoders["bert-hf"], ["onnx:fp32,int8"], tmp_path / "exp")
    run = tmp_path / "run"
    b = _cli(bench_home, "bench", exp, "--batch", "1,4", "-p", "16", "--reps", "5", "--min-seconds", "0.2",
             "--idle-seconds", "0.2", "-t", "1", "-q", "--out", run, cwd=tmp_path)
    assert b.returncode == 0, b.stderr[-1500:]
    rep = _cli(bench_home, "report", LLM_RUN, run, "--out", tmp_path / "report")
    assert rep.returncode == 0, rep.stderr[-1500:]
    md = (tmp_path / "report" / "report.md").read_text()
    figs = {p.name for p in (tmp_path / "report" / "figures").iterdir()}
    assert {"inference-batch.png", "inference-energy-accuracy.png", "pareto-energy-quality.png"} <= figs, figs
    assert "J/inference vs accuracy" in md and "latency and throughput vs batch" in md
    assert "mean embedding cosine to the source" in md
    html = (tmp_path / "report" / "report.html").read_text()
    assert 'id="inference"' in html and 'id="tradeoffs"' in html
