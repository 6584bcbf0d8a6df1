"""``edgeprof compare`` says only what it can support, in numbers people read (issue 20, items 3
and 18): held back means no verdict at all; an estimate is marked and never judged against a
measurement; no table before "nothing paired"; what differs is named (the workload too); two
artifacts of one run compare with each other."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from edgeprof.commands.compare import number
from edgeprof.compare import paired as cmp
from edgeprof.compare.verdicts import BUSY, MIXED, NOT_MEASURABLE, TOO_FEW
from edgeprof.results import metric_catalogue
from edgeprof.results.jsonl import read_records
from edgeprof.results.schema import Provenance

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "tests" / "fixtures" / "runs"
MATRIX = ROOT / "tests" / "fixtures" / "report" / "matrix"


def _cli(tmp: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, EDGEPROF_HOME=str(tmp / "home"), EDGEPROF_HISTORY=str(tmp / "h.sqlite"),
               PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "edgeprof", "compare", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_held_back_means_no_verdict_on_speed_and_energy(tmp_path):
    """Both runs were measured while other tenants held the cores: no speed, energy or power row
    may say anything, 'no detectable difference' included (it did, under a 'held back' header)."""
    res = cmp.compare(cmp.load_side(str(RUNS / "q8_0")), cmp.load_side(str(RUNS / "q4_k_m")),
                      db_path=tmp_path / "h.sqlite")
    assert res.busy
    for r in res.rows:
        d = metric_catalogue.get(r.metric)
        if d is not None and d.drift == "memory":
            continue
        assert r.verdict in (BUSY, NOT_MEASURABLE) or r.verdict.startswith(TOO_FEW), r


def test_an_estimate_is_marked_and_never_judged_against_a_measurement(tmp_path):
    a = read_records(RUNS / "q8_0" / "records.jsonl")
    b = read_records(RUNS / "q4_k_m" / "records.jsonl")
    quiet = {"status": "quiet", "before_status": "quiet", "during_status": "quiet"}
    a, b = [r.with_extra(load=quiet) for r in a], [r.with_extra(load=quiet) for r in b]
    res = cmp.compare(cmp.Side("A", "run", a), cmp.Side("B", "run", b), metrics=["avg_power_w"],
                      db_path=tmp_path / "h.sqlite")
    [row] = res.rows
    assert row.estimated == "A, B" and row.verdict != MIXED
    m = b[0].metric("avg_power_w")
    measured = replace(m, provenance=Provenance("measured", "rapl", "cpu_package"))
    b2 = [b[0].with_metrics({"avg_power_w": measured})]
    [row] = cmp.compare(cmp.Side("A", "run", a), cmp.Side("B", "run", b2), metrics=["avg_power_w"],
                        db_path=tmp_path / "h.sqlite").rows
    assert row.estimated == "A" and row.verdict == MIXED


def test_the_markdown_marks_estimates_and_reads_like_a_table(tmp_path):
    proc = _cli(tmp_path, str(RUNS / "q8_0"), str(RUNS / "q4_k_m"))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    rows = {line.split("|")[2].strip(): [c.strip() for c in line.split("|")[1:-1]]
            for line in out.splitlines() if line.startswith("| smollm2")}
    assert rows["avg_power_w"][3].startswith("~") and rows["avg_power_w"][4].startswith("~")
    assert rows["peak_rss_bytes"][2:5] == ["MiB", "209.9", "180.6"]
    assert "~ estimated median" in out
    assert "e+" not in out.split("margins:")[0] and "e-" not in out.split("margins:")[0]


def test_numbers_people_read():
    assert number(1.743e8, "B") == ("166.2", "MiB")
    assert number(-1.776e-15, "J") == ("0", "J")
    assert number(12345.6, "tokens/s") == ("12,346", "tokens/s")
    assert number(0.0123, "J/token") == ("0.0123", "J/token")
    assert number(None, "ms") == ("n/a", "ms")


def test_no_common_workload_is_one_error_and_no_table(tmp_path):
    proc = _cli(tmp_path, str(RUNS / "same-A"), str(RUNS / "q4_k_m"))
    assert proc.returncode == 1 and proc.stdout == ""
    [line] = proc.stderr.strip().splitlines()
    assert line.startswith("edgeprof: error: A and B share no workload") and "pp16+tg16" in line and "pp32+tg32" in line


def test_the_same_configuration_is_said_plainly(tmp_path):
    proc = _cli(tmp_path, str(RUNS / "same-A"), str(RUNS / "same-B"))
    assert "compared (what differs): nothing but the run" in proc.stdout and "repeatability" in proc.stdout
    assert "none (same configuration)" not in proc.stdout


def test_a_different_workload_is_what_differs():
    base = read_records(RUNS / "same-A" / "records.jsonl")[0]
    longer = replace(base, workload=replace(base.workload, prompt_tokens=32, gen_tokens=256))
    assert base.workload.label == "pp16+tg16" and longer.workload.label == "pp32+tg256"
    assert cmp.difference(base, longer) == "workload: pp16+tg16 -> pp32+tg256"
    assert cmp.difference(base, base) == cmp.SAME


def test_two_artifacts_of_one_run(tmp_path):
    proc = _cli(tmp_path, str(MATRIX), "--a-where", "quant=q4_k_m", "--b-where", "quant=int4", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout)
    assert res["a"].endswith("[quant=q4_k_m]") and res["b"].endswith("[quant=int4]")
    assert res["axes"].startswith("format: gguf -> onnx; quant: q4_k_m -> int4; runtime: llama.cpp -> onnxruntime")
    assert {r["metric"] for r in res["rows"]} >= {"decode_tokens_per_s", "peak_rss_bytes"}
    bad = _cli(tmp_path, str(MATRIX))
    assert bad.returncode == 2 and "one run against itself compares nothing" in bad.stderr
    none = _cli(tmp_path, str(MATRIX), "--a-where", "quant=q9", "--b-where", "quant=int4")
    assert none.returncode == 2 and "its rows have quant: f16, fp32, int4, q4_0, q4_k_m, q8_0" in none.stderr


@pytest.mark.parametrize("where", ["quant", "=x"])
def test_a_malformed_filter_is_one_line(tmp_path, where):
    proc = _cli(tmp_path, str(MATRIX), "--a-where", where, "--b-where", "quant=int4")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "KEY=VALUE" in proc.stderr


def test_csv_keeps_byte_counts_whole(tmp_path):
    proc = _cli(tmp_path, str(RUNS / "q8_0"), str(RUNS / "q4_k_m"), "-o", "csv")
    assert proc.returncode == 0, proc.stderr
    [rss] = [line for line in proc.stdout.splitlines() if ",peak_rss_bytes," in line]
    assert ",220082176,189321216," in rss and "e+" not in rss
