"""How often a contended probe is re-taken (engine/peaks.py rule 3): on a machine that is never
quiet for long, a probe stored as CONTENDED was re-taken (30–90 s) by every bench that saw a quiet
0.3 s moment. Now: after the sweep only, when the bench's own idle window was quiet for at least
MIN_QUIET_S, at most once per RETAKE_PERIOD_S; every bench that rests on it says so once. The
clock is stated (``Peaks(clock=…)``) and the idle windows are the data a bench records, so no test
sleeps or depends on how busy this machine is."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from edgeprof.analysis import specs
from edgeprof.engine import peaks
from edgeprof.results.conditions import IdleBaseline
from edgeprof.results.schema import DeviceRef

DEV = DeviceRef(id="cpu0:test", name="Unknown CPU", kind="cpu")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def _probe(quality: str, bw: float, when: datetime) -> dict:
    others = 1.5 if quality != "quiet" else 0.0
    return {"probe_version": 2, "measured_at": when.isoformat(timespec="seconds"), "quality": quality,
            "quality_note": f"other processes used {others} cores", "load": {"during": {"other_cpu_cores": others}},
            "bandwidth": {"value": bw, "provenance": {}}, "flops": {"value": 0.1, "provenance": {}}}


def _idle(window_s: float, other_cores: float) -> dict[str, IdleBaseline]:
    """A bench's idle baseline as baseline.json holds it: the window and what others used in it."""
    load = {"window_s": window_s, "busy_fraction": other_cores / 2, "other_cpu_cores": other_cores,
            "own_cpu_cores": 0.0, "steal_fraction": 0.0, "logical_cores": 2}
    return {DEV.id: IdleBaseline.from_dict({"device_id": DEV.id, "idle_window_s": window_s, "load": load})}


class Bench:
    """One bench's probe decisions at a stated time: the sweep's spec look-up, then the re-take."""

    def __init__(self, now: datetime, result: dict | None = None):
        self.logged: list[str] = []
        self.taken = 0
        self.result = result

        def run_probe() -> dict:
            self.taken += 1
            return self.result if self.result is not None else _probe("contended", 2.0, now)

        self.peaks = peaks.Peaks(self.logged.append, run_probe=lambda: 1 / 0, retake_probe=run_probe,
                                 clock=lambda: now)

    def run(self, idle: dict[str, IdleBaseline]) -> specs.DeviceSpec:
        spec = self.peaks.spec(DEV)       # between cases: never a probe (run_probe would raise)
        self.peaks.retake(idle)
        return spec


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path))
    return tmp_path


def test_a_quiet_bench_re_takes_a_contended_probe_once_then_not_again_within_a_day(home):
    specs.save_probe(DEV.id, _probe("contended", 3.0, T0 - timedelta(days=2)))
    first = Bench(T0)
    spec = first.run(_idle(3.0, 0.05))
    assert spec.peak_mem_bandwidth_gbs == 3.0          # this run's rows rest on the stored one, labelled
    assert "CONTENDED" in spec.provenance["peak_mem_bandwidth_gbs"].label
    assert first.taken == 1 and specs.load_probe(DEV.id).measured_at == T0.isoformat(timespec="seconds")
    said = "\n".join(first.logged)
    assert "rest on a probe taken on a busy machine" in said and "'edgeprof devices --probe'" in said
    assert "probing again now that the sweep is over" in said and "48 h old" in said and "3.0 s idle" in said
    # the re-take was busy again: later quiet benches within the day pay nothing, and say when it is due
    for hours in (1, 12, 23):
        later = Bench(T0 + timedelta(hours=hours))
        later.run(_idle(3.0, 0.0))
        assert later.taken == 0, hours
        assert any(f"from {24 - hours} h on" in line for line in later.logged), later.logged
    # a day on, the next quiet bench re-takes it again, and a quiet result is kept for good
    day = Bench(T0 + timedelta(hours=25), result=_probe("quiet", 20.0, T0 + timedelta(hours=25)))
    day.run(_idle(3.0, 0.0))
    assert day.taken == 1 and specs.load_probe(DEV.id).quality == "quiet"
    after = Bench(T0 + timedelta(days=5))
    assert after.run(_idle(3.0, 0.0)).peak_mem_bandwidth_gbs == 20.0
    assert after.taken == 0 and not after.logged          # quiet: nothing to say, nothing to re-take


@pytest.mark.parametrize("idle, why", [
    (_idle(3.0, 1.2), "others used 1.2 cores in the idle window"),
    (_idle(0.5, 0.0), "quiet, but shorter than MIN_QUIET_S (a 0.5 s gap between two jobs)"),
    ({}, "no idle window (a device without a baseline)"),
])
def test_no_re_take_without_a_long_quiet_idle_window(home, idle, why):
    specs.save_probe(DEV.id, _probe("contended", 3.0, T0 - timedelta(days=2)))
    bench = Bench(T0)
    bench.run(idle)
    assert bench.taken == 0, why
    assert specs.load_probe(DEV.id).bandwidth.value == 3.0
    assert any("rest on a probe taken on a busy machine" in line for line in bench.logged)


def test_a_quiet_or_unlabelled_stored_probe_is_never_re_taken_after_the_sweep(home):
    specs.save_probe(DEV.id, _probe("quiet", 20.0, T0 - timedelta(days=30)))
    bench = Bench(T0)
    bench.run(_idle(3.0, 0.0))
    assert bench.taken == 0 and not bench.logged
    assert peaks.retake_reason(specs.ProbeResult.from_dict({"measured_at": "2026-01-01"}), _idle(3.0, 0.0)[DEV.id], T0) is None


def test_an_undated_contended_probe_is_re_taken_after_a_quiet_bench(home):
    raw = _probe("contended", 3.0, T0)
    raw["measured_at"] = "yesterday-ish"
    stored = specs.ProbeResult.from_dict(raw)
    assert peaks.age_seconds(stored, T0) is None
    why = peaks.retake_reason(stored, _idle(2.0, 0.1)[DEV.id], T0)
    assert why and "of unknown age" in why


def test_a_stopped_re_take_stores_nothing_and_ends_quietly(home):
    specs.save_probe(DEV.id, _probe("contended", 3.0, T0 - timedelta(days=2)))
    logged: list[str] = []

    def stopped() -> dict:
        raise KeyboardInterrupt

    p = peaks.Peaks(logged.append, run_probe=lambda: 1 / 0, retake_probe=stopped, clock=lambda: T0)
    p.spec(DEV)
    assert p.retake(_idle(3.0, 0.0)) == []
    assert "interrupted: nothing stored" in logged[-1]
    assert specs.load_probe(DEV.id).bandwidth.value == 3.0


def test_a_bench_decides_after_its_sweep_on_its_own_idle_window(tmp_path, monkeypatch, smollm2_gguf):
    """A real bench (RunSession) on a home holding a two-day-old contended probe: its row rests on
    that probe (no probe between cases), the run says so once, and after the sweep it re-takes the
    probe exactly when its own recorded idle window (baseline.json) was quiet for at least
    MIN_QUIET_S — whichever this machine's load made it."""
    import json

    from edgeprof.devices.probe import probe
    from edgeprof.engine.config import BenchOptions
    from edgeprof.engine.session import RunSession

    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EDGEPROF_HISTORY", str(tmp_path / "history.sqlite"))
    notes: list[str] = []
    opts = BenchOptions(models=[str(smollm2_gguf)], prompt=[8], gen=[4], reps=1, warmup=0, min_seconds=0.0,
                        idle_seconds=peaks.MIN_QUIET_S + 0.2, threads=[1], out=tmp_path / "run", quiet=True)
    session = RunSession.for_bench(opts, note=notes.append)
    dev_id = next(d.info().id for d in session.devices if d.info().kind == "cpu")
    old = _probe("contended", 500.0, datetime.now(timezone.utc) - timedelta(days=2))  # a share under 100 %
    specs.save_probe(dev_id, old)
    session.start(quiet_workers=True)
    taken = []
    session.peaks.retake_probe = lambda: taken.append(1) or probe(8 << 20, 64, retries=0, load_window_s=0.05)
    (rec,) = session.run(quiet_workers=True)
    assert rec.ok, rec.error
    roof = rec.metrics["roofline_fraction"].provenance.to_dict()
    assert "CONTENDED" in str(roof), roof              # the row rests on the stored probe, labelled
    assert sum("rest on a probe taken on a busy machine" in n for n in notes) == 1, notes
    idle = IdleBaseline.from_dict(json.loads((tmp_path / "run" / "baseline.json").read_text()))
    due = peaks.retake_reason(specs.ProbeResult.from_dict(old), idle, datetime.now(timezone.utc)) is not None
    assert bool(taken) == due, (idle.load, notes)
    assert any("probing again now that the sweep is over" in n for n in notes) == due
    assert (specs.load_probe(dev_id).measured_at != old["measured_at"]) == due
