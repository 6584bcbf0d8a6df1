"""--interleave: ABBA order over two plans, and pooling each side's repetitions per workload."""
from __future__ import annotations

import json

import pytest

from edgeprof.compare.paired import compare
from edgeprof.compare.interleave import interleaved_cases, pool


def _case(cid, threads):
    return {"case_id": cid, "artifact": {"model": {"id": "m"}}, "runtime": "llama.cpp",
            "placement": {"threads": threads}, "workload": {"prompt_tokens": 8, "gen_tokens": 4, "depth": 0, "n_seqs": 1},
            "device_id": "cpu0", "host": "h"}


def _rec(cid, threads, rates):
    return {"case_id": cid, "status": "ok", "model": {"id": "m"}, "artifact": {"format": "gguf", "quant": "q4_1"},
            "runtime": {"name": "llama.cpp", "placement": {"threads": threads}}, "device": {"id": "cpu0"}, "host": "h",
            "workload": {"prompt_tokens": 8, "gen_tokens": 4, "depth": 0, "n_seqs": 1},
            "metrics": {"decode_tokens_per_s": {"value": rates[0], "median": rates[0], "samples": rates,
                                                "unit": "tokens/s", "provenance": {"kind": "measured"}}}}


def test_abba_order_and_pooling(tmp_path):
    for name, t in (("a", 1), ("b", 2)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "plan.json").write_text(json.dumps({"cases": [_case(f"c{t}", t)]}))
    cases, _settings = interleaved_cases(str(tmp_path / "a"), str(tmp_path / "b"), pairs=4)
    assert [c["case_id"].rsplit("-", 1)[1] for c in cases] == ["A0", "B0", "B1", "A1", "A2", "B2", "B3", "A3"]
    recs = [_rec(c["case_id"], c["placement"]["threads"], [100.0 + i, 101.0 + i] if c["case_id"].endswith(("A0", "A1", "A2", "A3"))
                 else [110.0 + i, 111.0 + i]) for i, c in enumerate(cases)]
    from edgeprof.results.schema import as_records

    a, b = pool(as_records(recs), "A"), pool(as_records(recs), "B")
    assert len(a) == len(b) == 1 and a[0].get("interleaved_rounds") == 4
    assert a[0].metric("decode_tokens_per_s").n == 8
    from edgeprof.compare.paired import Side

    res = compare(Side("A", "run", a), Side("B", "run", b), margin=0.02, metrics=["decode_tokens_per_s"])
    row = res.rows[0]
    assert row.verdict == "faster" and row.ratio_b_over_a == pytest.approx(110.5 / 103.5, rel=0.05)
