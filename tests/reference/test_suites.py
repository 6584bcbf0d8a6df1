"""Workload suites: the published case lists exactly, random-token input on the real engine, the
LocalScore summary and score on a recorded suite run, and the command-line rules."""
from __future__ import annotations

import statistics
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from refdata import LOCALSCORE_CASES, suite_case

from edgeprof.analysis import suites
from edgeprof.engine.worker import context_size, workload_tokens
from edgeprof.results.schema import Workload

ROOT = Path(__file__).resolve().parents[2]


def test_localscore_is_the_published_case_list():
    s = suites.load("localscore")
    assert (s.name, s.version) == ("localscore", 1)
    assert [(w.prompt_tokens, w.gen_tokens, w.depth) for w in s.workloads()] == [(p, n, 0) for p, n in LOCALSCORE_CASES]
    for w in s.workloads():
        assert (w.suite, w.tokens, w.warmup, w.n_seqs) == ("localscore", "random", (1024, 16), 1)
        assert context_size(w) == max(w.prompt_tokens + w.gen_tokens, 1024 + 16) + 16  # prompt + gen (+ margin)
    assert s.summary["kind"] == "localscore"


def test_scoreboard_is_pp512_and_tg128():
    s = suites.load("llamacpp-scoreboard")
    assert [(w.prompt_tokens, w.gen_tokens, w.depth, w.warmup) for w in s.workloads()] == [
        (512, 0, 0, (512, 0)), (0, 128, 0, (0, 1))]
    assert s.labels == ("pp512", "tg128")


def test_plain_workloads_keep_their_case_ids():
    assert list(Workload(128, 128, 0, 1).to_dict()) == ["prompt_tokens", "gen_tokens", "depth", "n_seqs"]
    w = suites.load("localscore").workloads()[1]
    assert Workload.from_dict(w.to_dict()) == w


def test_random_tokens_on_the_real_engine(smollm2_gguf):
    from edgeprof.runtimes.base import Placement
    from edgeprof.runtimes.llamacpp import LlamaCppEngine

    e = LlamaCppEngine(str(smollm2_gguf), Placement(threads=1), 64)
    try:
        depth, prompt, seed = workload_tokens(e, "", 4, 16, "random", 1)
        assert e.bos is not None and depth[0] == e.bos  # BOS first, then random ids
        assert len(depth) == 4 and len(prompt) == 16 and all(0 <= t < e.n_vocab for t in depth + prompt + [seed])
        assert (depth, prompt, seed) == workload_tokens(e, "", 4, 16, "random", 1)  # seeded: every rep, every machine
        assert prompt != workload_tokens(e, "", 4, 16, "random", 2)[1]
        _, only_gen, start = workload_tokens(e, "", 0, 0, "random", 1)
        assert only_gen == [] and start == e.bos  # tg starts from BOS, as llama-bench
        text = workload_tokens(e, "The quick brown fox jumps over the lazy dog. " * 4, 0, 16)
        assert text[1] == e.tokenize("The quick brown fox jumps over the lazy dog. " * 4)[:16]
        with pytest.raises(ValueError, match="unknown workload token mode"):
            workload_tokens(e, "", 0, 4, "words")
    finally:
        e.close()


def _run(prefill_scale=1.0, drop=None, fail=None):
    out = []
    for i, (p, n) in enumerate(LOCALSCORE_CASES):
        if (p, n) == drop:
            continue
        r = suite_case(p, n, prefill=[prefill_scale * (1000 + 10 * i + d) for d in (-5, 0, 5)],
                       decode=[50.0 + i, 51.0 + i, 52.0 + i], ttft=[100.0 + i, 101.0 + i, 102.0 + i])
        out.append(replace(r, status="failed") if (p, n) == fail else r)
    return out


def test_localscore_summary_and_score_on_a_recorded_run():
    s = suites.load("localscore")
    [summary] = suites.summarize(s, _run())
    assert summary.ok and summary.workload.suite == "localscore" and summary.workload.prompt_tokens is None
    prompt = statistics.fmean(1000 + 10 * i for i in range(9))
    gen = statistics.fmean(51.0 + i for i in range(9))
    ttft = statistics.fmean(101.0 + i for i in range(9))
    assert summary.value("prefill_tokens_per_s") == pytest.approx(prompt)
    assert summary.value("decode_tokens_per_s") == pytest.approx(gen)
    assert summary.value("ttft_ms") == pytest.approx(ttft)
    assert summary.value("localscore") == pytest.approx(10 * (prompt * gen * 1000 / ttft) ** (1 / 3))
    for name in ("prefill_tokens_per_s", "decode_tokens_per_s", "ttft_ms", "localscore"):
        m = summary.metric(name)
        assert m.n == 3 and m.ci95[0] < m.value < m.ci95[1], name  # an interval from the repetitions
        assert m.provenance.kind == "derived" and "mean over 9 cases" in m.provenance.source
    assert summary.metric("decode_tokens_per_s").samples == pytest.approx([50 + 4.0, 51 + 4.0, 52 + 4.0])
    assert [c["label"] for c in summary.extra["summary"]["cases"]] == list(s.labels)
    faster = suites.summarize(s, _run(prefill_scale=8.0))[0].value("localscore")
    assert faster == pytest.approx(summary.value("localscore") * 2)  # cube root: 8× prompt speed = 2× score


@pytest.mark.parametrize("kw,missing", [({"drop": (4096, 256)}, "(4096,256)"),
                                        ({"fail": (16, 1536)}, "(16,1536) (failed)")])
def test_an_incomplete_suite_is_not_summarized(kw, missing):
    [summary] = suites.summarize(suites.load("localscore"), _run(**kw))
    assert summary.status == "failed" and not summary.metrics
    assert summary.error.kind == "incomplete_suite" and missing in summary.error.message
    assert "8 of 9 cases" in summary.error.message


def test_scoreboard_summary_picks_pp512_and_tg128():
    recs = [suite_case(512, 0, prefill=[300.0, 310.0], decode=None, ttft=None, suite="llamacpp-scoreboard"),
            suite_case(0, 128, prefill=None, decode=[90.0, 92.0], ttft=None, suite="llamacpp-scoreboard")]
    [s] = suites.summarize(suites.load("llamacpp-scoreboard"), recs)
    assert s.value("prefill_tokens_per_s") == pytest.approx(305.0) and s.value("decode_tokens_per_s") == 91.0
    assert "pp512" in s.metric("prefill_tokens_per_s").provenance.note


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "edgeprof", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=60, env={**__import__("os").environ, "PYTHONPATH": str(ROOT)})


def test_cli_rules(tmp_path):
    res = _cli("bench", "--suite", "localscore", "-p", "64", "--out", str(tmp_path / "r"), cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "drop -p" in res.stderr
    assert not (tmp_path / "r").exists()  # rejected before anything is written
    res = _cli("bench", "--suite", "localscor", cwd=tmp_path)
    assert res.returncode == 2 and "unknown suite 'localscor'" in res.stderr and "--list-suites" in res.stderr
    res = _cli("bench", "--list-suites", cwd=tmp_path)
    assert res.returncode == 0 and "| localscore | 1 | (1024,16), (4096,256)" in res.stdout
    assert "| llamacpp-scoreboard | 1 | pp512, tg128 |" in res.stdout
    res = _cli("bench", "--resume", str(tmp_path), "--suite", "localscore", cwd=tmp_path)
    assert res.returncode == 2 and "--suite" in res.stderr
