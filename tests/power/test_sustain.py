"""``--sustain``: windows, burst against sustained, throttle onset, steady temperature.

Exact rules on synthetic repetitions and readings; a short real run on this CPU whose windows are
plausible beside a normal bench (structure and plausibility, never timing); and the Jetson fixture
with a writer thread stepping the GPU and CPU clocks down mid-run, whose onset is found within one
window of the step the samples file shows."""
from __future__ import annotations

import csv
import json
import threading
import time

import pytest
from powerkit import orin_board

from edgeprof.analysis.sustain import Sustain, analyse
from edgeprof.devices.base import Reading
from edgeprof.engine.sampler import Sample
from edgeprof.results.schema import Repetition

S = 1_000_000_000


def reps_at(rate_of, seconds: float, per_rep: int = 20) -> list[Repetition]:
    """Back-to-back decode-only repetitions; ``rate_of(t_s)`` tok/s at each token."""
    out, t, i = [], 0, 0
    while t < seconds * S:
        t0, times = t, []
        for _ in range(per_rep):
            dt = int(S / rate_of(t / S))
            times.append(dt)
            t += dt
        out.append(Repetition(rep=i, decode=(t0, t), n_decode=per_rep, n_generated=per_rep, token_ns=tuple(times)))
        i += 1
    return out


def readings(seconds: float, clock_of, temp_of, watts: float = 10.0) -> list[Sample]:
    out = []
    for k in range(int(seconds * 10) + 2):
        t = k * S // 10
        out.append(Sample(t, (Reading("ina:VDD_IN", "power_w", watts, t, "ina3221", "soc_module"),
                              Reading("gpu:clock", "clock_mhz", clock_of(t / S), t, "devfreq", "gpu"),
                              Reading("tj", "temperature_c", temp_of(t / S), t, "thermal", "soc"))))
    return out


def test_windows_burst_sustained_and_clock_onset():
    reps = reps_at(lambda t: 100.0 if t < 6 else 70.0, 12)
    samples = readings(13, lambda t: 1020.0 if t < 5.3 else 612.0, lambda t: 50 + 2 * min(t, 8))
    s = analyse(reps, samples, 1.0, "ina:VDD_IN", "power_w", {"gpu_max_mhz": 1020.0})
    assert len(s.windows) == 12 and s.last_third == 4
    assert s.burst.decode_tps == pytest.approx(100, rel=1e-6) and s.sustained_tps == pytest.approx(70, rel=1e-6)
    assert s.burst.j_per_token == pytest.approx(10.0 / 100, rel=0.02)           # 10 W at 100 tok/s
    assert s.clock_onset_s == 5.0 and s.rate_onset_s == 6.0 and s.onset_s == 5.0   # clocks first, then speed
    assert "gpu:clock 734.4 MHz < 1020 MHz" in s.onset_cause     # 7 readings at 1020, 3 at 612 in [5, 6)
    assert s.steady_temp_c == pytest.approx(66, abs=0.1) and s.ratio == pytest.approx(0.7, rel=1e-6)
    back = Sustain.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s and any("throttle onset: 5 s" in line for line in back.text("case"))


def test_steady_run_has_no_onset_and_says_why():
    reps = reps_at(lambda t: 100.0 * (1.01 if int(t) % 2 else 0.99), 9)
    s = analyse(reps, readings(10, lambda t: 1020.0, lambda t: 50.0), 1.0, "ina:VDD_IN")
    assert s.onset_s is None and s.noise_band >= 0.05
    assert any(line.startswith("  throttle onset: none within") for line in s.text("case"))


@pytest.mark.slow
def test_sustain_on_this_cpu_matches_a_normal_bench(tmp_path, smollm2_gguf, seeded):
    board = orin_board(tmp_path)  # only its EDGEPROF_HOME and history; the CPU run uses this machine's root
    seeded(board.home)            # the machine's probe: the CPU benches measure at once
    env = {**board.env()}
    env.pop("EDGEPROF_SYSROOT")
    import subprocess
    import sys

    def bench(*args):
        p = subprocess.run([sys.executable, "-m", "edgeprof", "bench", str(smollm2_gguf), "-p", "16", "-n", "32", "-t",
                            "1", "--warmup", "1", "--idle-seconds", "0.3", *args], env=env, capture_output=True,
                           text=True, timeout=600)
        assert p.returncode in (0, 1), p.stderr[-2000:]
        return p
    plain = bench("--reps", "3", "--min-seconds", "0", "--out", str(tmp_path / "plain"))
    sus = bench("--sustain", "8", "--sustain-window", "2", "--out", str(tmp_path / "sus"))
    rec = json.loads((tmp_path / "sus" / "records.jsonl").read_text().splitlines()[0])
    ref = json.loads((tmp_path / "plain" / "records.jsonl").read_text().splitlines()[0])
    s = Sustain.from_dict(rec["sustain"])
    assert 4 <= len(s.windows) <= 6 and s.window_s == 2
    assert all(w.decode_tps and w.tokens > 0 and w.power_w for w in s.windows)   # estimated power here, said so
    assert any("ESTIMATED" in n for n in s.notes) and any("no temperature sensor" in n for n in s.notes)
    normal = ref["metrics"]["decode_tokens_per_s"]["median"]
    # plausible beside a normal bench on a shared machine: the same order, not a timing claim
    assert normal / 3 < s.sustained_tps < normal * 3 and normal / 3 < s.burst.decode_tps < normal * 3
    assert "sustained vs burst" in sus.stdout and "burst (first window):" in sus.stdout


@pytest.mark.slow
def test_throttling_fixture_onset_within_one_window(tmp_path, smollm2_gguf, monkeypatch):
    """In-process run on the Jetson tree; a writer thread plays the firmware, stepping the GPU and
    CPU clocks down 4 s into the measured run."""
    from edgeprof.engine import events as ev
    from edgeprof.engine.config import BenchOptions
    from edgeprof.engine.session import RunSession

    board = orin_board(tmp_path)
    for k, v in board.env().items():
        if k.startswith("EDGEPROF_"):
            monkeypatch.setenv(k, v)
    fired: dict[str, float] = {}

    def step_down() -> None:
        time.sleep(4.0)
        import powerkit
        for c in range(6):
            powerkit.boards.write(board.root, f"/sys/devices/system/cpu/cpu{c}/cpufreq/scaling_cur_freq", "729600")
        powerkit.boards.write(board.root, "/sys/devices/platform/bus@0/17000000.gpu/devfreq/17000000.gpu/cur_freq",
                              "306000000")
        fired["t"] = time.monotonic()

    def on_event(e) -> None:
        if isinstance(e, ev.PhaseStarted) and e.name == "repetition" and e.label == "measure" and not fired:
            fired["armed"] = 1.0
            threading.Thread(target=step_down, daemon=True).start()

    opts = BenchOptions(models=[str(smollm2_gguf)], prompt=[16], gen=[32], threads=[1], warmup=0, idle_seconds=0.3,
                        sustain=10.0, sustain_window=1.0, sample_hz=10.0, out=tmp_path / "run")
    session = RunSession.for_bench(opts)
    session.fanout.add(on_event)
    (rec,) = session.run()
    s = Sustain.from_dict(rec.get("sustain"))
    assert "t" in fired and s.clock_onset_s is not None
    # where the samples file shows the GPU clock fall, relative to the first measured repetition
    start = min(r.window[0] for r in rec.reps if r.label == "measure")
    with open(tmp_path / "run" / "samples" / f"{rec.case_id}.csv") as f:
        drop = next(int(row["t_ns"]) for row in csv.DictReader(f)
                    if row.get("gpu:clock.clock_mhz") and float(row["gpu:clock.clock_mhz"]) < 1000)
    expected = (drop - start) / S
    assert abs(s.clock_onset_s - expected) <= s.window_s, (s.clock_onset_s, expected)
    assert "gpu:clock" in s.clock_cause or "cpu:clock" in s.clock_cause
    assert s.onset_s <= s.clock_onset_s          # a busy machine may slow t/s first: each cause is kept


def test_report_draws_the_sustained_windows_and_the_tradeoff(tmp_path):
    """A run directory holding a two-mode sweep and a sustained row: the report's power section has
    the trade-off chart and the time-resolved plot, and its appendix the run context of each case."""
    from test_tradeoff_and_context import row

    from edgeprof.views.report.build import build_report

    s = analyse(reps_at(lambda t: 100.0 if t < 6 else 70.0, 12),
                readings(13, lambda t: 1020.0 if t < 5.3 else 612.0, lambda t: 50 + 2 * min(t, 8)), 1.0,
                "ina:VDD_IN", "power_w", {"gpu_max_mhz": 1020.0})
    recs = [row("15W", 100, 0.030, 612), row("25W", 150, 0.035, 918).with_extra(sustain=s.to_dict())]
    run = tmp_path / "run"
    run.mkdir()
    (run / "records.jsonl").write_text("".join(json.dumps({**r.to_dict(), "run_id": "r1"}) + "\n" for r in recs))
    files = build_report([run], tmp_path / "report")
    md = files.markdown.read_text() if hasattr(files, "markdown") else (tmp_path / "report" / "report.md").read_text()
    assert "Power modes and sustained speed" in md and "power trade-off" in md
    assert "throttle onset: 5 s" in md and "Context of each case" in md and "power mode 25W" in md
    assert md.count("burst (first window)") == 1, md   # the figures once, under the plot (were in alt and caption too)
    assert "per 1 s window; dotted: the burst level" in md
    figs = sorted(p.name for p in (tmp_path / "report" / "figures").iterdir())
    assert any(f.startswith("sustain-") for f in figs) and any(f.startswith("power-tradeoff-") for f in figs)
    png = next((tmp_path / "report" / "figures").glob("sustain-*.png")).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
