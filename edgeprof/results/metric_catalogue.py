"""The metric catalogue: one row per metric (CONTRACTS.md "Metric names").

Printers, the TUI, ``compare``, reference matching, the history index and reports read their
columns, directions, labels and normalisations from here, so a new metric is one row plus its
computation (in ``edgeprof/analysis/metrics.py``), not an edit in five places.

Fields: ``better`` is the direction ("higher" / "lower" / None for figures with no better side);
``verdict`` names the words compare uses ("speed": faster/slower, "cost": better/worse, "level":
higher/lower); ``label`` is the Markdown/TUI column ("" = not a table column); ``scale`` and
``digits`` say how the column prints; ``per_params`` how a normalized reference comparison scales
it with model size ("x": a rate, multiplied by params; "/": a cost, divided by params; None: not
size-normalized); ``phase`` where in the case it is measured.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class MetricDef:
    name: str
    unit: str
    better: str | None
    verdict: str                  # speed | cost | level
    label: str = ""
    digits: int = 2
    scale: float = 1.0
    per_params: str | None = None
    phase: str = "case"           # prefill | decode | case | idle | artifact
    short: str = ""               # name in edge/server ratios
    compare: bool = True          # paired by `edgeprof compare`
    reference: bool = False       # compared with server reference rows
    indexed: bool = False         # a column of the SQLite history index
    table_ci: bool = True         # the table cell shows ± half the 95 % interval
    doc: str = ""

    @property
    def words(self) -> tuple[str, str]:
        """(B better, B worse) as compare says it."""
        return {"speed": ("faster", "slower"), "cost": ("better", "worse")}.get(self.verdict, ("higher", "lower"))


M = MetricDef
CATALOGUE: list[MetricDef] = [
    M("ttft_ms", "ms", "lower", "speed", "TTFT ms", per_params="/", phase="prefill", short="TTFT", reference=True,
      indexed=True, doc="time to first token: the prefill of -p tokens (not reported for -p 0)"),
    M("tpot_ms", "ms", "lower", "speed", "TPOT ms", phase="decode", short="TPOT",
      doc="per-token decode latency; samples are per-repetition medians"),
    M("itl_ms", "ms", "lower", "speed", phase="decode", short="ITL",
      doc="inter-token latency over every decoded token (p50/p90/p99)"),
    M("e2e_ms", "ms", "lower", "speed", phase="case", doc="prefill + decode of one repetition"),
    M("prefill_tokens_per_s", "tokens/s", "higher", "speed", "prefill t/s", digits=1, per_params="x",
      phase="prefill", short="prefill", reference=True),
    M("decode_tokens_per_s", "tokens/s", "higher", "speed", "decode t/s", digits=1, per_params="x", phase="decode",
      short="decode", reference=True, indexed=True),
    M("energy_per_token_j", "J/token", "lower", "cost", "J/token", digits=4, per_params="/", short="J/tok",
      reference=True, indexed=True, doc="gross energy of a repetition / tokens generated (headline)"),
    M("prefill_energy_per_token_j", "J/token", "lower", "cost", phase="prefill"),
    M("decode_energy_per_token_j", "J/token", "lower", "cost", phase="decode"),
    M("energy_gross_j", "J", "lower", "cost"),
    M("energy_net_j", "J", "lower", "cost", doc="gross - idle power x duration"),
    M("process_energy_j", "J", "lower", "cost", doc="the worker's share of CPU time x estimated package power"),
    M("avg_power_w", "W", "lower", "cost", "avg W", digits=1, short="power", reference=True),
    M("idle_power_w", "W", None, "level", phase="idle", compare=False),
    M("peak_rss_bytes", "B", "lower", "cost", "peak RSS MiB", digits=0, scale=2**-20, table_ci=False,
      doc="worker process tree; the value is the kernel's high-water mark"),
    M("avg_rss_bytes", "B", "lower", "cost", per_params="/", short="mem", reference=True),
    M("memory_utilization", "ratio", None, "level", compare=False),
    M("cpu_busy_ratio", "ratio", None, "level"),
    M("compression_rate", "ratio", "higher", "level", "compr.", phase="artifact", compare=False),
    M("mcr", "ratio", "higher", "level", "MCR", phase="artifact", compare=False),
    M("roofline_fraction", "ratio", None, "level", phase="decode"),
    M("localscore", "score", "higher", "level", phase="case", short="score", compare=False, reference=True,
      doc="LocalScore: 10 * cbrt(prompt t/s * gen t/s * 1000 / TTFT ms) of the means over its nine tests; "
          "suite summaries only (suite.json)"),
    M("compute_utilization", "ratio", None, "level", phase="decode"),
]
del M


def by_name() -> dict[str, MetricDef]:
    return {d.name: d for d in CATALOGUE}


def get(name: str) -> MetricDef | None:
    return next((d for d in CATALOGUE if d.name == name), None)


def table_metrics() -> list[MetricDef]:
    return [d for d in CATALOGUE if d.label]


def compared() -> list[str]:
    return [d.name for d in CATALOGUE if d.compare]


def reference_metrics() -> list[MetricDef]:
    return [d for d in CATALOGUE if d.reference]


def indexed() -> list[str]:
    return [d.name for d in CATALOGUE if d.indexed]


def register(d: MetricDef, after: str | None = None) -> None:
    """Add a metric (plug-ins and tests); ``after`` places it behind another row."""
    unregister(d.name)
    i = next((k + 1 for k, x in enumerate(CATALOGUE) if x.name == after), len(CATALOGUE))
    CATALOGUE.insert(i, d)


def unregister(name: str) -> None:
    CATALOGUE[:] = [x for x in CATALOGUE if x.name != name]
