"""Chart data shared by every front-end that draws results: the HTML/Markdown report (matplotlib),
``edgeprof report --terminal`` (plotext) and the TUI (Textual widgets). Nothing here draws.

- ``axes``: readable units (MiB/GiB, ms/µs) and round ticks;
- ``series``: power/memory series from a trace (labelled measured/estimated), phase spans to shade,
  per-token latency, per-repetition samples, case labels;
- ``pareto``: the three trade-off charts and the Pareto front;
- ``roofline``: cases and ceilings on a roofline, with the basis of each ceiling named.
"""
from edgeprof.views.charts.axes import axis_label, nice_ticks, scale_for, unit_of
from edgeprof.views.charts.pareto import ParetoChart, Point, pareto_charts, pareto_front
from edgeprof.views.charts.roofline import Ceiling, RooflinePoint, roofline_chart
from edgeprof.views.charts.series import (PHASE_COLORS, PhaseSpan, Series, case_label, itl_values, memory_series,
                                          phase_spans, power_series, rep_samples, token_series)

__all__ = ["PHASE_COLORS", "Ceiling", "ParetoChart", "PhaseSpan", "Point", "RooflinePoint", "Series", "axis_label",
           "case_label", "itl_values", "memory_series", "nice_ticks", "pareto_charts", "pareto_front", "phase_spans",
           "power_series", "rep_samples", "roofline_chart", "scale_for", "token_series", "unit_of"]
