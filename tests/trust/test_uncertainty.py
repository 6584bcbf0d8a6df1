"""Each energy figure states its uncertainty from the sensor's published resolution and update
period, or says it is unknown; a net energy below it is not compared as a ratio."""
from __future__ import annotations

from dataclasses import replace

import pytest

from edgeprof.devices import precision as base
from edgeprof.devices.base import Reading
from edgeprof.analysis.metrics import PowerSource, Trace, compute
from edgeprof.compare import paired as cmp
from edgeprof.engine.sampler import Sample
from edgeprof.results.schema import Provenance, Record, Repetition

S = 1_000_000_000
ENERGY = ("energy_gross_j", "avg_power_w", "energy_per_token_j", "energy_net_j", "prefill_energy_per_token_j",
          "decode_energy_per_token_j")


def _counter_trace(watts: float, idle_w: float, precision=None) -> Trace:
    """A RAPL-like cumulative counter at ``watts``; three 1.5 s repetitions; a 2 s idle window."""
    samples = [Sample(int(i * S / 20), (Reading("rapl:package", "energy_j", watts * i / 20, int(i * S / 20), "rapl",
                                                "cpu_package"),)) for i in range(201)]
    reps = [Repetition(rep=i, prefill=((1 + 2 * i) * S, (1 + 2 * i) * S + S // 2), n_prefill=100,
                       decode=((1 + 2 * i) * S + S // 2, (2 + 2 * i) * S + S // 2), n_decode=9,
                       token_ns=(S // 9,) * 9, n_generated=10) for i in range(3)]
    return Trace(reps=reps, samples=samples, sample_hz=20,
                 power=PowerSource("rapl:package", "energy_j", Provenance("measured", "rapl", "cpu_package"), precision),
                 idle_power_w=idle_w, idle_provenance=Provenance("measured", "rapl", "cpu_package", period_s=2.0))


def test_without_published_figures_every_energy_metric_says_unknown():
    m = compute(_counter_trace(10.0, 4.0))
    for name in ENERGY + ("idle_power_w",):
        assert m[name].extra["uncertainty"] is None, name
        assert m[name].extra["uncertainty_basis"].startswith("unknown"), name
    from edgeprof.results.printers import legend

    assert any("energy uncertainty from the sensor: unknown" in line for line in legend([Record("c").with_metrics(m)]))


def test_rapl_counter_uncertainty_from_its_resolution_and_update_period():
    m = compute(_counter_trace(10.0, 4.0, base.RAPL))
    res, period = base.RAPL.resolution, base.RAPL.update_period_s  # 15.3 uJ, ~1 ms (Intel SDM; Haehnel 2012)
    gross_u = 2 * res + 2 * 10.0 * period                           # two steps + one update of energy per end
    assert m["energy_gross_j"].extra["uncertainty"] == pytest.approx(gross_u)
    assert m["avg_power_w"].extra["uncertainty"] == pytest.approx(gross_u / 1.5)
    assert m["energy_per_token_j"].extra["uncertainty"] == pytest.approx(gross_u / 10)
    idle_u_w = (2 * res + 2 * 4.0 * period) / 2.0
    assert m["energy_net_j"].extra["uncertainty"] == pytest.approx(gross_u + idle_u_w * 1.5)
    assert m["idle_power_w"].extra["uncertainty"] == pytest.approx(idle_u_w)
    assert m["energy_gross_j"].extra["uncertainty_basis"] == (
        "rapl:package: resolution 1.53e-05 J, update period 0.001 s (Intel SDM Vol. 3B 14.9.1 (energy unit "
        "1/2^16 J = 15.3 uJ); update ~1 ms per Haehnel et al., SIGMETRICS PER 2012)")


def test_net_energy_below_its_uncertainty_is_not_measurable():
    # the idle baseline is the case's own power to within a milliwatt: the net is noise
    a = Record("a", model=Record.from_dict({"model": {"id": "m"}}).model).with_metrics(
        compute(_counter_trace(10.0, 9.999, base.RAPL)))
    b = Record("b", model=a.model).with_metrics(compute(_counter_trace(10.0, 9.0, base.RAPL)))
    net_a = a.metric("energy_net_j")
    assert 0 < net_a.center < net_a.extra["uncertainty"]
    row = cmp.compare(cmp.Side("A", "run", [a]), cmp.Side("B", "run", [b]), metrics=["energy_net_j"]).rows[0]
    assert row.verdict == "not measurable here" and "within its own uncertainty" in row.why


def test_a_counter_read_faster_than_it_updates_is_interpolated_between_updates():
    """An NVML-like counter (1 mJ, a new value every 100 ms) read every 50 ms repeats each value
    once. The repeats are dropped before interpolating, so an edge falls between real updates:
    at constant 10 W the window energy is exact, where the raw staircase was 0.38 J (6 %) high;
    the stated uncertainty (two steps + one update period of energy per edge) still bounds it."""
    from edgeprof.devices.base import Precision
    from edgeprof.analysis import energy as en

    nvml = Precision(resolution=1e-3, update_period_s=0.1, source="test: NVML-like counter")
    samples = []
    for i in range(60):
        t = 10_000_000 + i * 50_000_000                        # read at 10, 60, 110, ... ms
        value = 10.0 * (t // 100_000_000) * 0.1                 # the counter as of its last update
        samples.append(Sample(t, (Reading("nvidia0:energy", "energy_j", value, t, "nvml_energy_counter", "gpu_board"),)))
    t0, t1 = int(1.159 * S), int(1.799 * S)
    ser = en.series(samples, "nvidia0:energy", "energy_j")
    staircase = en.interp(ser, t1) - en.interp(ser, t0)
    assert staircase == pytest.approx(6.78)                     # 0.59 J stale at t0, 0.21 J at t1
    assert en.counter_delta_j(ser, t0, t1) == pytest.approx(6.40, abs=1e-9)
    rep = Repetition(rep=0, decode=(t0, t1), n_decode=8, n_generated=8, token_ns=(80_000_000,) * 8)
    tr = Trace(reps=[rep], samples=samples, sample_hz=20, power=PowerSource(
        "nvidia0:energy", "energy_j", Provenance("measured", "nvml_energy_counter", "gpu_board"), nvml))
    m = compute(tr)
    assert m["energy_gross_j"].value == pytest.approx(6.40, abs=1e-9)
    assert m["energy_gross_j"].provenance.period_s == pytest.approx(0.05)     # how often it was read
    assert m["energy_gross_j"].extra["uncertainty"] == pytest.approx(2 * 1e-3 + 2 * 10.0 * 0.1)
    # a counter that never moves still reads as stale, not as a device drawing 0 W
    flat = [Sample(s.t_ns, (replace(s.readings[0], value=5.0),)) for s in samples]
    tr_flat = Trace(reps=[rep], samples=flat, sample_hz=20, power=tr.power)
    assert "energy_gross_j" not in compute(tr_flat) and any("did not move" in w for w in tr_flat.warnings)


def test_too_short_windows_are_named_with_the_repetitions_needed():
    """RAPL (~1 ms) resolves a 50 ms repetition; an INA3221 averaging 16 samples (update_interval
    106 ms) does not, and a 2 s repetition whose 40 ms prefill it cannot resolve is named by the
    figure that rests on that prefill."""
    from edgeprof.devices.precision import RAPL, ina3221, too_short
    from edgeprof.analysis.uncertainty import short_windows

    rail = ina3221(5000, 5064, 1136, 106)
    quick = [Repetition(rep=i, prefill=(i * S, i * S + S // 20), n_prefill=8) for i in range(3)]
    assert short_windows(quick, lambda w: too_short(RAPL, w)) == []
    (w,) = short_windows(quick, lambda w: too_short(rail, w))
    assert w.startswith("window 50 ms is shorter than 5 x the sensor's update period (106 ms)")
    assert "measure >= 0.53 s (about 11 repetitions of this length" in w
    long = [Repetition(rep=0, prefill=(0, S // 25), n_prefill=8, decode=(S // 25, 2 * S), n_decode=100)]
    (w,) = short_windows(long, lambda w: too_short(rail, w))
    assert w.startswith("prefill_energy_per_token_j: the prefill window 40 ms is shorter than 5 x")


def test_a_metric_marked_energy_in_the_catalogue_gets_an_uncertainty():
    """Which metrics are energy is the catalogue's ``energy`` column, not a list in
    analysis/uncertainty.py: a metric added with ``energy="per_token"`` (here a fixture row, as a
    plug-in would register it) gets the per-token uncertainty with no other edit; unmarked, none."""
    from edgeprof.analysis import uncertainty
    from edgeprof.analysis.energy import series, window_energy_j
    from edgeprof.results import metric_catalogue as mc
    from edgeprof.analysis.stats import metric

    tr = _counter_trace(10.0, 4.0, base.RAPL)
    m = compute(tr)
    mine = metric([x / 10 for x in m["energy_gross_j"].samples], "J/token", m["energy_gross_j"].provenance)
    ser = series(tr.samples, "rapl:package", "energy_j")
    energy_of = lambda t0, t1: window_energy_j(ser, "energy_j", t0, t1)  # noqa: E731
    plain = uncertainty.annotate(tr, {**m, "fixture_energy_per_token_j": mine}, energy_of)
    assert "uncertainty" not in plain["fixture_energy_per_token_j"].extra      # not marked: not energy
    mc.register(mc.MetricDef("fixture_energy_per_token_j", "J/token", "lower", "cost", energy="per_token"))
    try:
        marked = uncertainty.annotate(tr, {**m, "fixture_energy_per_token_j": mine}, energy_of)
    finally:
        mc.unregister("fixture_energy_per_token_j")
    got = marked["fixture_energy_per_token_j"].extra
    assert got["uncertainty"] == pytest.approx(m["energy_per_token_j"].extra["uncertainty"]) and got["uncertainty"] > 0
    assert got["uncertainty_basis"] == m["energy_gross_j"].extra["uncertainty_basis"]
    assert {d.name for d in mc.energy_metrics()} >= set(ENERGY) | {"idle_power_w", "process_energy_j"}
