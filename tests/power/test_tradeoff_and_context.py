"""The power trade-off (front, pick for efficiency, knee, ties) and the context rules of compare,
on records whose figures are set by hand so that each rule is checked exactly."""
from __future__ import annotations

from edgeprof.analysis.tradeoff import tradeoffs
from edgeprof.compare.context import HELD, gated, pair_context
from edgeprof.compare.paired import Side, compare
from edgeprof.results.runctx import context_of, legend_lines, power_differences
from edgeprof.results.schema import Record


def metric(value: float, unit: str, spread: float = 0.01, n: int = 5) -> dict:
    samples = [value * (1 + spread * (i - 2) / 2) for i in range(n)]
    return {"value": value, "median": value, "unit": unit, "n": n, "samples": samples,
            "ci95": [value * (1 - spread), value * (1 + spread)], "provenance": {"kind": "measured", "source": "x"}}


def row(mode: str, tok_s: float, j_tok: float, gpu_mhz: float = 918.0, case: str = "", ttft: float = 100.0,
        spread: float = 0.01) -> Record:
    return Record.from_dict({
        "case_id": case or f"case-{mode}", "status": "ok", "model": {"id": "m"},
        "artifact": {"sha256": "s", "quant": "q4_1", "format": "gguf"}, "runtime": {"name": "llama.cpp"},
        "device": {"id": "jetson0"}, "workload": {"prompt_tokens": 16, "gen_tokens": 8, "depth": 0, "n_seqs": 1},
        "metrics": {"decode_tokens_per_s": metric(tok_s, "tok/s", spread), "energy_per_token_j": metric(j_tok, "J", spread),
                    "ttft_ms": metric(ttft, "ms", spread)},
        "power": {"power_mode": mode},
        "context": {"fields": {"power_mode": mode, "gpu_max_mhz": float(gpu_mhz), "temp_c.cpu-thermal": 48.5},
                    "runtime_build": {"runtime": "llama.cpp", "binding": "llama-cpp-python 0.3.36", "backend": "cpu"}}})


def test_front_efficiency_pick_and_knee():
    # smolhub-like shape: 25W nearly as fast as MAXN and more tok/J; 15W most efficient but slow
    recs = [row("15W", 100, 0.030, 612), row("25W", 150, 0.035, 918), row("MAXN_SUPER", 160, 0.045, 1020),
            row("7W", 60, 0.032, 408)]
    (t,) = tradeoffs(recs)
    labels = [t.points[i].label for i in t.front]
    assert labels == ["power_mode=15W", "power_mode=25W", "power_mode=MAXN_SUPER"]   # 7W is dominated by 15W
    assert t.efficient == ("power_mode=15W",)
    assert t.knee == ("power_mode=25W",)             # 150 >= 0.9 x 160 and more tok/J than MAXN_SUPER
    text = "\n".join(t.lines())
    assert "pick for efficiency: power_mode=15W (100 tok/s, 33.3 tok/J)" in text
    assert "knee (most tok/J within 10 % of the best tok/s): power_mode=25W" in text


def test_overlapping_intervals_are_a_tie_not_a_pick():
    recs = [row("15W", 100, 0.0300, spread=0.05), row("25W", 101, 0.0302, spread=0.05)]
    (t,) = tradeoffs(recs)
    assert set(t.efficient) == {"power_mode=15W", "power_mode=25W"}
    assert "a tie between" in "\n".join(t.lines())


def test_no_tradeoff_without_a_power_sweep():
    plain = Record.from_dict({**row("15W", 1, 1).to_dict(), "power": None})
    assert tradeoffs([plain, plain]) == [] and tradeoffs([row("15W", 1, 1)]) == []


def test_context_differences_and_gate():
    a, b = row("15W", 100, 0.03, 612), row("25W", 150, 0.035, 918)
    assert power_differences(a, b) == {"setting.power_mode": ("15W", "25W"), "gpu_max_mhz": (612.0, 918.0),
                                       "power_mode": ("15W", "25W")}
    assert power_differences(a, row("15W", 99, 0.03, 612, case="other")) == {}    # temperatures are no setting
    text = pair_context(a, b)
    assert text.startswith("setting power_mode 15W -> 25W") and "GPU max MHz 612.0 -> 918.0" in text
    assert gated("faster", text, allow=False) == HELD
    assert gated("faster", text, allow=True).startswith("faster (power context differs")
    assert gated("faster", None, allow=False) == "faster"
    assert context_of(a).summary().startswith("power mode 15W, GPU max MHz 612.0; start 48.5 C; llama.cpp")
    assert len(legend_lines([a, b])) == 2


def test_compare_names_the_difference_and_withholds_every_verdict():
    a, b = Side("A", "run", [row("15W", 100, 0.03, 612)]), Side("B", "run", [row("25W", 150, 0.035, 918)])
    res = compare(a, b, margin=0.1)
    assert list(res.context) == [pair_context(a.records[0], b.records[0])]
    assert res.rows and all(r.verdict == HELD for r in res.rows)
    allowed = compare(a, b, margin=0.1, allow_context_mismatch=True)
    assert not any(r.verdict == HELD for r in allowed.rows)
    assert any(r.verdict.startswith("faster") for r in allowed.rows)


def test_two_devices_name_their_contexts_without_withholding():
    from dataclasses import replace

    a = row("15W", 100, 0.03, 612)
    b = replace(row("25W", 150, 0.035, 918), device=replace(a.device, id="cpu0:laptop"))
    res = compare(Side("A", "run", [a]), Side("B", "run", [b]), margin=0.1)
    assert list(res.context) == [] and list(res.context_other_devices) == [pair_context(a, b)]
    assert not any(r.verdict == HELD for r in res.rows)
