"""What a reader of the HTML report sees at 1,400 px (issue 20 item 17), on recorded runs
(tests/fixtures/report/matrix and tests/fixtures/runs, READMEs there): the whole results table
without a horizontal scrollbar or a cut number, rows named by model/format/quant/test, one line
per kind of warning, point labels that neither overlap nor leave the plot, and no ``None:None``
where a case has no server reference. The page is measured in headless Chromium where one is
installed (Debian: apt-get install chromium); everything else needs only matplotlib."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from edgeprof.results.jsonl import read_records

pytest.importorskip("matplotlib")

FIX = Path(__file__).resolve().parents[1] / "fixtures"
MATRIX = FIX / "report" / "matrix"
BUSY = [FIX / "runs" / n for n in ("q8_0", "q4_k_m", "same-A", "same-B")]


def _table(dirs):
    from edgeprof.views.report.data import case_views, open_run
    from edgeprof.views.report.tables import results_table

    return results_table(case_views([open_run(d) for d in dirs]))


def test_rows_are_named_by_what_they_are_not_by_hex_ids():
    t = _table([MATRIX])
    assert "case" not in t.head and t.head[:2] == ("format", "quant")
    assert [(r[0].text, r[1].text) for r in t.rows][:2] == [("hf", "fp32"), ("onnx", "int4")]
    assert not any(re.fullmatch(r"[0-9a-f]{16}", c.text) for r in t.rows for c in r)
    assert any(n.startswith("same for every case: model smollm2-135m-instruct") for n in t.notes)
    twins = _table(BUSY[2:])  # two runs of one configuration: only the case id tells them apart
    assert twins.head[0] == "case"


def test_one_line_per_kind_of_warning_naming_its_cases():
    t = _table(BUSY)
    recs = [r for d in BUSY for r in read_records(d / "records.jsonl")]
    kinds = {w.split(" (")[0].split(":")[0] for r in recs for w in r.warnings}
    lines = [n for n in t.notes if n.startswith("warning (")]
    assert len(kinds) == 2 and len(lines) == len(kinds), lines          # 8 warnings, 2 kinds
    busy = next(x for x in lines if "measured on contended cores" in x)
    assert busy.startswith("warning (3 cases: smollm2-135m gguf q8_0 pp32+tg32, smollm2-135m gguf q4_k_m pp32+tg32, "
                           "smollm2-135m-instruct gguf q4_1 pp16+tg16): measured on contended cores (")  # twins: one name
    assert busy.endswith("the figures differ per case (each row's own are in its JSON)")
    assert all(re.search(r"\(\w{8}\)", x) is None for x in lines)       # no hex id in place of a name


def _no_overlap(fig, texts) -> None:
    from edgeprof.views.report.labels import boxes

    ax = fig.axes[0]
    area = ax.get_window_extent(fig.canvas.get_renderer())
    bb = boxes(fig, texts)
    for i, a in enumerate(bb):
        assert area.x0 <= a.x0 and a.x1 <= area.x1 and area.y0 <= a.y0 and a.y1 <= area.y1, texts[i].get_text()
        for j in range(i):
            b = bb[j]
            apart = a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0
            assert apart, (texts[i].get_text(), texts[j].get_text())


def test_point_labels_neither_overlap_nor_leave_the_plot():
    from edgeprof.views.charts.pareto import pareto_charts
    from edgeprof.views.charts.roofline import roofline_chart
    from edgeprof.views.report import figures

    recs = read_records(MATRIX / "records.jsonl")
    for chart in pareto_charts(recs):
        with figures.figure(margins=figures.MARGINS) as fig:
            texts = figures.draw_pareto(fig, chart)
            assert len(texts) == len(chart.points) >= 5  # the HF source has no quality figure
            _no_overlap(fig, texts)
    ceilings, points, _ = roofline_chart(recs)
    with figures.figure(6.4, 4.4, {**figures.MARGINS, "left": 0.11}) as fig:
        texts = figures.draw_roofline(fig, ceilings, points)
        assert len(texts) == len(points) == 6
        _no_overlap(fig, texts)


def test_a_case_without_a_reference_is_named_not_none_none(tmp_path):
    from edgeprof.compare.reference import match
    from edgeprof.views.report.build import build_report

    rec = read_records(BUSY[0] / "records.jsonl")[0]
    none = match(rec, [])                                  # no set at all: kind "none", the reason in notes
    run = tmp_path / "run"
    shutil.copytree(BUSY[0], run)
    (run / "records.jsonl").write_text(json.dumps(replace(rec, reference=none).to_dict()) + "\n")
    files = build_report([run], tmp_path / "rep")
    for text in (files.html.read_text(), files.markdown.read_text()):
        assert "None:None" not in text and "(none)" not in text
    md = files.markdown.read_text().split("## Server comparison", 1)[1]
    assert "| gguf q8_0 (no reference) | — |" in md and none.short_reason in md


def _measure(html: Path, width: int) -> dict:
    """The page in headless Chromium at ``width``: tables wider than their box, cells that cut."""
    probe = ("<script>addEventListener('load',()=>{const o={scroll:[],cut:[],page:[document.documentElement."
             "scrollWidth,innerWidth]};document.querySelectorAll('div.scroll').forEach(d=>{if(d.scrollWidth>"
             "d.clientWidth+1)o.scroll.push([d.closest('section').id,d.scrollWidth,d.clientWidth])});"
             "document.querySelectorAll('td,th').forEach(c=>{if(c.scrollWidth>c.clientWidth+1)o.cut.push(c."
             "textContent)});const p=document.createElement('pre');p.id='m';p.textContent=JSON.stringify(o);"
             "document.body.appendChild(p)})</script>")
    page = html.with_name("measured.html")
    page.write_text(html.read_text().replace("</body>", probe + "</body>"))
    profile = html.parent / "chromium-profile"
    out = subprocess.run([shutil.which("chromium") or shutil.which("chromium-browser"), "--headless", "--no-sandbox",
                          "--disable-gpu", "--hide-scrollbars", f"--user-data-dir={profile}",
                          f"--window-size={width},1600", "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=180).stdout
    return json.loads(re.search(r'<pre id="m">(.*?)</pre>', out, re.S).group(1))


@pytest.mark.skipif(not (shutil.which("chromium") or shutil.which("chromium-browser")),
                    reason="needs headless Chromium (Debian: apt-get install chromium)")
@pytest.mark.parametrize("runs", [[MATRIX], BUSY], ids=["matrix", "busy-runs"])
def test_the_page_fits_1400_px_without_a_scrollbar_or_a_cut_number(tmp_path, runs):
    from edgeprof.views.report.build import build_report

    files = build_report(runs, tmp_path / "rep")
    for width in (1400, 1385):  # 1385: the same window with a 15 px vertical scrollbar
        m = _measure(files.html, width)
        assert m["scroll"] == [] and m["cut"] == [], (width, m)
        assert m["page"][0] <= width, (width, m["page"])


def test_the_comparison_table_writes_ratios_as_bench_and_tui_do(tmp_path):
    """The report's server table wrote ``0.954x [0.713, 1.58]`` where the bench table and the TUI write
    ``0.954× [0.713–1.58]``: one spelling of a ratio and its interval everywhere."""
    from edgeprof.commands.reference import add_run
    from edgeprof.compare import reference as ref
    from edgeprof.views.report.build import build_report

    rec = read_records(BUSY[2] / "records.jsonl")[0]
    add_run(BUSY[3], "same-b", dest_root=tmp_path / "refs")
    comp = ref.match(rec, ref.load_sets(user_dir=tmp_path / "refs"))
    assert comp.kind == "exact" and any(x.ci95 for x in comp.ratios)
    run = tmp_path / "run"
    shutil.copytree(BUSY[2], run)
    (run / "records.jsonl").write_text(json.dumps(replace(rec, reference=comp).to_dict()) + "\n")
    md = build_report([run], tmp_path / "rep").markdown.read_text().split("## Server comparison", 1)[1]
    assert re.search(r"\| ~?\d[\d.]*× \[\d[\d.e+-]*–\d[\d.e+-]*\] \|", md), md[:1500]
    assert not re.search(r"\d(x|×) \[\d[\d.]*, ", md)
