"""A report of many cases stays quick and readable (issue 21 item 10): per-case figures are drawn
for a bounded number of cases — one per configuration first — with a line naming the rest and the
command that draws them all; the Pareto front and the label placement keep their exact meaning
with linear-ish work (benchmarks/report_scaling.py times 250 vs 1,000 records)."""
from __future__ import annotations

import json
import math
import shutil

from hypothesis import given, settings, strategies as st

from edgeprof.analysis.tradeoff import dominates, pareto_front
from edgeprof.views.charts.series import case_label
from edgeprof.views.report import sections
from edgeprof.views.report.data import case_views, open_run
from edgeprof.views.report.document import Figure, Text


def _repeated(matrix, dest, order):
    """A run of the matrix's records in ``order`` (indexes, repeats allowed), each its own case."""
    recs = (matrix / "records.jsonl").read_text().splitlines()
    (dest / "samples").mkdir(parents=True)
    shutil.copy(matrix / "env.json", dest / "env.json")
    out = []
    for n, i in enumerate(order):
        rec = json.loads(recs[i])
        old, rec["case_id"] = rec["case_id"], f"{n:016x}"
        shutil.copy(matrix / "samples" / f"{old}.csv", dest / "samples" / f"{rec['case_id']}.csv")
        out.append(json.dumps(rec))
    (dest / "records.jsonl").write_text("\n".join(out) + "\n")
    return dest


def test_a_large_run_draws_one_trace_per_configuration_first(matrix_run, tmp_path):
    run = _repeated(matrix_run, tmp_path / "run; $(x)", [0, 0, 1, 1, 2, 3, 4, 5])
    cases = case_views([open_run(run)])
    recs = [c.record for c in cases]
    sec = sections.trace_section(cases, limit=6)
    figs = [b for b in sec.blocks if isinstance(b, Figure)]
    assert [f.name for f in figs] == [f"trace-{cases[i].key}" for i in (0, 2, 4, 5, 6, 7)]  # no repeat first
    assert len({case_label(cases[i].record, recs) for i in (0, 2, 4, 5, 6, 7)}) == 6
    note = sec.blocks[0]
    assert isinstance(note, Text) and note.text.startswith("Traces of 6 of 8 cases are drawn")
    assert note.text.endswith(f"edgeprof report '{run}' --all-figures")   # quoted: the path holds ; and $()
    assert sections.drawn(cases, None) == cases and sections.drawn(cases, 8) == cases
    dist = sections.distributions(cases, limit=6).blocks[0]
    assert "6 of 8 cases are drawn" in dist.caption and "--all-figures" in dist.caption


def test_a_small_run_draws_every_case_and_says_nothing(matrix_run):
    cases = case_views([open_run(matrix_run)])
    assert sections.drawn(cases, sections.CASE_FIGURES) == cases
    assert sections.not_drawn("Traces", len(cases), cases) is None


def _pairwise(points, xb, yb):
    return [i for i, p in enumerate(points) if not any(dominates(q, p, xb, yb) for j, q in enumerate(points) if j != i)]


VALUES = st.one_of(st.sampled_from([0.0, -0.0, 1.0, 2.0, math.inf, -math.inf]), st.floats(-5, 5, allow_nan=False),
                   st.just(math.nan))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(VALUES, VALUES), max_size=12), st.sampled_from(["higher", "lower"]),
       st.sampled_from(["higher", "lower"]))
def test_the_sorted_front_is_the_pairwise_definition(points, xb, yb):
    assert pareto_front(points, xb, yb) == _pairwise(points, xb, yb)


def test_label_overlap_sum_counts_repeated_markers():
    from matplotlib.transforms import Bbox

    from edgeprof.views.report.labels import _Taken

    boxes = [Bbox.from_extents(0, 0, 10, 10)] * 3 + [Bbox.from_extents(5, 5, 20, 20)]
    taken = _Taken(boxes)
    assert len(taken.weight) == 2   # the repeated box is kept once, with its count
    assert taken.overlap(Bbox.from_extents(8, 8, 12, 12)) == 3 * 4 + 16
    taken.add(Bbox.from_extents(100, 100, 110, 110))
    assert taken.overlap(Bbox.from_extents(105, 105, 120, 120)) == 25
    assert taken.overlap(Bbox.from_extents(30, 30, 40, 40)) == 0
