"""The report's "This model elsewhere" section (issue 25): each model of the runs predicted on a set
of devices, decode t/s and J/token with their 80 % intervals, extrapolated devices said so, this
run's measured row marked, and LocalScore's measured rows of the same model beside the prediction."""
from __future__ import annotations

import pytest

from edgeprof.results.jsonl import read_records
from edgeprof.views.charts.elsewhere import DEVICES, chart_for, charts
from edgeprof.views.report.build import build_report

pytest.importorskip("matplotlib")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """Your device rows and reference sets out of it: the packaged ones only."""
    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("EDGEPROF_HISTORY", raising=False)
    return tmp_path / "home"


def test_section_draws_predictions_and_marks_measured_points(matrix_run, tmp_path, home):
    files = build_report([matrix_run], tmp_path / "rep")
    assert "elsewhere" in files.sections
    figs = [p for p in files.figures if p.stem.startswith("elsewhere-")]
    assert len(figs) == 3 and all(p.read_bytes().startswith(b"\x89PNG") for p in figs)  # 3 models at most
    md = files.markdown.read_text().split("## This model elsewhere (predicted)", 1)[1].split("\n## ", 1)[0]
    assert "ESTIMATE with its 80 % interval" in md and "| EXTRAPOLATED |" in md and "| fit on its rows |" in md
    assert "| this run: AMD EPYC | measured |" in md and "Super @ 25W" not in md  # the table keeps full names
    assert "@ 25W | EXTRAPOLATED | ~" in md  # a predicted figure is marked estimated


def test_points_carry_intervals_and_the_same_models_public_rows(home):
    from dataclasses import replace

    from edgeprof.compare.whatif import fitted

    rows = fitted(include_history=False)[1]
    one_b = next(r for r in rows.rows if r.class_id == "apple_m4" and r.model == "Llama 3.2 1B Instruct")
    rec = read_records(__import__("pathlib").Path(__file__).resolve().parents[1] / "fixtures" / "report" / "matrix"
                       / "records.jsonl")[0]
    rec = replace(rec, model=replace(rec.model, id="llama-3-2-1b-instruct", name="Llama 3.2 1B Instruct",
                                     params=1.24e9), artifact=replace(rec.artifact, size_bytes=810_000_000))
    c = chart_for(rec)
    assert len(c.points) == len(DEVICES) + 1 and c.points[-1].basis == "measured"
    for p in c.points[:-1]:
        lo, v, hi = p.decode
        assert lo < v < hi
    m4 = next(p for p in c.points if p.label.startswith("Apple M4 (10"))
    assert m4.basis == "fit" and one_b.decode_tps in m4.measured_decode and m4.j_per_token is None
    nano = c.points[1]
    assert nano.basis == "extrapolated" and "25W" in nano.label and nano.j_per_token[1] > 0 and nano.j_estimated
    assert charts([rec, rec]) and len(charts([rec, rec])) == 1  # one chart per model file
