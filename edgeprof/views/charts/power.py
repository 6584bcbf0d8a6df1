"""Chart data for a power sweep and a ``--sustain`` run, shared by the report and the TUI: the
trade-off of the settings as a Pareto chart (tok/J against tok/s, both higher is better), and the
windows of a sustained case as time series (decode t/s, J/token, power, temperature, clocks) with
the burst, the sustained level and the throttle onset. Draws nothing."""
from __future__ import annotations

from dataclasses import dataclass

from edgeprof.analysis.sustain import Sustain
from edgeprof.analysis.tradeoff import Tradeoff
from edgeprof.results.schema import Record
from edgeprof.views.charts.pareto import ParetoChart, Point


def tradeoff_chart(t: Tradeoff) -> ParetoChart:
    """The settings as points labelled by their values (``15W``), the picks named on their points."""
    one_axis = len({p.label.split("=", 1)[0] for p in t.points}) == 1

    def label(text: str) -> str:
        tags = [name for name, picks in (("efficiency", t.efficient), ("knee", t.knee)) if text in picks]
        return (text.split("=", 1)[1] if one_axis else text) + (f" ({', '.join(tags)})" if tags else "")
    pts = tuple(Point(label(p.label), p.tok_j, p.tok_s, t.group, p.estimated, False, p.case_id) for p in t.points)
    notes = (f"pick for efficiency: {', '.join(t.efficient)}",
             f"knee (most tok/J within {100 * t.within:.0f} % of the best tok/s): {', '.join(t.knee)}") + t.notes
    return ParetoChart("power-tradeoff-" + t.points[0].case_id[:8], f"Power trade-off: {t.group}",
                       "tokens per joule (tok/J)", "decode tok/s", "higher", "higher", pts, frozenset(t.front), notes)


@dataclass(frozen=True)
class Track:
    """One time series of the windows (None where a window has no value)."""

    name: str
    unit: str
    x: tuple[float, ...]
    y: tuple[float | None, ...]
    estimated: bool = False


@dataclass(frozen=True)
class SustainChart:
    key: str
    title: str
    tracks: tuple[Track, ...]          # decode t/s first
    window_s: float
    burst_tps: float | None
    sustained_tps: float | None
    sustained_from_s: float | None     # where the last third begins
    onset_s: float | None
    onset_cause: str | None
    notes: tuple[str, ...]


def sustain_chart(rec: Record, title: str) -> SustainChart | None:
    raw = rec.get("sustain")
    if not isinstance(raw, dict):
        return None
    s = Sustain.from_dict(raw)
    mid = [w.t_s + s.window_s / 2 for w in s.windows]
    est = any("ESTIMATED" in n for n in s.notes)
    tracks = [Track("decode", "tok/s", tuple(mid), tuple(w.decode_tps for w in s.windows)),
              Track("energy", "J/token", tuple(mid), tuple(w.j_per_token for w in s.windows), est),
              Track("power", "W", tuple(mid), tuple(w.power_w for w in s.windows), est),
              Track("hottest zone", "C", tuple(mid), tuple(w.temp_c for w in s.windows))]
    for name in sorted({c for w in s.windows for c in w.clocks_mhz}):
        tracks.append(Track(name, "MHz", tuple(mid), tuple(w.clocks_mhz.get(name) for w in s.windows)))
    start = s.windows[-s.last_third].t_s if s.windows and s.last_third else None
    return SustainChart(f"sustain-{rec.case_id[:16]}", title, tuple(tracks), s.window_s,
                        s.burst.decode_tps if s.burst else None, s.sustained_tps, start, s.onset_s, s.onset_cause,
                        s.notes)
