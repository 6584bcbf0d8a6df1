"""History index through a real SQLite file; reference add/list commands; import cost."""
from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from refdata import make_record, noisy, write_run

from edgeprof.compare import paired as cmp
from edgeprof.compare.verdicts import margins
from edgeprof.results import history
from edgeprof.commands import reference as refcmd

ROOT = Path(__file__).resolve().parents[2]


def test_round_trip(tmp_path):
    db = tmp_path / "h.sqlite"
    recs = [make_record(run_id="20261123-abc", decode=[100.0, 101.0]), make_record(run_id="20261123-abc", p=512)]
    run = write_run(tmp_path / "runs" / "first", recs)
    assert history.index_run(run, db) == "20261123-abc"
    assert history.index_run(run, db) == "20261123-abc"  # re-index replaces, no duplicates
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 2
        row = con.execute("SELECT host, device, dir FROM runs").fetchone()
        assert row[0] == "hostA" and row[1] == "cpu0:test" and row[2] == str(run.resolve())
        assert con.execute("SELECT decode_tokens_per_s FROM records WHERE prompt_tokens=128").fetchone()[0] == 100.5
    assert history.find_run("20261123-abc", db) == run.resolve()
    assert history.find_run("20261123", db) == run.resolve()  # unique prefix
    assert history.find_run("first", db) == run.resolve()  # directory name
    assert history.find_run("nope", db) is None
    assert history.run_records("20261123-abc", db)[0].workload.prompt_tokens == 128
    assert [r["run_id"] for r in history.list_runs(db)] == ["20261123-abc"]
    # compare resolves a run_id through the history
    side = cmp.load_side("20261123-abc", db)
    assert side.kind == "history" and len(side.records) == 2


def test_errors(tmp_path):
    with pytest.raises(history.RunError, match="no such run directory"):
        history.index_run(tmp_path / "missing", tmp_path / "h.sqlite")
    (tmp_path / "bad").mkdir()
    good = json.dumps(make_record().to_dict())
    (tmp_path / "bad" / "records.jsonl").write_text(good + "\n{not json\n" + good + "\n")
    with pytest.raises(history.RunError, match="records.jsonl:2: invalid record"):  # damage in the middle
        history.load_run(tmp_path / "bad")
    (tmp_path / "bad" / "records.jsonl").write_text(good + "\n" + good[:40])  # a write cut short
    with pytest.warns(UserWarning, match="records.jsonl:2: last line is torn"):
        assert len(history.load_run(tmp_path / "bad")["records"]) == 1


def test_drift_margin_from_history(tmp_path):
    db = tmp_path / "h.sqlite"
    assert history.drift_margin(db) is None
    for i, speed in enumerate((100, 108, 95, 103)):
        recs = [make_record(run_id=f"r{i}", p=p, decode=noisy(speed * (1 + 0.01 * p / 128), seed=i))
                for p in (64, 128, 256)]
        history.index_run(write_run(tmp_path / f"r{i}", recs), db)
    margin, basis = history.drift_margin(db, host="hostA")
    assert 0.05 <= margin <= 0.5 and basis.startswith("measured")
    per_metric = margins(["decode_tokens_per_s", "peak_rss_bytes"], db_path=db, host="hostA")
    assert per_metric["decode_tokens_per_s"] == (margin, basis)
    # the history holds no RSS: memory keeps its own stated margin, never decode speed's drift
    assert per_metric["peak_rss_bytes"][0] == 0.02 and per_metric["peak_rss_bytes"][1].startswith("stated 2 %")
    assert margins(["decode_tokens_per_s"], db_path=tmp_path / "none.sqlite")["decode_tokens_per_s"][0] == 0.20


def _ref(argv):
    from edgeprof.cli import main

    return main(["reference", *argv])


def test_reference_add_list_show(tmp_path, home, capsys):
    run = write_run(tmp_path / "srv", [make_record(quant="f16", decode=[1000.0], device_name="NVIDIA H100 80GB HBM3",
                                                   kind="nvidia")])
    assert _ref(["add", str(run), "--name", "my-h100"]) == 0
    assert (home / "reference" / "my-h100" / "records.jsonl").is_file()
    meta = json.loads((home / "reference" / "my-h100" / "reference.json").read_text())
    assert meta["verification_status"] == "MEASURED" and "NVIDIA H100" in meta["source"]
    assert _ref(["add", str(run), "--name", "my-h100"]) == 2  # exists, needs --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert _ref(["add", str(run), "--name", "my-h100", "--overwrite"]) == 0
    capsys.readouterr()
    assert _ref(["list", "-o", "json"]) == 0
    names = {r["name"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert names["my-h100"]["origin"] == "user"
    assert names["efficientllm-gh200"]["verification"] == "UNVERIFIED-SECONDARY"
    assert _ref(["show", "my-h100", "-o", "csv"]) == 0 and "decode_tokens_per_s" in capsys.readouterr().out
    assert _ref(["show", "missing"]) == 2 and "unknown reference set" in capsys.readouterr().err
    # a run compared with a reference set by name
    edge = write_run(tmp_path / "edge", [make_record(quant="q4_k_m", decode=noisy(100))])
    res = cmp.compare(cmp.load_side(str(edge)), cmp.load_side("my-h100"))
    assert res.rows[0].verdict == "faster" and res.rows[0].ratio_b_over_a > 9


def test_modules_import_no_heavy_libraries():
    code = ("import sys, edgeprof.compare.reference, edgeprof.compare.paired, edgeprof.results.history, "
            "edgeprof.analysis.roofline, edgeprof.analysis.specs, edgeprof.analysis.latency_model, devices.probe\n"
            "bad = [m for m in ('numpy', 'torch', 'llama_cpp', 'onnxruntime', 'platformdirs') if m in sys.modules]\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]", out.stderr
