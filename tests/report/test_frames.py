"""``edgeprof.load`` / ``load_samples`` / ``history``: pandas frames of the same records and traces,
with the documented (``-o csv``) columns, provenance kept, and pandas only imported on use."""
from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

import edgeprof
from edgeprof.results.history import index_run, load_run
from edgeprof.results.jsonl import RunError
from edgeprof.results.printers import to_csv
from edgeprof.results.samples import samples_path, tokens_path


pd = pytest.importorskip("pandas")
ROOT = Path(__file__).resolve().parents[2]


def test_load_has_one_row_per_case_and_the_csv_columns(matrix_run):
    recs = load_run(matrix_run)["records"]
    df = edgeprof.load(matrix_run)
    assert len(df) == len(recs) == 6
    header = next(csv.reader(io.StringIO(to_csv(recs))))
    assert list(df.columns) == ["run_dir"] + header
    for col in ("case_id", "artifact.quant", "artifact.size_bytes", "runtime.placement.threads",
                "metrics.ttft_ms.median", "metrics.decode_tokens_per_s.median",
                "metrics.energy_per_token_j.provenance.kind", "artifact.quality.perplexity_ratio"):
        assert col in df.columns, col
    row = df.set_index("artifact.quant").loc["q4_k_m"]
    rec = next(r for r in recs if r.artifact.quant == "q4_k_m")
    assert row["metrics.decode_tokens_per_s.median"] == pytest.approx(rec.value("decode_tokens_per_s"))
    assert row["metrics.energy_per_token_j.provenance.kind"] == "estimated"
    assert pd.api.types.is_float_dtype(df["metrics.ttft_ms.median"])


def test_load_of_several_runs_and_of_a_records_file(matrix_run, suite_run):
    both = edgeprof.load(matrix_run, suite_run / "records.jsonl")
    assert len(both) == 6 + len(load_run(suite_run)["records"])
    assert set(both["run_dir"]) == {str(matrix_run), str(suite_run)}
    assert set(both["workload.suite"].dropna()) == {"localscore"}
    with pytest.raises(RunError, match="no such run directory"):
        edgeprof.load(matrix_run / "nope")


def test_load_samples_counts_and_provenance(matrix_run):
    df = edgeprof.load_samples(matrix_run)
    for r in load_run(matrix_run)["records"]:
        with open(samples_path(matrix_run, r.case_id)) as fh:
            n = sum(1 for _ in fh) - 1
        assert (df["case_id"] == r.case_id).sum() == n
        part = df[df["case_id"] == r.case_id]
        assert part["t_s"].iloc[0] == 0 and part["t_ns"].is_monotonic_increasing
    prov = df.attrs["columns"]
    assert prov["cpu:power_estimate.power_w"]["kind"] == "estimated"
    assert prov["worker:rss.rss_bytes"]["kind"] == "measured"
    assert edgeprof.load_samples(matrix_run, tokens=True).empty  # this run wrote no token timeline


def test_load_samples_tokens(suite_run):
    df = edgeprof.load_samples(suite_run, tokens=True)
    recs = load_run(suite_run)["records"]
    for r in recs:
        with open(tokens_path(suite_run, r.case_id)) as fh:
            assert (df["case_id"] == r.case_id).sum() == sum(1 for _ in fh) - 1
    assert {"t_ns", "rep", "itl_ms"} <= set(df.columns)


def test_history_frame(matrix_run, suite_run, tmp_path):
    db = tmp_path / "history.sqlite"
    with pytest.raises(RunError, match="no history database"):
        edgeprof.history(db)
    index_run(matrix_run, db)
    index_run(suite_run, db)
    df = edgeprof.history(db)
    assert len(df) == 6 + len(load_run(suite_run)["records"])
    assert {"run_id", "case_id", "quant", "decode_tokens_per_s", "run_dir"} <= set(df.columns)
    assert "json" not in df.columns
    full = edgeprof.history(db, records=True)
    assert "record.metrics.ttft_ms.median" in full.columns
    q = full.set_index("quant").loc["q8_0"]
    assert q["decode_tokens_per_s"] == pytest.approx(q["record.metrics.decode_tokens_per_s.median"])


def test_import_edgeprof_stays_light():
    code = ("import sys, edgeprof; assert 'pandas' not in sys.modules and 'matplotlib' not in sys.modules; "
            "assert callable(edgeprof.load); print(sorted(m for m in sys.modules if m.startswith('edgeprof')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "edgeprof.results.frames" in out.stdout and "pandas" not in out.stdout


def test_a_missing_extra_is_one_line_with_the_pip_command(matrix_run):
    # pandas made unimportable the way Python does for a missing module (None in sys.modules)
    code = (f"import sys; sys.modules['pandas'] = None; import edgeprof\n"
            f"try:\n    edgeprof.load({str(matrix_run)!r})\n"
            f"except ImportError as e:\n    print(type(e).__name__, e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == ("MissingExtra edgeprof.load needs pandas, which is not installed: "
                                  "pip install 'edgeprof[report]'")
