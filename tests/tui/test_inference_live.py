"""The live screen during an encoder run, driven by pilot: inferences/s, samples/s and the
per-inference latency show while it runs (not tokens/s or TTFT), and the finished row carries
the latency percentiles — the same files a headless bench writes."""
from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from pathlib import Path

import pytest

from tests.tui.conftest import screen_text

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def bert_onnx(test_home) -> Path:
    spec = importlib.util.spec_from_file_location("fx_tiny_models_tui", FIXTURES / "tiny_models.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build(test_home)["bert-onnx"]


def test_live_screen_shows_inferences_per_second_and_latency(bert_onnx, quiet_home):
    from edgeprof.engine.config import BenchOptions
    from edgeprof.views.tui.app import EdgeprofApp

    opts = BenchOptions(models=[str(bert_onnx)], prompt=[16], batch=[4], reps=20, warmup=1, min_seconds=3.0,
                        idle_seconds=0.2, threads=[1], out=quiet_home / "run")
    app = EdgeprofApp(opts=opts, sets=[])
    seen = {"text": "", "ips": None}

    async def go():
        async with app.run_test(size=(160, 48)) as pilot:
            t0 = time.monotonic()
            while app.current is None or app.current.stage != "done":
                assert time.monotonic() - t0 < 300, "timed out waiting on the TUI"
                await pilot.pause(0.1)
                app.tick()
                c = app.current.state.case if app.current else None
                if c is not None and c.rep_ips and not seen["text"]:
                    await pilot.pause(0.2)
                    app.tick()
                    seen["text"], seen["ips"] = screen_text(app), c.rep_ips[-1]
            app.tick()
            await pilot.pause(0.1)
            seen["final"] = screen_text(app)

    asyncio.run(go())
    text = seen["text"]
    assert "inferences/s" in text and "per inference" in text and "batch 4" in text, text
    assert "TTFT" not in text and "t/s" not in text.replace("inferences/s", "").replace("samples/s", "")
    assert seen["ips"] > 0 and "passes" in text
    final = seen["final"]
    assert "latency p50/p90/p99 ms" in final and "inf/s" in final and "decode t/s" not in final, final
    [r] = [json.loads(x) for x in (quiet_home / "run" / "records.jsonl").read_text().splitlines()]
    assert r["status"] == "ok" and r["workload"]["batch"] == 4
    assert r["metrics"]["latency_ms"]["n"] >= 20 and r["metrics"]["latency_ms"]["p90"] is not None
