"""The live screen's server panel at the sizes people use (80×24, 120×36, 200×50), over the
recorded run whose first row is compared with a set built to have classes (three H100 SXM rows,
two L4 rows and the earlier run on this machine's CPU): the class's rows as a dot plot with this
run's figure on the same axis, every number of the panel whole on screen (none cut, nothing
hidden behind the border), and a contended reference said in the panel."""
from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from edgeprof.compare import reference as ref
from edgeprof.compare.judge import Judge
from edgeprof.results.schema import Record
from edgeprof.views.tui.replay import replay_app
from edgeprof.views.tui.widgets.server import EDGE, ROW, Dots, plot_lines, record_view
from tests.tui.conftest import DATA, EVENTS, drive, screen_text

SIZES = ((80, 24), (120, 36), (200, 50))
NUMBER = re.compile(r"\d[\d.]*")


def _server_rows(contended: bool = False) -> list[Record]:
    base = Record.from_dict(json.loads((DATA / "earlier-run" / "records.jsonl").read_text().splitlines()[0]))
    out = []
    for name, mem, decodes in (("NVIDIA H100 80GB HBM3", 80e9, (300.0, 320.0, 410.0)), ("NVIDIA L4", 22e9, (150.0, 160.0))):
        for i, d in enumerate(decodes):
            m = base.metric("decode_tokens_per_s")
            dec = replace(m, value=d, median=d, samples=tuple(d * f for f in (0.99, 1.0, 1.01)), ci95=None)
            r = replace(base, case_id=f"{name}-{i}", host="Xeon", metrics={**base.metrics, "decode_tokens_per_s": dec},
                        device=replace(base.device, id=f"gpu:{i}", kind="nvidia", name=name, memory_bytes=int(mem),
                                       extra={"role": "datacenter-gpu"}))
            if contended:
                r = r.with_extra(load={"status": "contended", "during_status": "contended",
                                       "during": {"other_cpu_cores": 1.2}})
            out.append(r)
    return out


def _events_with(tmp_path, contended: bool = False):
    """The recorded events, the first finished row's comparison made against the class set."""
    from edgeprof.commands.reference import add_run

    run = tmp_path / "srv-run"
    run.mkdir()
    (run / "records.jsonl").write_text("".join(json.dumps(r.to_dict()) + "\n" for r in _server_rows(contended)))
    add_run(run, "gpu-classes", dest_root=tmp_path / "refs")
    sets = ref.load_sets(user_dir=tmp_path / "refs")
    lines, done = [], False
    for line in EVENTS.read_text().splitlines():
        e = json.loads(line)
        if e.get("type") == "case_finished" and not done:
            rec = Record.from_dict(e["record"])
            comp = ref.match(rec, [s for s in sets if s.name == "gpu-classes"], Judge(use_history=False))
            e["record"] = replace(rec, reference=comp).to_dict()
            done = comp
        lines.append(json.dumps(e))
    out = tmp_path / "events.jsonl"
    out.write_text("\n".join(lines) + "\n")
    return out, done


def _panel_text(app) -> list[str]:
    panel = app.screen.query_one("ServerPanel")
    r = panel.region
    return [line[r.x:r.x + r.width] for line in screen_text(app).splitlines()[r.y:r.y + r.height]]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_class_dot_plot_and_every_number_whole(size, quiet_home, tmp_path):
    events, comp = _events_with(tmp_path)
    assert comp.kind == "exact" and comp.headline_class.name.startswith("H100") and comp.headline_class.n == 3
    out = {}

    async def steps(pilot, app):
        table = app.screen.query_one("ResultsTable")
        table.move_cursor(row=0)
        await pilot.pause(0.1)
        app.tick()
        await pilot.pause(0.1)
        panel = app.screen.query_one("ServerPanel")
        out["pages"] = []
        y = 0
        while True:                                   # page through what the panel holds, as a reader scrolls
            panel.scroll_to(y=y, animate=False)
            await pilot.pause(0.05)
            out["pages"] += _panel_text(app)
            if y >= panel.max_scroll_y:
                break
            y = min(panel.max_scroll_y, y + max(1, panel.scrollable_content_region.height - 1))
        out["rec"] = table.record_at_cursor()

    drive(replay_app(events, reference_dir=DATA), steps, size)
    seen = "\n".join(out["pages"])
    assert ROW in seen and EDGE in seen and "H100 SXM5 80GB" in seen, seen
    assert "…" not in seen
    kind, head, lines, foot, dots, contended = record_view(out["rec"])
    assert dots is not None and dots.values == (300.0, 320.0, 410.0)
    tokens = set(NUMBER.findall(seen))
    for ln in lines[:4]:                         # the headline ratios: every figure whole on screen
        for text in (ln.edge, ln.server, ln.ratio):
            for num in NUMBER.findall(text):
                assert num in tokens, (num, text, seen)
        ci = re.search(r"\[[^\]]*\]", ln.ratio)        # an interval is read on one line, never split in two
        assert ci is None or any(ci.group(0) in page for page in out["pages"]), (ln.ratio, seen)


def test_plot_marks_rows_and_this_run_on_one_axis():
    d = Dots("H100", "tokens/s", (100.0, 100.0, 400.0), 40.0, 2)
    marks, axis, ends, key = plot_lines(d, 30)
    assert marks.index(EDGE) == 0 and marks[-1] == ROW and "2" in marks   # two rows in one cell: their count
    assert ends.startswith("40") and ends.endswith("400") and len(ends) == 30 and len(axis) == 30
    assert "log scale" in key and "t/s" in key
    marks, *_ = plot_lines(Dots("x", "ms", (10.0, 12.0), None), 12)
    assert marks.startswith(ROW) and marks.endswith(ROW) and EDGE not in marks


def test_a_contended_reference_is_said_in_the_panel(quiet_home, tmp_path):
    events, comp = _events_with(tmp_path, contended=True)
    out = {}

    async def steps(pilot, app):
        app.screen.query_one("ResultsTable").move_cursor(row=0)
        await pilot.pause(0.1)
        app.tick()
        await pilot.pause(0.1)
        out["text"] = "\n".join(_panel_text(app))

    drive(replay_app(events, reference_dir=DATA), steps, (120, 36))
    assert comp.contended and "CONTENDED REFERENCE" in out["text"], out["text"]
    assert "CONTENDED REFERENCE — contended" not in out["text"], out["text"]   # said once
