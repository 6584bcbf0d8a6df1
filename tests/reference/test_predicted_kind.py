"""The ``predicted`` comparison kind (issue 25 item 5): with no measured server row, a bench row
shows the what-if model's H100 SXM / H200 figures with intervals — never called a match, never a
verdict — and a measured row replaces it as soon as a set holds one."""
from __future__ import annotations

import json

import pytest

from refdata import make_record, write_run

from edgeprof.commands.reference import add_run
from edgeprof.compare import reference as ref
from edgeprof.compare.enrich import Enricher
from edgeprof.results import reftext
from edgeprof.results.comparison import Comparison
from edgeprof.results.printers import markdown
from edgeprof.views.tui import refview


def _bandwidth(device_id: str) -> float:
    from edgeprof.compare import whatif

    return whatif.device_of(device_id).bandwidth_gbs


def _edge():
    return make_record(decode=[14.0, 15.0, 16.0], ttft=[450.0, 460.0, 470.0], p=16, n=8)


def test_no_measured_row_gives_predicted_servers_with_intervals_and_no_verdict(home):
    e = Enricher(predicted_server="h100,h200")
    rec = e.compare(_edge())
    c = rec.reference
    assert c.kind == "predicted" and not c.is_match
    assert [r.device for r in c.rows] == ["H100 SXM5 80GB", "H200 SXM 141GB"]
    assert c.notes[0].startswith("no measured server row matches — no reference row") and "PREDICTION" in c.notes[0]
    assert "))" not in c.notes[0], c.notes[0]     # the reason is not a parenthesis inside a parenthesis
    for row in c.rows:
        assert row.kind == "predicted" and row.verification == "PREDICTED"
        assert any("LocalScore result" in n for n in row.notes)  # the rows it rests on
        dec = row.ratio("decode_tokens_per_s")
        lo, hi = dec.ci95
        assert lo < dec.ratio < hi and dec.verdict is None and "not a measurement" in dec.verdict_why
        assert dec.ref_provenance.kind == "estimated" and dec.ref_estimated
        pv = dec.extra["predicted"]
        assert pv["lo"] < pv["value"] < pv["hi"] and dec.ratio == 15.0 / pv["value"]
        roof = row.server_roofline      # the predicted rate ÷ the class's published bandwidth limit, never a bare n/a
        assert roof.value is not None and roof.ci95[0] < roof.value < roof.ci95[1] and "predicted" in roof.basis
        assert roof.value * _bandwidth(row.row) * 1e9 / 98362432 == pytest.approx(pv["value"])
        assert row.edge_roofline is not None and (row.edge_roofline.value is not None or row.edge_roofline.why)
        text = refview.roofline(roof)                   # the panel's words: a small share is not "0%"
        assert not text.startswith("0%") and text.split("%")[0] == f"{roof.value * 100:.2g}", text
    cell = reftext.cell(c)
    assert cell.startswith("predicted, NOT a match: H100 SXM5 80GB decode") and "H200 SXM 141GB decode" in cell
    assert cell.endswith("no verdict)") and "server est." in cell and "faster" not in cell and "slower" not in cell
    assert reftext.legend([c]) == [reftext.LEGEND[0]]   # no host-bound, contended or verdict words it never shows
    text = markdown([rec])
    assert "- vs server:" in text and "host-bound:" not in text and "verdicts in cells" not in text
    back = Comparison.from_dict(json.loads(json.dumps(c.to_dict())))  # survives records.jsonl
    assert back.kind == "predicted" and back.rows[1].ratio("decode_tokens_per_s").ci95 == dec.ci95


def test_a_measured_row_replaces_the_prediction(home, tmp_path):
    server = make_record(decode=[1000.0, 1100.0, 1200.0], ttft=[20.0, 20.5, 21.0], kind="nvidia", p=16, n=8,
                         device_name="NVIDIA H100 80GB HBM3", host="srv")
    add_run(write_run(tmp_path / "run-h100", [server]), "h100-mine", dest_root=home / "reference")
    c = Enricher(predicted_server="h100,h200").compare(_edge()).reference
    assert c.kind == "exact" and c.set_name == "h100-mine"
    assert ref.match(_edge(), ref.load_sets()).kind == "exact"


def test_off_and_unknown_ids(home):
    assert Enricher(predicted_server="none").compare(_edge()).reference.kind == "none"
    assert Enricher().compare(_edge()).reference.kind == "none"  # only a bench session asks for predictions
    c = Enricher(predicted_server="commodore-64").compare(_edge()).reference
    assert c.kind == "none" and "no predicted server figure" in c.notes[-1]


def test_bench_option_is_checked_before_anything_runs():
    import pytest

    from edgeprof.engine.config import BenchOptions
    from edgeprof.engine.options import parse_value
    from edgeprof.errors import UsageError

    assert BenchOptions(predicted_server="h100,pi5").settings().predicted_server == "h100,pi5"
    assert parse_value(BenchOptions, "predicted_server", "none") == "none"
    with pytest.raises(UsageError, match="--predicted-server: id 'commodore-64' is not in the device table"):
        parse_value(BenchOptions, "predicted_server", "h100,commodore-64")
