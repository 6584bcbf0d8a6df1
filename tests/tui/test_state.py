"""What the live screen computes from the event stream, checked against the records the same run
wrote: live repetition rates and TTFT, elapsed/ETA, bounded history, fixed chart scales, charts
with axes and baseline, and the reference row a planned case meets."""
from __future__ import annotations

import dataclasses
import statistics

from edgeprof.compare.reference import RefSet
from edgeprof.results.schema import ModelInfo
from edgeprof.views.tui import refview
from edgeprof.views.tui.widgets import plot
from edgeprof.views.tui.runner import ReplayRun
from edgeprof.views.tui.series import BIN_NS, HISTORY_S, Scale, Series, nice_ceiling
from edgeprof.views.tui.state import RunState


def test_live_figures_agree_with_the_records(recorded):
    st = RunState()
    live_tps_seen, ttft_live = [], []
    for e in recorded:
        st.apply(e)
        if st.case and st.case.live_tps:
            live_tps_seen.append(st.case.live_tps)
        if e.type == "case_finished":
            rec = e.record
            ttft_live.append(rec)
    assert len(st.finished) == 2 and st.ended is not None and st.ended.n_ok == 2
    assert live_tps_seen, "token_progress events gave no live tokens/s"
    # the repetition rates the screen shows while running are the record's decode samples
    st2 = RunState()
    rates = {}
    for e in recorded:
        st2.apply(e)
        if e.type == "phase_ended" and e.name == "repetition" and st2.case:
            rates[st2.case.case_id] = (list(st2.case.rep_tps), list(st2.case.ttft_ms), st2.case.prefill_median_tps)
    for rec in st.finished:
        tps, ttft, prefill = rates[rec.case_id]
        assert prefill == rec.metric("prefill_tokens_per_s").median
        m = rec.metric("decode_tokens_per_s")
        assert [round(x, 6) for x in tps] == [round(x, 6) for x in m.samples]
        assert statistics.median(tps) == m.median
        assert [round(x, 3) for x in ttft] == [round(x, 3) for x in rec.metric("ttft_ms").samples]


def test_elapsed_and_eta(recorded):
    st = RunState()
    etas = []
    for e in recorded:
        st.apply(e)
        if st.case and st.case.measured:
            etas.append(st.eta_s(e.t_ns))
    assert etas and all(x is not None and x >= 0 for x in etas)
    assert st.eta_s(st.last_t_ns) == 0.0                       # the run has ended
    assert abs(st.elapsed_s(st.last_t_ns) - (recorded[-1].t_ns - recorded[0].t_ns) / 1e9) < 1e-6
    assert st.idle["idle_power_w"] is not None and any(p[0] == "idle" for p in st.phases)
    assert {"prefill", "decode", "load"} <= {p[0] for p in st.phases}


def test_history_is_bounded_and_binned():
    s = Series()
    t = 0
    for _ in range(200 * 600):            # ten minutes at 200 Hz
        s.add(t, 5.0)
        t += 5_000_000
    assert len(s.bins) == HISTORY_S * 1_000_000_000 // BIN_NS
    assert s.peak(t, 60) == 5.0 and s.window(t, 60)[-1].n > 0
    assert s.mean_since(t - 10_000_000_000) == 5.0


def test_scale_is_fixed_nice_and_moves_at_most_once_a_second():
    sc = Scale()
    assert sc.fit(12.0, 0) == 20.0
    assert sc.fit(3.0, 2_000_000_000) == 20.0           # never shrinks
    assert sc.fit(30.0, 2_100_000_000) == 50.0
    assert sc.fit(80.0, 2_500_000_000) == 50.0          # less than a second later: unchanged
    assert sc.fit(80.0, 3_200_000_000) == 100.0
    assert [nice_ceiling(x) for x in (0.7, 1.0, 1.3, 2.2, 3, 7.5, 120)] == [1, 1, 2, 2.5, 5, 10, 200]


def test_a_constant_power_draws_the_same_bars_in_every_frame():
    s = Series()
    for i in range(400):
        s.add(i * 50_000_000, 12.0)
    frames = [plot.render(plot.columns(s, now, 20, 30), 20.0, 6, baseline=4.0, span_s=20).plain.splitlines()
              for now in (19_000_000_000, 19_500_000_000)]
    heights = [{ln[4:].count("█") for ln in f[:-1]} for f in frames]
    assert heights[0] == heights[1]
    first = frames[0]
    assert first[0].startswith("20┤") and first[-2].startswith(" 0┤") and "−20 s" in first[-1]
    assert "now" in first[-1]


def test_baseline_is_drawn_where_nothing_covers_it():
    s = Series()
    s.add(9_900_000_000, 2.0)
    text = plot.render(plot.columns(s, 10_000_000_000, 10, 20), 10.0, 5, baseline=6.0).plain.splitlines()
    assert "╌" in text[5 - 1 - 3]  # row 3 of 5 from the bottom holds 6 W of 10


def _as(rset: RefSet, **model) -> RefSet:
    """The set with its rows' model replaced (another model, another size)."""
    recs = [dataclasses.replace(r, model=ModelInfo(**model)) for r in rset.records]
    return RefSet(rset.name + "-x", rset.path, rset.meta, recs, rset.origin)


def test_planned_match_kinds(refsets):
    """The references layer's plan_matches decides; the panel shows its kind, row and notes."""
    mine = next(s for s in refsets if s.name == "earlier-run")
    r = mine.records[0]
    w, m = r.workload.to_dict(), r.model.to_dict()
    exact = refview.plan(m, r.artifact.quant, w, [mine])
    assert exact.kind == "exact" and exact.record is r and exact.row == refview.row_label(r)
    assert refview.plan(m, "q8_0", w, [mine]).kind == "same-model"
    other = _as(mine, id="other-model", name="Other Model", params=r.model.params * 3)
    norm = refview.plan(m, r.artifact.quant, w, [other])
    assert norm.kind == "normalized" and any("per parameter" in n for n in norm.notes)
    far = _as(mine, id="other-model", name="Other Model", params=r.model.params * 5)
    assert refview.plan(m, r.artifact.quant, w, [far]).kind == "none"
    none = refview.plan(m, r.artifact.quant, {**w, "prompt_tokens": 999}, [mine])
    assert none.kind == "none" and "reference add" in none.notes[-1]


def test_replay_of_a_recording_folds_every_event():
    from tests.tui.conftest import EVENTS

    run = ReplayRun.from_file(EVENTS, upto=50)
    assert run.stage == "running" and run.state.last_t_ns > 0
    assert "recorded run" in run.control("pause")
    full = ReplayRun.from_file(EVENTS)
    assert full.stage == "done" and len(full.records) == 2


def test_model_info_unchanged_by_planning(refsets):
    # planning reads the sets, never rewrites them
    before = [r.model for s in refsets for r in s.records]
    refview.plan({"id": "x", "params": 1e8}, "q4_1", {"prompt_tokens": 1, "gen_tokens": 1, "depth": 0, "n_seqs": 1},
                 refsets)
    assert [r.model for s in refsets for r in s.records] == before
    assert isinstance(before[0], ModelInfo)


def test_sensors_of_the_sampled_device_first_others_marked(tmp_path):
    from edgeprof.engine import events as ev
    from edgeprof.engine.device_choice import bench_device, open_devices
    from edgeprof.engine.session import describe_devices
    from tests.fixtures.boards import build

    found = open_devices(build(tmp_path, "agx-orin-jp5"))
    try:
        desc, label = describe_devices(found, bench_device(found, {}))
    finally:
        for d in found:
            d.close()
    st = RunState()
    st.apply(ev.RunStarted(run_dir="r", total=1, device=desc, power_label=label))
    mine = st.sensor_rows(others=False)
    every = st.sensor_rows()
    assert {r.info.name for r in mine} >= {"emc:clock"} and all(r.other is None for r in mine)
    others = [r for r in every if r.other]
    assert others and {r.other for r in others} == {d.name for d in desc.devices if d.id != desc.id}
    emc = next(r.info for r in mine if r.info.name == "emc:clock")
    assert not emc.available and "debugfs" in emc.reason and emc.hint


def test_new_run_form_validates_as_the_command_line_does():
    import pytest

    from edgeprof.errors import UsageError
    from edgeprof.views.tui import homeform

    base = {"prompt": "32,64", "gen": "16", "depth": "0", "threads": "auto", "reps": "3"}
    o = homeform.build_options(None, ["smollm2-135m-instruct"], base)
    assert (o.prompt, o.gen, o.threads, o.reps, o.models) == ([32, 64], [16], None, 3, ["smollm2-135m-instruct"])
    s = homeform.build_options(None, ["m"], base, suite="llamacpp-scoreboard")
    assert s.suite == ["llamacpp-scoreboard"]           # a suite fixes the workload: the fields are left out
    for field, bad, flag in (("prompt", "12,a", "-p"), ("threads", "0", "-t"), ("reps", "0", "--reps")):
        with pytest.raises(UsageError, match=flag):
            homeform.build_options(None, ["m"], {**base, field: bad})
    with pytest.raises(UsageError, match="measures nothing"):
        homeform.build_options(None, ["m"], {**base, "prompt": "0", "gen": "0"})


def test_the_model_with_server_rows_is_one_pick_away(tmp_path, monkeypatch):
    """LocalScore's tiny GGUF is listed with its size and its server rows; picking it downloads it
    on start (``--pull``), and "match reference" sets the suite its rows were measured with, whose
    plan line is an exact match — the path from the home screen to a server comparison."""
    from edgeprof.compare.refsets import load_sets
    from edgeprof.views.tui import homeform

    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path / "home"))
    choices = {c.arg: c for c in homeform.discover(tmp_path)}
    llama = choices["llama-3.2-1b-instruct-q4_k_m"]
    assert llama.pull and "0.81 GB download on start (hub: bartowski/" in llama.label
    assert "493 LocalScore server rows" in llama.label
    assert not choices["smollm2-135m-instruct"].pull
    assert "prepared on start" in choices["smollm2-135m-instruct-hf"].label
    base = {"prompt": "32", "gen": "16", "depth": "0", "threads": "auto", "reps": "3"}
    assert homeform.build_options(None, [llama.arg], base, pull=True).pull
    assert not homeform.build_options(None, ["smollm2-135m-instruct"], base).pull
    sets = load_sets(tmp_path / "no-user-sets")
    preset = homeform.reference_workloads(llama.model_id, sets, llama.name)
    assert preset == {"suite": "localscore"}
    opts = homeform.build_options(None, [llama.arg], base, suite="localscore", pull=True)
    (kind, text), *_ = homeform.plan_lines([llama], opts, sets)
    assert kind == "exact" and "suite localscore" in text and "localscore:" in text, text
    assert homeform.reference_workloads("smollm2-135m-instruct", sets) is None
    smol = homeform.build_options(None, ["smollm2-135m-instruct"], base)
    (kind, text), *_ = homeform.plan_lines([choices["smollm2-135m-instruct"]], smol, sets)
    assert kind == "none" and "PREDICTED figures for h100,h200 instead" in text, text   # not a bare "no reference"


def test_a_finished_cases_worker_is_not_a_lost_sensor():
    """Between cases the worker has exited by design: its sensors read "no case running", while a
    power sensor that vanishes still says so, and a value keeps its unit and estimate mark."""
    from edgeprof.devices.base import Reading

    from edgeprof.views.tui.widgets.sensors import reading_text

    gone = "vanished mid-run (t_ns 5): worker 42 is gone"
    assert reading_text(Reading("worker:rss", "rss_bytes", None, 5, "psutil", "process", reason=gone)) == \
        "— (no case running)"
    assert reading_text(Reading("rapl:package-0", "energy_j", None, 5, "rapl", "cpu_package",
                                reason="vanished mid-run (t_ns 5): gone")).startswith("n/a (vanished")
    assert reading_text(Reading("cpu:power_estimate", "power_w", 9.3, 5, "tdp_model", "cpu_package",
                                kind="estimated")) == "~9.30 W"
