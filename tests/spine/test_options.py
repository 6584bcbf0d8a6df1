"""The command-line rules of CONTRACTS "CLI conventions" hold on the one options object: every
rejected flag exits 2 with one line before any file is written; NaN never reaches JSON; the
metric catalogue drives the table header and compare's directions."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edgeprof.engine.config import Settings
from edgeprof.errors import UsageError
from edgeprof.results import metric_catalogue
from edgeprof.results.jsonl import append_record, read_records
from edgeprof.results.schema import Metric, Provenance, Record

ROOT = Path(__file__).resolve().parents[2]

BAD = [
    (["-t", "0"], "-t"), (["--reps", "0"], "--reps"), (["--sample-hz", "nan"], "finite"),
    (["--sample-hz", "inf"], "finite"), (["--sample-hz", "-1"], "--sample-hz"), (["-p", "abc"], "integers"),
    (["-p", "-5"], "-p"), (["--timeout", "0"], "--timeout"), (["--n-batch", "0"], "--n-batch"),
    (["--max-rss", "0"], "--max-rss"), (["--max-rss", "lots"], "size in bytes"), (["--cpu-tdp-w", "-3"], "--cpu-tdp-w"),
    (["--min-seconds", "nan"], "finite"), (["--flash-attn", "maybe"], "on, off, auto"), (["-p", "0", "-n", "0"],
                                                                                          "measures nothing"),
    (["--retry-failed"], "--resume"), (["-o", "xml"], "expected one of"), (["--warmup", "-1"], "--warmup"),
    (["--allow-degraded"], "--export"),
]


def _bench(args, tmp_path, env_extra=None):
    env = dict(os.environ, EDGEPROF_HOME=str(tmp_path / "home"), **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "edgeprof", "bench", *args, "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)


@pytest.mark.parametrize("args, needle", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_each_bad_flag_is_one_line_exit_2_and_no_run_directory(tmp_path, args, needle):
    p = _bench(args, tmp_path)
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert p.returncode == 2, p.stderr
    assert len(lines) == 1 and needle in lines[0] and "Traceback" not in p.stderr, p.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "edgeprof-runs").exists()


def test_resume_with_model_arguments_and_a_missing_sysroot_are_refused(tmp_path):
    p = _bench(["--resume", str(tmp_path), "model.gguf"], tmp_path)
    assert p.returncode == 2 and "drop MODEL" in p.stderr
    p = _bench([], tmp_path, {"EDGEPROF_SYSROOT": str(tmp_path / "nowhere")})
    assert p.returncode == 2 and "EDGEPROF_SYSROOT" in p.stderr and "not a directory" in p.stderr
    assert not (tmp_path / "out").exists()


def test_settings_from_a_hand_edited_plan_are_validated():
    with pytest.raises(UsageError, match="reps"):
        Settings(reps=0)
    with pytest.raises(UsageError, match="finite"):
        Settings(sample_hz=math.nan)
    assert Settings.from_dict({"reps": 3, "unknown_future_key": 1}).reps == 3


def test_nan_never_reaches_json(tmp_path):
    prov = Provenance("measured", "test")
    rec = Record("c1", metrics={"avg_power_w": Metric(math.nan, "W", prov, median=math.inf, samples=(1.0,))},
                 extra={"idle_power_w": math.nan})
    path = tmp_path / "records.jsonl"
    append_record(path, rec.to_dict())
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    back = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert back["idle_power_w"] is None and back["metrics"]["avg_power_w"]["median"] is None
    assert read_records(path)[0].case_id == "c1"


def test_the_catalogue_drives_the_table_and_compare(tmp_path):
    """A metric added to the catalogue appears as a Markdown column and is compared with the
    direction and words its row gives — nothing else changes."""
    from edgeprof.compare.paired import Side, compare
    from edgeprof.results.printers import markdown

    d = metric_catalogue.MetricDef("smiles_per_token", "smiles/token", "higher", "cost", "smiles/tok", digits=1)
    metric_catalogue.register(d, after="decode_tokens_per_s")
    try:
        def rec(v, host):
            xs = tuple(v * (1 + 0.001 * i) for i in range(8))
            m = Metric(xs[4], "smiles/token", Provenance("measured", "test"), n=8, median=xs[4], samples=xs)
            return Record.from_dict({"case_id": host, "host": host, "model": {"id": "m"},
                                     "workload": {"prompt_tokens": 8, "gen_tokens": 8, "depth": 0, "n_seqs": 1},
                                     "artifact": {"format": "gguf", "quant": "q4_1"}}).with_metrics(
                {"smiles_per_token": m})

        a, b = rec(10.0, "a"), rec(20.0, "b")
        header = markdown([a]).splitlines()[0]
        assert "smiles/tok" in header and header.index("smiles/tok") > header.index("quant")
        row = next(r for r in compare(Side("A", "run", [a]), Side("B", "run", [b]), margin=0.05).rows
                   if r.metric == "smiles_per_token")
        assert row.verdict == "better (higher)"  # higher is better, and a "cost" row says better/worse
    finally:
        metric_catalogue.unregister("smiles_per_token")
    assert "smiles/tok" not in markdown([a]).splitlines()[0]
