"""How exact each energy figure is, from the sensor's published resolution and update period
(issue 13, item 9).

Why: a RAPL counter moves in 15.3 µJ steps about every millisecond, an NVML counter every ~100 ms,
NVML power on Ampere+ is a 1-s average, an INA3221 rail has a 40 µV shunt LSB; a 30 ms prefill
"measured" with a 100 ms counter is mostly its update period. Each energy metric therefore
carries ``extra["uncertainty"]`` (± one repetition's figure, in the metric's own unit, the median
over repetitions; for ``idle_power_w``, ± the idle window's mean power) and
``extra["uncertainty_basis"]`` (the published figures it comes from) — or
``uncertainty: null`` with the basis saying why it is unknown (the TDP estimate is a model: no
accuracy is published for it). The per-window rule is ``devices.precision.energy_uncertainty_j``
(counter: two resolution steps + up to one update period of energy at each end; power: the
resolution integrated over the window plus the averaging lag). ``compare`` reads the figure: a
net energy at or below its uncertainty is "not measurable here". Which metrics are energy, and
how each one's figure follows from a window's, is the metric catalogue's ``energy`` column (RULES).
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, replace
from typing import Callable

from edgeprof.devices.precision import energy_uncertainty_j
from edgeprof.results import metric_catalogue
from edgeprof.results.metric_catalogue import MetricDef
from edgeprof.results.schema import Metric


def _window_u(tr, t0: int, t1: int, energy_j: float | None) -> float | None:
    p = tr.power.precision
    dt = (t1 - t0) / 1e9
    if p is None or dt <= 0:
        return None
    return energy_uncertainty_j(p, tr.power.quantity, dt, (energy_j or 0.0) / dt)


def _basis(tr) -> str:
    p = tr.power.precision
    if p is None:
        return f"unknown: {tr.power.sensor} publishes no resolution or update period"
    if p.resolution is None and p.accuracy is None:
        return f"unknown: {p.source or tr.power.sensor}"
    unit = "J" if tr.power.quantity == "energy_j" else "W"
    parts = [f"{what} {v:.3g} {u}" for what, v, u in (
        ("resolution", p.resolution, unit), ("update period", p.update_period_s, "s"),
        ("averaging", p.averaging_s, "s"), ("accuracy +/-", p.accuracy, unit)) if v is not None]
    return f"{tr.power.sensor}: {', '.join(parts)} ({p.source})"


def _median(xs: list[float | None]) -> float | None:
    known = [x for x in xs if x is not None]
    return statistics.median(known) if known and len(known) == len(xs) else None


@dataclass(frozen=True)
class Window:
    """One repetition's uncertainties, from which each rule makes its metric's figure."""

    u_j: float | None              # the repetition window's energy uncertainty
    dt_s: float
    n_generated: int
    idle_u_w: float | None         # the idle baseline's mean-power uncertainty
    phase_u_per_token: dict[str, float | None]   # "prefill"/"decode" → ± per token (absent: no such phase)
    n_inferences: int = 0          # an inference case's forward passes in the repetition
    batch: int = 1


#: energy rule (``MetricDef.energy``) → one repetition's uncertainty of such a metric; SKIP when the
#: repetition has no such figure (a phase without tokens). "idle" is one figure per case, and
#: "attributed" is scaled where it is computed (analysis/attribution.py): neither is per repetition.
SKIP = object()
RULES: dict[str, Callable[[Window], object]] = {
    "window": lambda w: w.u_j,
    "per_second": lambda w: None if w.u_j is None or w.dt_s <= 0 else w.u_j / w.dt_s,
    "per_token": lambda w: None if w.u_j is None or not w.n_generated else w.u_j / w.n_generated,
    "net": lambda w: None if w.u_j is None or w.idle_u_w is None else w.u_j + w.idle_u_w * w.dt_s,
    "prefill_per_token": lambda w: w.phase_u_per_token.get("prefill", SKIP),
    "decode_per_token": lambda w: w.phase_u_per_token.get("decode", SKIP),
    "per_inference": lambda w: SKIP if not w.n_inferences else None if w.u_j is None else w.u_j / w.n_inferences,
    "per_sample": lambda w: (SKIP if not w.n_inferences else None if w.u_j is None
                             else w.u_j / (w.n_inferences * w.batch)),
}


def annotate(tr, out: dict[str, Metric], energy_of: Callable[[int, int], float | None],
             catalogue: list[MetricDef] | None = None) -> dict[str, Metric]:
    """``out`` with each energy metric's ``uncertainty`` and its basis (``energy_of(t0, t1)``: the
    window energy the metrics used). Which metrics, and by which rule, is the catalogue's
    ``energy`` column (``catalogue`` defaults to the metric catalogue)."""
    if tr.power is None:
        return out
    defs = [d for d in (metric_catalogue.CATALOGUE if catalogue is None else catalogue)
            if d.energy and d.name in out]
    per_rep: dict[str, list[float | None]] = {d.name: [] for d in defs if d.energy in RULES}
    idle_u_w = None
    idle_s = tr.idle_provenance.period_s if tr.idle_provenance else None
    if tr.idle_power_w is not None and idle_s:
        u = _window_u(tr, 0, int(idle_s * 1e9), tr.idle_power_w * idle_s)
        idle_u_w = None if u is None else u / idle_s
    for r in tr.reps:
        t0, t1 = r.window
        e = energy_of(t0, t1)
        if e is None:
            continue
        phases = {}
        for phase, n, key in ((r.prefill, r.n_prefill, "prefill"), (r.decode, r.n_decode, "decode")):
            if phase and n:
                up = _window_u(tr, *phase, energy_of(*phase))
                phases[key] = None if up is None else up / n
        facts = getattr(tr, "inference", None)
        w = Window(_window_u(tr, t0, t1, e), (t1 - t0) / 1e9, r.n_generated, idle_u_w, phases,
                   n_inferences=r.n_inferences, batch=facts.batch if facts is not None else 1)
        for d in defs:
            if d.energy in RULES:
                v = RULES[d.energy](w)
                if v is not SKIP:
                    per_rep[d.name].append(v)
    if tr.idle_power_w is not None:
        per_rep.update({d.name: [idle_u_w] for d in defs if d.energy == "idle"})
    basis = _basis(tr)
    done = dict(out)
    for name, us in per_rep.items():
        if us:
            u = _median(us)
            note = basis if u is not None or basis.startswith("unknown") else f"unknown for some repetitions; {basis}"
            done[name] = replace(done[name], extra={**done[name].extra, "uncertainty": u, "uncertainty_basis": note})
    return done


def short_windows(reps, check: Callable[[float], str | None]) -> list[str]:
    """Warnings for windows too short for the power sensor (``check``: the device's
    ``window_warning``, devices/precision.py ``too_short``, which names the repetitions needed): the
    shortest repetition (every energy figure rests on it), else the shortest prefill or decode
    phase (its per-token energy alone)."""
    def shortest(spans) -> float | None:
        spans = [x for x in spans if x]
        return min(b - a for a, b in spans) / 1e9 if spans else None

    whole = shortest(r.window for r in reps)
    w = check(whole) if whole is not None else None
    if w:
        return [w]
    out = []
    for phase in ("prefill", "decode"):
        dur = shortest(getattr(r, phase) for r in reps)
        w = check(dur) if dur is not None else None
        if w:
            out.append(f"{phase}_energy_per_token_j: the {phase} {w}")
    return out
