"""Inter-token latency from a recorded token timeline (tests/fixtures/runs/q4_k_m: a real bench of
SmolLM2 q4_k_m on a busy 2-core machine, 5 repetitions x 31 decoded tokens)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from edgeprof.analysis.itl import TOKEN_COLUMNS, cluster_ci, itl_metric, token_rows
from edgeprof.analysis.metrics import timing_metrics
from edgeprof.engine.record import write_tokens_csv
from edgeprof.results.schema import Provenance, Repetition, Workload

RUN = Path(__file__).resolve().parents[1] / "fixtures" / "runs" / "q4_k_m"
WORKLOAD = Workload(prompt_tokens=32, gen_tokens=32, depth=0)


def recorded_reps() -> tuple[list[Repetition], list[dict]]:
    """Repetitions rebuilt from the recorded timeline: decode starts one latency before its
    first token; the latencies are the recorded per-token deltas in ns."""
    path = next((RUN / "samples").glob("*.tokens.csv"))
    rows = list(csv.DictReader(path.open()))
    reps = []
    for rep in sorted({int(r["rep"]) for r in rows}):
        mine = [r for r in rows if int(r["rep"]) == rep]
        t = [int(r["t_ns"]) for r in mine]
        deltas = [round(float(r["itl_ms"]) * 1e6) for r in mine]
        t0 = t[0] - deltas[0]
        reps.append(Repetition(rep=rep, prefill=(t0 - 10**8, t0), n_prefill=32, decode=(t0, t[-1]),
                               n_decode=len(mine), n_generated=len(mine) + 1, token_ns=tuple(deltas)))
    return reps, rows


def test_itl_distribution_covers_every_decoded_token():
    reps, rows = recorded_reps()
    lat = np.array([float(r["itl_ms"]) for r in rows])
    m = itl_metric(reps, Provenance("measured", "monotonic clock in the worker", "process"))
    assert m.n == len(rows) == 5 * 31
    assert m.median == pytest.approx(np.percentile(lat, 50), rel=1e-6)
    assert m.p90 == pytest.approx(np.percentile(lat, 90), rel=1e-6)
    assert m.p99 == pytest.approx(np.percentile(lat, 99), rel=1e-6)
    assert m.p99 > m.p90 > m.median  # a busy machine has a tail; one median per repetition hides it
    assert m.samples == () and m.extra["n_reps"] == 5
    lo, hi = m.ci95
    assert lo <= m.median <= hi


def test_itl_sits_beside_tpot_in_the_case_metrics():
    reps, _ = recorded_reps()
    out = timing_metrics(reps)
    assert out["itl_ms"].n == 155 and out["tpot_ms"].n == 5  # tokens vs per-repetition medians
    assert out["itl_ms"].p99 is not None and out["tpot_ms"].p99 is None  # p99 only where n allows (>= 20)


def test_cluster_interval_resamples_repetitions_not_tokens():
    # two repetitions at clearly different speeds: resampling whole repetitions spans both levels,
    # resampling tokens would pretend 200 independent values pin the median down
    slow, fast = [20.0 + 0.01 * i for i in range(100)], [10.0 + 0.01 * i for i in range(100)]
    lo, hi = cluster_ci([slow, fast])
    assert lo < 11.0 and hi > 19.0
    assert cluster_ci([slow]) is None  # one repetition: no interval, never a fake one


def test_timeline_file_round_trips_on_the_worker_clock(tmp_path):
    reps, rows = recorded_reps()
    out = tmp_path / "case.tokens.csv"
    assert write_tokens_csv(out, reps, WORKLOAD)
    written = list(csv.DictReader(out.open()))
    assert tuple(written[0].keys()) == TOKEN_COLUMNS
    assert [int(r["t_ns"]) for r in written] == [int(r["t_ns"]) for r in rows]  # exact ns, same clock
    assert [r["context_tokens"] for r in written] == [r["context_tokens"] for r in rows]
    assert int(written[0]["context_tokens"]) == 33  # 32 prompt tokens + the prefill's token in the cache
    assert not write_tokens_csv(tmp_path / "none.csv", [], WORKLOAD)  # prefill-only: no empty file
    # the report and edgeprof.load_samples read the same file: their per-token latencies are ours
    from edgeprof.results.samples import read_tokens
    from edgeprof.views.charts.series import itl_values

    assert itl_values(read_tokens(out)) == pytest.approx([float(r["itl_ms"]) for r in rows])


def test_decode_only_case_has_no_prefill_token_in_context():
    r = Repetition(rep=0, decode=(1000, 4000), n_decode=3, n_generated=3, token_ns=(1000, 1000, 1000))
    rows = list(token_rows([r], Workload(prompt_tokens=0, gen_tokens=3, depth=64)))
    assert [x[4] for x in rows] == [64, 65, 66] and [x[0] for x in rows] == [2000, 3000, 4000]
