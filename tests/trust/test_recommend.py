""""Which one should I deploy?" (issue 20 item 15): one recommendation per objective under the
tables and in the report's overview, each naming its figures, and never one the statistics cannot
support — on the recorded export matrix and runs of tests/fixtures (README there), and on those
records with their repetition samples replaced to make a difference detectable or not."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from edgeprof.compare import recommend
from edgeprof.exporters.manifest import ExportedArtifact, ExportManifest
from edgeprof.results.jsonl import read_records
from edgeprof.results.schema import Metric

FIX = Path(__file__).resolve().parents[1] / "fixtures"
MATRIX = FIX / "report" / "matrix" / "records.jsonl"


def _by_objective(advice) -> dict:
    return {a.objective: a for a in advice}


def test_three_repetitions_name_no_single_fastest():
    """The matrix has 3 repetitions per row: the rank test cannot reach p < 0.05 (3 vs 3: 0.1), so
    'fastest' is a tie that says why, while size and quality — exact figures — are picked."""
    recs = read_records(MATRIX)
    adv = _by_objective(recommend.for_records(recs))
    assert set(adv) == {"fastest", "smallest", "lowest J/token", "best quality within the gate",
                        "Pareto knee (size vs quality)"}
    fast = adv["fastest"]
    assert len(fast.picks) == 6 and "too few repetitions" in fast.figures and "--reps 4" in fast.figures
    small = min((r for r in recs if r.artifact.size_bytes), key=lambda r: r.artifact.size_bytes)
    assert adv["smallest"].picks == (f"{small.artifact.format} {small.artifact.quant}",)
    assert f"{small.artifact.size_bytes / 2**20:.1f} MiB" in adv["smallest"].figures
    best = max((r for r in recs if r.artifact.quality.quality_retention),
               key=lambda r: r.artifact.quality.quality_retention)
    assert adv["best quality within the gate"].picks == (f"{best.artifact.format} {best.artifact.quant}",)
    knee = adv["Pareto knee (size vs quality)"]
    assert knee.picks == ("gguf q4_k_m",) and "front from gguf q4_0" in knee.figures
    energy = adv["lowest J/token"]
    assert "~" in energy.figures and "estimated" in energy.figures  # an estimate is named as one


def _decode(rec, values):
    m = rec.metric("decode_tokens_per_s")
    new = replace(m, samples=tuple(values), n=len(values), median=sorted(values)[len(values) // 2], ci95=None)
    return rec.with_metrics({"decode_tokens_per_s": new})


def test_a_pick_alone_only_when_the_test_supports_it():
    recs = [r for r in read_records(MATRIX) if r.artifact.format == "gguf"][:3]
    clear = [_decode(recs[0], [100, 101, 102, 103, 104]), _decode(recs[1], [60, 61, 62, 63, 64]),
             _decode(recs[2], [40, 41, 42, 43, 44])]
    fast = _by_objective(recommend.for_records(clear))["fastest"]
    assert fast.picks == (recommend.label(clear[0], clear),)
    assert "beyond ±20 % (p < 0.05)" in fast.figures and "102 t/s" in fast.figures
    close = [_decode(recs[0], [100, 101, 102, 103, 104]), _decode(recs[1], [97, 99, 100, 101, 105]),
             _decode(recs[2], [40, 41, 42, 43, 44])]
    fast = _by_objective(recommend.for_records(close))["fastest"]
    assert len(fast.picks) == 2 and recommend.label(close[2], close) not in fast.picks  # a tie, stated
    assert fast.text().startswith("fastest: tie between ")


def test_busy_rows_hold_speed_and_energy_back_not_size():
    recs = read_records(FIX / "runs" / "q8_0" / "records.jsonl") + read_records(FIX / "runs" / "q4_k_m" / "records.jsonl")
    adv = _by_objective(recommend.for_records(recs))
    for objective in ("fastest", "lowest J/token"):
        assert not adv[objective].picks and "held back" in adv[objective].why_not
        assert adv[objective].text().startswith(f"{objective}: no recommendation — held back")
    assert adv["smallest"].picks == ("gguf q4_k_m",)


def test_degraded_artifacts_are_not_best_quality_and_one_configuration_asks_nothing():
    recs = [r for r in read_records(MATRIX) if r.artifact.quality.quality_retention]
    top = max(recs, key=lambda r: r.artifact.quality.quality_retention)
    flagged = [replace(r, artifact=replace(r.artifact, extra={
        **r.artifact.extra, "quality": {**r.artifact.quality.to_dict(), "quality_status": "degraded"}})) if r is top else r
        for r in recs]
    best = _by_objective(recommend.for_records(flagged))["best quality within the gate"]
    assert best.picks and recommend.label(top, flagged) not in best.picks
    assert recommend.for_records(recs[:1]) == []


def test_the_report_overview_and_the_export_table_carry_it(tmp_path):
    pytest.importorskip("matplotlib")
    from edgeprof.views.report.build import build_report

    files = build_report([MATRIX.parent], tmp_path / "rep")
    md = files.markdown.read_text()
    overview = md.split("## Overview", 1)[1].split("\n## ", 1)[0]
    assert recommend.HEADING in overview and "| smallest | gguf q4_0 |" in overview
    assert "| fastest | gguf q8_0, " in overview  # a tie, listed (3 repetitions each)
    html = files.html.read_text()
    assert "Which one to deploy" in html.split('id="results"', 1)[0]
    def art(name: str, size: int, status: str, retention: float) -> ExportedArtifact:
        return ExportedArtifact(f"/x/{name}/m.gguf", f"/x/{name}", "gguf", name[5:], size, "0" * 64, ("m.gguf",), (),
                                {"quality_retention": retention}, status, None, None, None, "m", "m", 1, "f16", name)

    m = ExportManifest("m", "m", 1, "f16", (art("gguf-q8_0", 2 * 2**20, "ok", 0.99),
                                            art("gguf-q4_0", 2**20, "degraded", 0.6)))
    adv = _by_objective(recommend.for_manifest(m, "exports/m"))
    assert adv["smallest"].picks == ("gguf-q4_0",) and adv["best quality within the gate"].picks == ("gguf-q8_0",)
    assert adv["fastest"].why_not == "not measured by an export: run edgeprof bench exports/m"


def test_no_quality_figure_says_so_for_the_knee():
    from edgeprof.compare.recommend import knee

    why = knee([]).why_not
    assert "no artifact has both a size and a quality figure" in why and "0 point" not in why   # was "0 point(s) (no point)"


def _as_encoder(rec, cosine: float):
    """The matrix row as an embedder's row: inferences/s and J/inference instead of tokens/s and
    J/token, and an export quality measured by embedding cosine (no perplexity)."""
    from edgeprof.results.schema import Record

    d = rec.to_dict()
    m = d["metrics"]
    m["inferences_per_s"], m["energy_per_inference_j"] = m["decode_tokens_per_s"], m["energy_per_token_j"]
    for k in [k for k in m if k.endswith("tokens_per_s") or "per_token" in k]:
        del m[k]
    d["artifact"]["quality"] = {"quality_retention": cosine, "metric": "cosine_similarity", "mean_cosine": cosine,
                                "quality_status": "ok"}
    return Record.from_dict(d)


def test_encoder_rows_are_advised_on_their_own_figures_and_measure():
    """An embedder's run (issue 26): 'fastest' and 'lowest J/inference' rest on inferences/s and
    J/inference, and the best quality names the embedding cosine, not a perplexity it never had."""
    recs = [r for r in read_records(MATRIX) if r.artifact.quality.quality_retention][:3]
    enc = [_as_encoder(r, c) for r, c in zip(recs, (0.999, 0.993, 0.95))]
    adv = _by_objective(recommend.for_records(enc))
    assert "fastest" in adv and "inf/s" in adv["fastest"].text()
    assert "lowest J/inference" in adv and "lowest J/token" not in adv
    best = adv["best quality within the gate"]
    assert best.picks == (recommend.label(enc[0], enc),)
    assert "embedding cosine" in best.figures and "perplexity" not in best.figures
    mixed = _by_objective(recommend.for_records([enc[0], *recs[1:]]))["best quality within the gate"]
    assert "each artifact's own measure" in mixed.figures and "perplexity" in mixed.figures
