"""Sustained against burst: one case run continuously (``--sustain DURATION``), cut into windows of
``--sustain-window`` seconds (default 10), each with its decode tok/s, J/token, power, temperature
and clocks.

Why windows: phones and fanless boards run fast for a minute and then slow down, so a short bench
reports the burst. Here:
- **burst** = the first window; **sustained** = the median of the windows of the last third;
- **noise band** = ±max(5 %, 2 × the coefficient of variation of the repetitions' decode rates in
  the first third) — how much t/s moves on its own before anything heats up;
- **throttle onset** = the start of the first window (after the burst) whose mean clock falls more
  than 5 % below its reference — the mode's ceiling from the run context, or the burst window's
  mean where that is lower (idle cores pull a mean over cores below the ceiling) — or whose decode
  t/s falls below the burst by more than the noise band; each cause is reported on its own;
- **steady-state temperature** = the median over the last third of the hottest zone's window mean.
Windows hold only full windows of the measured span (a partial tail is dropped and counted).
Token times come from the repetitions (decode start + per-token intervals); power, temperature and
clocks from the sampler's readings (the case's samples), energy with analysis/energy.py's rules.
"""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from edgeprof.analysis.energy import series, time_average, window_energy_j

CLOCK_MARGIN = 0.05
MIN_BAND = 0.05
#: clock sensors and the context field holding the mode's ceiling for them
CEILINGS = {"cpu:clock": "cpu_max_mhz", "gpu:clock": "gpu_max_mhz", "emc:clock": "emc_max_mhz"}


@dataclass(frozen=True)
class Window:
    t_s: float                       # start, seconds from the first measured repetition
    decode_tps: float | None
    tokens: int
    j_per_token: float | None
    power_w: float | None
    temp_c: float | None             # hottest zone's mean over the window
    clocks_mhz: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Sustain:
    window_s: float
    span_s: float
    windows: tuple[Window, ...]
    burst: Window | None
    sustained_tps: float | None
    sustained_j_per_token: float | None
    last_third: int                  # how many windows the sustained figure is the median of
    noise_band: float
    onset_s: float | None
    onset_cause: str | None
    clock_onset_s: float | None
    rate_onset_s: float | None
    steady_temp_c: float | None
    notes: tuple[str, ...] = ()
    clock_cause: str | None = None
    rate_cause: str | None = None

    @property
    def ratio(self) -> float | None:
        b = self.burst.decode_tps if self.burst else None
        return self.sustained_tps / b if b and self.sustained_tps is not None else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ratio"] = self.ratio
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Sustain":
        """The record's ``sustain`` field read back (unknown keys ignored: a newer writer's extras)."""
        def win(w: dict[str, Any]) -> Window:
            return Window(**{k: w.get(k) for k in Window.__dataclass_fields__ if k != "clocks_mhz"},
                          clocks_mhz=dict(w.get("clocks_mhz") or {}))
        names = [f for f in cls.__dataclass_fields__ if f not in ("windows", "burst", "notes")]  # absent: None
        return cls(**{k: d.get(k) for k in names}, windows=tuple(win(w) for w in d.get("windows") or []),
                   burst=win(d["burst"]) if d.get("burst") else None, notes=tuple(d.get("notes") or ()))

    def _other_cause(self) -> str:
        """The later of the two onsets, when both were seen: each cause is reported on its own."""
        for t, why, what in ((self.clock_onset_s, self.clock_cause, "clocks fell"),
                             (self.rate_onset_s, self.rate_cause, "t/s fell")):
            if t is not None and t != self.onset_s and why:
                return f"; {what} at {t:g} s ({why})"
        return ""

    def text(self, label: str) -> list[str]:
        """Burst against sustained, in lines a person reads under the bench table."""
        def fig(tps: float | None, jpt: float | None) -> str:
            return (f"{tps:.3g} tok/s" if tps is not None else "n/a tok/s") + (f", {jpt:.3g} J/token" if jpt else "")
        if self.burst is None:
            return [f"sustained vs burst, {label}: no full window ({'; '.join(self.notes)})"]
        b, r = self.burst, self.ratio
        out = [f"sustained vs burst, {label} ({len(self.windows)} windows of {self.window_s:g} s over {self.span_s:.0f} s):",
               f"  burst (first window): {fig(b.decode_tps, b.j_per_token)}",
               f"  sustained (median of the last {self.last_third} window(s)): "
               f"{fig(self.sustained_tps, self.sustained_j_per_token)}" + (f" = {100 * r:.0f} % of burst" if r else ""),
               "  throttle onset: " + (f"{self.onset_s:g} s ({self.onset_cause})" + self._other_cause()
                                       if self.onset_s is not None else
                                       f"none within {self.span_s:.0f} s ("
                                       + (f"clocks within {100 * CLOCK_MARGIN:.0f} % of their reference, "
                                          if self.burst.clocks_mhz else "no clock readings here; ")
                                       + f"t/s within the noise band ±{100 * self.noise_band:.0f} %)"),
               "  steady-state temperature: " + (f"{self.steady_temp_c:.1f} C" if self.steady_temp_c is not None
                                                  else "unknown (no thermal zone read)")]
        return out + [f"  note: {n}" for n in self.notes]


def _token_times(reps: Sequence) -> list[int]:
    """Completion time (ns) of every generated token: the first from prefill, the rest from decode."""
    out: list[int] = []
    for r in reps:
        if r.prefill and r.n_generated:
            out.append(r.prefill[1])
        if r.decode and r.token_ns:
            t = r.decode[0]
            for dt in r.token_ns:
                t += dt
                out.append(t)
    return sorted(out)


def _decode_spans(reps: Sequence) -> list[tuple[int, int, int]]:
    """(t0, t1, tokens) of each repetition's decode phase."""
    return [(r.decode[0], r.decode[1], len(r.token_ns)) for r in reps if r.decode and r.token_ns]


def _decode_rate(reps: Sequence, t0: int, t1: int) -> float | None:
    """Decode tokens per second of decode time inside [t0, t1): each token counts by the share of
    its own interval that lies inside (a token straddling the edge is split, not moved), so a
    steady rate reads exactly that rate in every window; prefill time is not decode time."""
    busy, n = 0, 0.0
    for r in reps:
        if not (r.decode and r.token_ns):
            continue
        a = r.decode[0]
        for dt in r.token_ns:
            b = a + dt
            inside = min(b, t1) - max(a, t0)
            if inside > 0 and dt > 0:
                busy += inside
                n += inside / dt
            a = b
    return n / (busy / 1e9) if busy > 0 and n else None


def _by_quantity(samples: Sequence, quantity: str) -> dict[str, list[tuple[int, float]]]:
    names = {r.sensor for s in samples for r in s.readings if r.quantity == quantity and r.value is not None}
    return {n: series(samples, n, quantity) for n in sorted(names)}


def _mean(ser: list[tuple[int, float]], t0: int, t1: int) -> float | None:
    inside = [v for t, v in ser if t0 <= t < t1]
    if inside:
        return sum(inside) / len(inside)
    return time_average(ser, t0, t1) if ser and ser[0][0] <= t0 and ser[-1][0] >= t1 else None


def analyse(reps: Sequence, samples: Sequence, window_s: float, power_sensor: str | None = None,
            power_quantity: str = "power_w", ceilings: dict[str, float] | None = None,
            caveats: Sequence[str] = ()) -> Sustain:
    """See the module docstring. ``ceilings``: the run context's clock ceilings (MHz) by context
    field; ``caveats``: notes the figures carry (estimated power, a busy machine)."""
    reps = [r for r in reps if getattr(r, "label", "measure") == "measure" and (r.prefill or r.decode)]
    notes: list[str] = list(caveats)
    if not reps:
        return Sustain(window_s, 0.0, (), None, None, None, 0, MIN_BAND, None, None, None, None, None,
                       ("no measured repetition",))
    start = min(r.window[0] for r in reps)
    end = max(r.window[1] for r in reps)
    step = int(window_s * 1e9)
    n = int((end - start) // step)
    if (end - start) - n * step > 0:
        notes.append(f"a partial last window of {((end - start) - n * step) / 1e9:.1f} s is left out")
    tokens = _token_times(reps)
    power = series(samples, power_sensor, power_quantity) if power_sensor else []
    temps = _by_quantity(samples, "temperature_c")
    clocks = _by_quantity(samples, "clock_mhz")
    wins = []
    for k in range(n):
        t0, t1 = start + k * step, start + (k + 1) * step
        ntok = sum(1 for t in tokens if t0 <= t < t1)
        energy = window_energy_j(power, power_quantity, t0, t1) if power else None
        zone = [m for m in (_mean(s, t0, t1) for s in temps.values()) if m is not None]
        wins.append(Window(round(k * window_s, 3), _decode_rate(reps, t0, t1), ntok,
                           energy / ntok if energy is not None and ntok else None,
                           energy / window_s if energy is not None else None, max(zone) if zone else None,
                           {name: round(m, 1) for name, s in clocks.items() if (m := _mean(s, t0, t1)) is not None}))
    if not power_sensor:
        notes.append("no power sensor: J/token and power are not measured here")
    if not temps:
        notes.append("no temperature sensor: no steady-state temperature")
    if not wins:
        return Sustain(window_s, (end - start) / 1e9, (), None, None, None, 0, MIN_BAND, None, None, None, None,
                       None, tuple(notes + [f"the measured span is shorter than one window of {window_s:g} s"]))
    third = max(1, -(-len(wins) // 3))
    last = wins[-third:]
    med = lambda xs: statistics.median(xs) if xs else None  # noqa: E731
    band = _noise_band(reps, start, start + third * step, [w.decode_tps for w in wins[:third]])
    burst = wins[0]
    clock_on, rate_on, why = None, None, {}
    refs = _clock_refs(burst, ceilings or {}, notes)
    for w in wins[1:]:
        low = [f"{c} {w.clocks_mhz[c]:g} MHz < {ref:g} MHz - {100 * CLOCK_MARGIN:.0f} %" for c, ref in refs.items()
               if c in w.clocks_mhz and w.clocks_mhz[c] < ref * (1 - CLOCK_MARGIN)]
        if clock_on is None and low:
            clock_on, why["clock"] = w.t_s, "; ".join(low)
        if (rate_on is None and burst.decode_tps and w.decode_tps is not None
                and w.decode_tps < burst.decode_tps * (1 - band)):
            rate_on, why["rate"] = w.t_s, (f"decode {w.decode_tps:.3g} t/s < burst {burst.decode_tps:.3g} t/s by more "
                                           f"than the noise band ±{100 * band:.0f} %")
    onset = min((t for t in (clock_on, rate_on) if t is not None), default=None)
    cause = "; ".join(why[k] for k, t in (("clock", clock_on), ("rate", rate_on)) if t == onset) if onset is not None \
        else None
    return Sustain(window_s, round((end - start) / 1e9, 3), tuple(wins), burst,
                   med([w.decode_tps for w in last if w.decode_tps is not None]),
                   med([w.j_per_token for w in last if w.j_per_token is not None]), third, round(band, 4),
                   onset, cause, clock_on, rate_on, med([w.temp_c for w in last if w.temp_c is not None]), tuple(notes),
                   why.get("clock"), why.get("rate"))


def _noise_band(reps: Sequence, t0: int, t1: int, first_windows: list) -> float:
    """±max(5 %, 2 × CV) of the decode rates of the first third: of its repetitions (three or more)
    and of its windows (two or more), whichever moves more."""
    def cv(xs: list[float], least: int) -> float:
        return statistics.stdev(xs) / statistics.mean(xs) if len(xs) >= least and statistics.mean(xs) > 0 else 0.0
    reps_rates = [n / ((b - a) / 1e9) for a, b, n in _decode_spans(reps) if t0 <= a < t1 and b > a and n]
    return max(MIN_BAND, 2 * cv(reps_rates, 3), 2 * cv([x for x in first_windows if x], 2))


def _clock_refs(burst: Window, ceilings: dict[str, float], notes: list[str]) -> dict[str, float]:
    refs = {}
    for name, mhz in burst.clocks_mhz.items():
        ceiling = ceilings.get(CEILINGS.get(name, ""))
        refs[name] = min(mhz, ceiling) if ceiling else mhz
        if ceiling and mhz < ceiling * (1 - CLOCK_MARGIN):
            notes.append(f"{name} was already {mhz:g} MHz in the burst window, below the mode's ceiling "
                         f"{ceiling:g} MHz: the onset is measured from the burst")
    return refs
