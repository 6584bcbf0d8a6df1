"""``benchmarks/whatif_holdout.py`` on the packaged LocalScore set: leaving each device class out,
the 80 % intervals hold about 80 % of its rows — not fewer (overconfident) and not nearly all of
them (merely wide). The floors are below the figures the benchmark prints (docs/benchmarks.md) by
a margin for a changed table, not a measure of speed: no timing is asserted here."""
from __future__ import annotations

import importlib.util
from pathlib import Path

from edgeprof.analysis import holdout

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "whatif_holdout.py"


def _script():
    spec = importlib.util.spec_from_file_location("whatif_holdout", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_holdout_coverage_is_near_nominal(capsys):
    mod = _script()
    rows = mod.packaged_rows()
    assert len(rows.rows) > 900 and sum(1 for r in rows.rows if rows.classes[r.class_id].bandwidth_gbs) > 600
    dec = holdout.run(rows.classes, rows.rows, 0.8, "decode")
    assert len(dec.classes) >= 90 and dec.n >= 600
    assert 0.75 <= dec.coverage <= 0.92, dec.coverage          # near the nominal 80 %
    assert dec.median_abs_pct_error < 30 and dec.median_width_pct < 130
    pre = holdout.run(rows.classes, rows.rows, 0.8, "prefill")
    assert 0.75 <= pre.coverage <= 0.93, pre.coverage
    size = holdout.run_sizes(rows.classes, rows.rows, 0.8)
    assert 0.75 <= size.coverage <= 0.92 and size.median_abs_pct_error < 15
    # the script prints the same figures it is quoted for
    assert mod.main([]) == 0
    out = capsys.readouterr().out
    assert f"| **all ({len(dec.classes)} classes)** | {dec.n} | {dec.coverage:.0%} | 80% |" in out
