"""Each energy figure states its uncertainty from the sensor's published resolution and update
period, or says it is unknown; a net energy below it is not compared as a ratio."""
from __future__ import annotations

import pytest

from devices import precision as base
from devices.base import Reading
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
    for name in ENERGY:
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
    assert "Intel SDM" in m["energy_gross_j"].extra["uncertainty_basis"]


def test_net_energy_below_its_uncertainty_is_not_measurable():
    # the idle baseline is the case's own power to within a milliwatt: the net is noise
    a = Record("a", model=Record.from_dict({"model": {"id": "m"}}).model).with_metrics(
        compute(_counter_trace(10.0, 9.999, base.RAPL)))
    b = Record("b", model=a.model).with_metrics(compute(_counter_trace(10.0, 9.0, base.RAPL)))
    net_a = a.metric("energy_net_j")
    assert 0 < net_a.center < net_a.extra["uncertainty"]
    row = cmp.compare(cmp.Side("A", "run", [a]), cmp.Side("B", "run", [b]), metrics=["energy_net_j"])["rows"][0]
    assert row["verdict"] == "not measurable here" and "within its own uncertainty" in row["why"]
