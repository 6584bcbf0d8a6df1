"""End to end on the real packaged SmolLM2 GGUF through a real llama.cpp: the CLI, the record
schema of CONTRACTS.md, provenance, sweeps, no prompt-cache reuse and a quiet parent."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def run_cli(*args: str, env_home: Path, cwd: Path) -> subprocess.CompletedProcess:
    import os

    env = dict(os.environ, EDGEPROF_HOME=str(env_home))
    return subprocess.run([sys.executable, "-m", "edgeprof", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory, smollm2_gguf, machine_probe):
    """One real sweep shared by the assertions below: -p 16,96 x -n 8 (4 repetitions each), on one
    thread: llama.cpp's two threads spin at barriers and collapse when CI shares the cores."""
    out = tmp_path_factory.mktemp("run") / "r"
    home = machine_probe.seed(tmp_path_factory.mktemp("home"))  # no 30-90 s hardware probe first
    proc = run_cli("bench", str(smollm2_gguf), "-p", "16,96", "-n", "8", "--reps", "4", "--min-seconds", "0",
                   "--idle-seconds", "0.5", "-t", "1", "--out", str(out), "-o", "json", env_home=home, cwd=out.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, json.loads(proc.stdout)


REQUIRED_TOP = ("schema_version", "case_id", "run_id", "host", "started_at", "status", "error", "model",
                "artifact", "runtime", "device", "workload", "metrics", "phases", "throttled",
                "harness_cpu_s", "idle_window_s", "idle_power_w")
REQUIRED_METRICS = ("ttft_ms", "tpot_ms", "e2e_ms", "prefill_tokens_per_s", "decode_tokens_per_s",
                    "peak_rss_bytes", "avg_rss_bytes", "memory_utilization", "cpu_busy_ratio", "avg_power_w",
                    "idle_power_w", "energy_gross_j", "energy_net_j", "energy_per_token_j",
                    "prefill_energy_per_token_j", "decode_energy_per_token_j", "compression_rate")


def test_records_follow_the_contract(sweep):
    out, printed = sweep
    lines = (out / "records.jsonl").read_text().splitlines()
    records = [json.loads(x) for x in lines]
    assert len(records) == 2 and printed == records
    for r in records:
        for k in REQUIRED_TOP:
            assert k in r, k
        assert r["schema_version"] == 1 and r["status"] == "ok" and r["error"] is None
        assert r["model"]["id"] == "smollm2-135m-instruct" and r["model"]["params"] == 134515008
        assert r["artifact"]["format"] == "gguf" and r["artifact"]["quant"] == "q4_1"
        assert r["artifact"]["sha256"] == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
        pl = r["runtime"]["placement"]
        assert r["runtime"]["name"] == "llama.cpp" and pl["threads"] == 1
        assert pl["flash_attn"] in ("on", "off")  # "auto" is always recorded resolved
        assert pl["n_batch"] == 2048 and pl["n_ubatch"] == 512
        assert r["device"]["kind"] == "cpu" and r["device"]["memory_bytes"] > 0
        assert r["workload"]["gen_tokens"] == 8 and r["workload"]["n_seqs"] == 1
        for name in REQUIRED_METRICS:
            m = r["metrics"][name]
            assert set(m) >= {"value", "unit", "n", "median", "p90", "cv", "ci95", "samples", "provenance"}, name
            assert m["provenance"]["kind"] in ("measured", "estimated", "derived", "spec", "reference")
            assert m["provenance"]["source"], name
        assert r["metrics"]["decode_tokens_per_s"]["n"] == 4
        assert len(r["reps"]) == 4 and all(rep["n_generated"] == 8 for rep in r["reps"])
        assert {p["name"] for p in r["phases"]} >= {"load", "prefill", "decode", "repetition"}


def test_energy_on_this_machine_is_labelled_estimated(sweep):
    out, records = sweep
    for r in records:
        for name in ("energy_per_token_j", "avg_power_w", "energy_gross_j"):
            prov = r["metrics"][name]["provenance"]
            assert prov["kind"] == "estimated" and prov["source"] == "tdp_model", prov
            assert "ESTIMATE" in prov["note"]
        gross, net = r["metrics"]["energy_gross_j"]["median"], r["metrics"]["energy_net_j"]["median"]
        assert gross > 0 and net < gross
    base = json.loads((out / "baseline.json").read_text())
    assert base["idle_power_w"] > 0 and base["idle_window_s"] >= 0.5


def test_process_energy_rests_on_the_workers_clock_and_the_busy_time(sweep):
    """process_energy_j takes the worker's CPU time at the repetitions' edges (its own clock) over
    cpu:busy_time from /proc/stat (read after the last repetition by the flush), never the mean
    utilization x cores stand-in; sampled figures name the readings' own sources."""
    out, records = sweep
    for r in records:
        p = r["metrics"]["process_energy_j"]["provenance"]
        assert (p["kind"], p["scope"]) == ("estimated", "process")
        assert p["cpu_share"]["basis"] == ("the worker's CPU clock at the repetitions' edges / cpu:busy_time "
                                           "(busy CPU-seconds from /proc/stat)")
        assert 0 < p["cpu_share"]["share"] <= 1
        assert all(len(rep["worker_cpu_s"]) == 2 and rep["worker_cpu_s"][1] > rep["worker_cpu_s"][0]
                   for rep in r["reps"])
        assert r["metrics"]["cpu_busy_ratio"]["provenance"]["source"] == "/proc/stat"
        assert r["metrics"]["avg_rss_bytes"]["provenance"]["source"].startswith("procfs /proc/<pid>/stat")
    rows = list(csv.DictReader(next(p for p in (out / "samples").glob("*.csv") if "tokens" not in p.name).open()))
    assert sum(1 for x in rows if x.get("cpu:busy_time.cpu_time_s")) >= 3
    assert "worker.rss_bytes" not in rows[0]  # the worker gone at the flush: an empty worker:rss, no stray column
    from edgeprof.results.samples import read_trace

    for r in records:   # every column labelled: env.json for the sensors, <case>.columns.json for the rest
        tr = read_trace(out / "samples" / f"{r['case_id']}.csv", json.loads((out / "env.json").read_text()))
        assert [c.name for c in tr.columns if c.kind == "unlabelled"] == []
        busy = tr.column("cpu:busy_time.cpu_time_s")
        assert (busy.kind, busy.source, busy.scope) == ("measured", "/proc/stat", "system")
        assert tr.column("worker:cpu_time.cpu_time_s").source.startswith("procfs /proc/<pid>/stat")


def test_prefill_grows_with_prompt_length_and_is_never_cached(sweep):
    _, records = sweep
    by_p = {r["workload"]["prompt_tokens"]: r for r in records}
    short = by_p[16]["metrics"]["ttft_ms"]["samples"]
    long = by_p[96]["metrics"]["ttft_ms"]["samples"]
    # every repetition re-evaluates the prompt: no sample is near zero (a cached prefix would be)
    assert min(short) > 1.0 and min(long) > 1.0
    import statistics

    assert statistics.median(long) > 1.5 * statistics.median(short), (short, long)  # 6x the tokens
    for r in records:  # the engine's own counters saw exactly the prompt, every repetition
        assert all(rep["perf"]["n_p_eval"] == r["workload"]["prompt_tokens"] for rep in r["reps"])


def test_parent_stays_quiet(sweep):
    _, records = sweep
    for r in records:
        assert 0 <= r["harness_cpu_s"] < 0.25 * r["case_wall_s"], (r["harness_cpu_s"], r["case_wall_s"])


def test_run_directory_holds_plan_env_and_samples(sweep):
    out, records = sweep
    plan = json.loads((out / "plan.json").read_text())
    assert [c["case_id"] for c in plan["cases"]] == [r["case_id"] for r in records]
    env = json.loads((out / "env.json").read_text())
    assert env["versions"]["llama-cpp-python"] and "isa_flags" in env["device"]
    for r in records:
        with open(out / "samples" / f"{r['case_id']}.csv") as f:
            rows = list(csv.DictReader(f))
        assert len(rows) >= 3 and "worker:rss.rss_bytes" in rows[0] and "t_ns" in rows[0]
        ts = [int(x["t_ns"]) for x in rows]
        assert ts == sorted(ts)
        with open(out / "samples" / f"{r['case_id']}.tokens.csv") as f:
            toks = list(csv.DictReader(f))
        assert len(toks) == 4 * 7 == r["metrics"]["itl_ms"]["n"]  # every decoded token (the first is prefill's)
        # the timeline is on the sampler's clock: every token falls inside the sampled window
        assert ts[0] <= min(int(t["t_ns"]) for t in toks) and max(int(t["t_ns"]) for t in toks) <= ts[-1]
        load = r["load"]
        assert load["status"] in ("quiet", "contended") and load["during"]["logical_cores"] >= 1
        assert load["during"]["worker_cpu_cores"] > 0 and load["before"]["window_s"] >= 0.5


def test_markdown_and_csv_printers(sweep, tmp_path):
    out, _ = sweep
    from edgeprof.results.jsonl import read_records
    from edgeprof.results.printers import render

    recs = list(read_records(out / "records.jsonl"))
    md = render(recs, "md")
    lines = md.splitlines()
    assert lines[0].startswith("Machine load (") and lines[2].startswith("| model |") and "| machine |" in lines[2]
    assert "~" in md and "estimated" in md
    assert len([x for x in md.splitlines() if x.startswith("| smollm2")]) == 2
    rows = list(csv.DictReader(render(recs, "csv").splitlines()))
    assert rows[0]["artifact.quant"] == "q4_1" and float(rows[0]["metrics.ttft_ms.median"]) > 0
    assert rows[0]["runtime.placement.threads"] == "1"
