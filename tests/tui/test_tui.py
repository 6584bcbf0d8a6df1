"""The TUI renders a real (tiny) sweep headlessly: live panel, power sparkline, result rows."""
from __future__ import annotations

import asyncio

import pytest

from devices.cpu import HostCpu, TdpSpec
from edgeprof.models.artifacts import gguf_artifact
from edgeprof.engine import events as ev
from edgeprof.engine.config import Settings
from edgeprof.engine.plan import Axes, build_cases
from edgeprof.engine.session import RunSession
from edgeprof.views.tui.state import Snapshot

pytestmark = pytest.mark.slow


def test_snapshot_folds_events():
    s = Snapshot()
    from devices.base import Reading

    s.apply(ev.CaseScheduled(case_id="c", t_ns=0, index=1, total=2, label="m p8"))
    s.apply(ev.PhaseStarted(case_id="c", t_ns=1, name="decode", rep=1, label="measure"))
    s.apply(ev.TokenProgress(case_id="c", t_ns=2, n=5, of=8, rep=1))
    s.apply(ev.SampleEvent(t_ns=3, power_w=7.5, power_label="rapl (measured)",
                           readings=(Reading("worker:rss", "rss_bytes", 2.0 * 2**20, 3, "psutil", "process"),)))
    assert (s.index, s.total, s.phase, s.rep, s.tokens) == (1, 2, "measure decode", 1, (5, 8))
    assert list(s.power_w) == [7.5] and list(s.rss_mib) == [2.0] and s.power_label == "rapl (measured)"


def test_tui_runs_a_sweep_headless(tmp_path, smollm2_gguf):
    from edgeprof.views.tui.app import EdgeprofApp

    dev = HostCpu.open("/", tdp=TdpSpec(10.0, None, 0.1, "test"))
    cases = build_cases([gguf_artifact(smollm2_gguf)], Axes(prompt=[8, 16], gen=[4], threads=[1]),
                        device_for=lambda rt, pl: dev.info().id, host="h")
    settings = Settings(reps=1, warmup=0, min_seconds=0, idle_s=0.3)
    session = RunSession(tmp_path, "tui", cases, settings, [dev], tmp_path, plan={"cases": []})
    app = EdgeprofApp(session)

    async def drive():
        async with app.run_test(size=(160, 40)) as pilot:
            for _ in range(600):
                await pilot.pause(0.1)
                if app.snap.done:
                    break
            table = app.query_one("#results")
            assert table.row_count == 2
            assert len(app.snap.power_w) > 0 and len(app.snap.rss_mib) > 0
            app.save_screenshot(str(tmp_path / "tui.svg"))
            await pilot.press("q")

    asyncio.run(drive())
    assert (tmp_path / "records.jsonl").read_text().count("\n") == 2
    svg = (tmp_path / "tui.svg").read_text()
    assert "tdp_model (estimated)" in svg.replace("&#160;", " ")
