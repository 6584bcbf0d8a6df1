"""``edgeprof report``: a real short run and the recorded runs give one self-contained HTML file
(every section, every image embedded, nothing external) and Markdown with the same figures as PNG
files; bad input is one line and exit 2 before anything is written."""
from __future__ import annotations

import base64
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest

from edgeprof.errors import UsageError
from edgeprof.results.history import load_run
from edgeprof.views.charts import memory_series, pareto_charts, phase_spans, power_series
from edgeprof.views.report import figures, sections, traces
from edgeprof.views.report.build import build_report
from edgeprof.views.report.data import case_views, open_run
from edgeprof.views.report.sections import SECTION_IDS

pytest.importorskip("matplotlib")
PNG = b"\x89PNG\r\n\x1a\n"


class Page(HTMLParser):
    """Every tag's attributes, section ids, images, and the text, from the report's HTML."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def all(self, tag: str) -> list[dict]:
        return [a for t, a in self.tags if t == tag]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG
    return struct.unpack(">II", data[16:24])


def check_report(out: Path, html: str, expect_sections: set[str]) -> Page:
    page = Page(html)
    sections = {a["id"] for a in page.all("section")}
    assert expect_sections <= sections, expect_sections - sections
    assert not page.all("script") and not page.all("link") and not page.all("iframe")
    for tag, attrs in page.tags:  # nothing is fetched: only data: URIs and in-page anchors
        for key in ("src", "href", "srcset", "poster", "data"):
            if key in attrs:
                assert attrs[key].startswith(("data:image/png;base64,", "#")), (tag, key, attrs[key][:60])
    assert not re.search(r"url\(|@import", html)
    md = (out / "report.md").read_text()
    linked = re.findall(r"\]\(figures/([^)]+)\.png\)", md)
    files = sorted(p.stem for p in (out / "figures").glob("*.png"))
    imgs = page.all("img")
    assert sorted(linked) == files and len(imgs) == len(files) > 0
    for img, name in zip(imgs, linked):  # the same figures, in the same order, byte for byte
        data = base64.b64decode(img["src"].split(",", 1)[1])
        assert data == (out / "figures" / f"{name}.png").read_bytes()
        w, h = png_size(data)
        assert 300 <= w <= 2000 and 150 <= h <= 2000 and 8_000 < len(data) < 400_000, (name, w, h, len(data))
        assert img.get("alt")
    for s in expect_sections:  # the Markdown holds the same sections
        title = re.search(rf'<section id="{s}"><h2>([^<]+)</h2>', html).group(1)
        assert f"## {title.replace('&amp;', '&')}" in md
    return page


def test_report_of_a_real_run(real_run, edgeprof_cli, tmp_path):
    out = tmp_path / "rep"
    proc = edgeprof_cli("report", str(real_run), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert str(out / "report.html") in proc.stdout
    html = (out / "report.html").read_text()
    page = check_report(out, html, set(SECTION_IDS) - {"suite"})
    rec = load_run(real_run)["records"][0]
    assert (out / "figures" / f"trace-{rec.case_id}.png").is_file()
    assert {"pareto-energy-quality", "pareto-decode-memory", "pareto-ttft-size", "distributions",
            "roofline"} <= {p.stem for p in (out / "figures").glob("*.png")}
    text = " ".join(page.text)
    assert "ESTIMATED" in text and "tdp_model" in text  # this VM has no power meter: the trace says so
    assert any("est" in a.get("class", "") for a in page.all("td"))  # estimated cells are marked
    assert "no per-token timeline" in text.lower() or page.all("figure")  # absent tokens.csv is stated


@pytest.fixture(scope="module")
def matrix_report(matrix_run, tmp_path_factory):
    return build_report([matrix_run], tmp_path_factory.mktemp("report") / "m")


def test_report_of_the_export_matrix(matrix_run, matrix_report):
    files = matrix_report
    html = files.html.read_text()
    page = check_report(files.html.parent, html, set(SECTION_IDS) - {"suite"})
    recs = load_run(matrix_run)["records"]
    assert len([p for p in files.figures if p.stem.startswith("trace-")]) == len(recs)
    text = " ".join(page.text)
    for quant in ("q8_0", "q4_k_m", "q4_0", "f16", "int4"):
        assert quant in text
    assert "Pareto front of energy per token vs quality:" in text
    assert "efficientllm-gh200" in text  # the server comparison names its reference row
    assert "UNVERIFIED-SECONDARY" in text
    assert "same for every case: model smollm2-135m-instruct" in text


def test_report_of_a_suite_run_with_token_timelines(suite_run, tmp_path):
    files = build_report([suite_run], tmp_path / "s")
    html = files.html.read_text()
    page = check_report(tmp_path / "s", html, set(SECTION_IDS))
    recs = load_run(suite_run)["records"]
    assert len([p for p in files.figures if p.stem.startswith("tokens-")]) == len(recs)
    import json

    score = json.loads((suite_run / "suite.json").read_text())["summary"]["score"]["value"]
    assert f"{score:.4g}" in " ".join(page.text)


def test_several_runs_keep_cases_apart(matrix_run, suite_run):
    runs = [open_run(matrix_run), open_run(suite_run), open_run(matrix_run)]
    cases = case_views(runs)
    assert len({c.key for c in cases}) == len(cases)  # the repeated run's cases get their own keys
    env = sections.environment(runs, cases)
    assert sum(1 for b in env.blocks if getattr(b, "text", "").startswith("Run ")) == 3


def test_figures_are_reproducible(matrix_run):
    recs = load_run(matrix_run)["records"]
    chart = pareto_charts(recs)[0]
    assert figures.pareto_png(chart) == figures.pareto_png(chart)
    run = open_run(matrix_run)
    c = case_views([run])[0]
    spans = phase_spans(c.record, c.trace.t_ns[0], run.baseline)
    args = ("t", spans, power_series(c.trace), memory_series(c.trace))
    assert traces.trace_png(*args) == traces.trace_png(*args)


def _one_case_run(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    line = (src / "records.jsonl").read_text().splitlines()[0]
    (dst / "records.jsonl").write_text(line + "\n")
    (dst / "samples").mkdir()
    cid = load_run(dst)["records"][0].case_id
    (dst / "samples" / f"{cid}.csv").write_bytes((src / "samples" / f"{cid}.csv").read_bytes())
    return dst


def test_existing_report_needs_overwrite(matrix_run, tmp_path, edgeprof_cli):
    run, out = _one_case_run(matrix_run, tmp_path / "run"), tmp_path / "r"
    build_report([run], out)
    with pytest.raises(UsageError, match="--overwrite"):
        build_report([run], out)
    proc = edgeprof_cli("report", str(run), "--out", str(out))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--overwrite" in proc.stderr
    stale = out / "figures" / "trace-0000000000000000.png"
    stale.write_bytes(PNG)
    build_report([run], out, overwrite=True)
    assert not stale.exists()  # a figure of a case no longer in the report is gone


def test_failed_and_unsampled_cases_are_shown_not_dropped(matrix_run, tmp_path):
    import json

    from edgeprof.results.schema import ErrorInfo, Record

    run = _one_case_run(matrix_run, tmp_path / "run")
    dead = Record(case_id="dead00000000beef", status="failed", run_id="x",
                  error=ErrorInfo("crash", "worker killed by SIGKILL", "decode", None, "SIGKILL"))
    with open(run / "records.jsonl", "a") as fh:
        fh.write(json.dumps(dead.to_dict()) + "\n")
    files = build_report([run], tmp_path / "r")
    text = " ".join(Page(files.html.read_text()).text)
    assert "failed: worker killed by SIGKILL" in text and "no samples file (failed" in text
    assert len([p for p in files.figures if p.stem.startswith("trace-")]) == 1


@pytest.mark.parametrize("args, needle", [
    (["/nonexistent/run"], "no run directory or history run_id"),
    (["{tmp}"], "not a run directory (no records.jsonl)"),
])
def test_bad_run_arguments_are_one_line(args, needle, tmp_path, edgeprof_cli):
    proc = edgeprof_cli("report", *[a.format(tmp=tmp_path) for a in args], "--out", str(tmp_path / "o"),
                        home=tmp_path / "home")
    assert proc.returncode == 2 and needle in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert not (tmp_path / "o").exists()


def test_missing_matplotlib_is_one_line(matrix_run, tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    code = ("import sys; sys.modules['matplotlib'] = None; from edgeprof.cli import main; "
            f"sys.exit(main(['report', {str(matrix_run)!r}, '--out', {str(tmp_path / 'o')!r}]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr == ("edgeprof: error: edgeprof report needs matplotlib, which is not installed: "
                           "pip install 'edgeprof[report]'\n")
    assert not (tmp_path / "o").exists()
