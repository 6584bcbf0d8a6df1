"""Record a real run's event stream, and draw the TUI from a recording into an SVG (the README
picture and the snapshot tests use the same recording).

    # 1. record: a reference run, made into a reference set, then a two-case run whose events
    #    (Event.to_dict, one per line) are written to DIR/events.jsonl; the set to DIR/earlier-run/
    python scripts/tui_screenshot.py record tests/tui/data -p 32,64 -n 64 --reps 3

    # 2. draw: replay the recording (optionally only its first N events) at a terminal size
    python scripts/tui_screenshot.py shot tests/tui/data --size 120x36 --upto 0.7 --out docs/img/tui-live.svg

Why a recording: a live screen depends on the machine and the moment; a recording of a real run
makes the same picture every time, and the TUI renders it through the same code as a live run.
``--upto`` below 1 is a fraction of the events (mid-run), 1 or more a count.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SET_NAME = "earlier-run"


def record(out: Path, model: str | None, prompt: list[int], gen: list[int], reps: int) -> None:
    out = out.resolve()
    tmp = Path(tempfile.mkdtemp(prefix="edgeprof-rec-"))
    real_models = Path(os.environ.get("EDGEPROF_HOME", "")) / "models" if os.environ.get("EDGEPROF_HOME") else None
    os.environ["EDGEPROF_HOME"] = str(tmp / "home")
    from edgeprof.home import home as home_dir, models_dir

    if real_models is None:
        from platformdirs import user_data_dir

        real_models = Path(user_data_dir("edgeprof", appauthor=False)) / "models"
    models_dir().parent.mkdir(parents=True, exist_ok=True)
    if real_models.is_dir():
        models_dir().symlink_to(real_models)           # no second download of the default model
    probes = real_models.parent / "devices"
    if probes.is_dir():
        shutil.copytree(probes, home_dir() / "devices")  # the stored bandwidth probe, if any
    from edgeprof.compare.refwrite import from_run as add_run
    from edgeprof.engine.config import BenchOptions
    from edgeprof.engine.fanout import Fanout
    from edgeprof.engine.session import RunSession

    os.chdir(tmp)   # run directories print as edgeprof-runs/..., as for a user
    common = dict(models=[model] if model else [], gen=gen, reps=reps, warmup=1, min_seconds=0.0, threads=[1])
    ref = RunSession.for_bench(BenchOptions(prompt=prompt[:1], idle_seconds=0.5, out=Path("edgeprof-runs/reference-run"), **common))
    ref.run(quiet_workers=True)
    set_dir = add_run(Path("edgeprof-runs/reference-run"), SET_NAME, dest_root=home_dir() / "reference")
    out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(out / SET_NAME, ignore_errors=True)
    (out / SET_NAME).mkdir()
    for f in ("reference.json", "records.jsonl"):
        shutil.copy2(set_dir / f, out / SET_NAME / f)
    fan = Fanout()
    fan.want_samples = True
    with open(out / "events.jsonl", "w") as fh:
        fan.add(lambda e: fh.write(json.dumps(e.to_dict(), separators=(",", ":")) + "\n"))
        RunSession.for_bench(BenchOptions(prompt=prompt, idle_seconds=1.0, out=Path("edgeprof-runs/demo"), **common),
                             fanout=fan).run(quiet_workers=True)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"recorded {sum(1 for _ in open(out / 'events.jsonl'))} events to {out / 'events.jsonl'}")


def shot(data: Path, size: tuple[int, int], out: Path, upto: float | None, mode: str, theme: str) -> None:
    from edgeprof.views.tui.replay import replay_app

    app = replay_app(data / "events.jsonl", reference_dir=data, upto=upto, mode=mode, theme=theme)

    async def go() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.5)
            app.tick()
            await pilot.pause(0.2)
            out.parent.mkdir(parents=True, exist_ok=True)
            app.save_screenshot(out.name, str(out.parent))

    asyncio.run(go())
    print(f"wrote {out}")
    try:
        import cairosvg  # optional: a PNG beside the SVG
    except ImportError:
        return
    cairosvg.svg2png(url=str(out), write_to=str(out.with_suffix(".png")))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("out", type=Path)
    r.add_argument("--model", default=None, help="MODEL argument (default: the packaged SmolLM2)")
    r.add_argument("-p", default="32,64")
    r.add_argument("-n", default="64")
    r.add_argument("--reps", type=int, default=3)
    s = sub.add_parser("shot")
    s.add_argument("data", type=Path)
    s.add_argument("--size", default="120x36")
    s.add_argument("--upto", type=float, default=None)
    s.add_argument("--mode", default="live")
    s.add_argument("--theme", default="textual-dark")
    s.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "tui-live.svg")
    a = p.parse_args()
    if a.cmd == "record":
        record(a.out, a.model, [int(x) for x in a.p.split(",")], [int(x) for x in a.n.split(",")], a.reps)
    else:
        w, h = (int(x) for x in a.size.split("x"))
        shot(a.data, (w, h), a.out, a.upto, a.mode, a.theme)


if __name__ == "__main__":
    main()
