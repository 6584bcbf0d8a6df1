"""The metric catalogue: one row per metric (CONTRACTS.md "Metric names").

Printers, the TUI, ``compare``, reference matching, the history index and reports read their
columns, directions, labels and normalisations from here, so a new metric is one row plus its
computation (in ``edgeprof/analysis/metrics.py``), not an edit in five places.

Fields: ``better`` is the direction ("higher" / "lower" / None for figures with no better side);
``verdict`` names the words compare uses ("speed": faster/slower, "cost": better/worse, "level":
higher/lower); ``label`` is the Markdown/TUI column ("" = not a table column); ``scale`` and
``digits`` say how the column prints; ``per_params`` how a normalized reference comparison scales
it with model size ("x": a rate, multiplied by params; "/": a cost, divided by params; None: not
size-normalized); ``phase`` where in the case it is measured; ``energy`` marks an energy or power
figure and says how its sensor uncertainty follows from the power sensor's windows
(``analysis/uncertainty.py`` RULES: "window" the repetition's energy, "per_second" ÷ its duration,
"per_token" ÷ tokens generated, "net" plus the idle baseline's share, "prefill_per_token" /
"decode_per_token" the phase's energy ÷ its tokens, "idle" the idle window's mean power,
"attributed" scaled from another energy figure where it is computed, analysis/attribution.py).
A new energy metric marked here gets its uncertainty with no edit elsewhere.
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
    phase: str = "case"           # prefill | decode | case | idle | artifact | load | inference
    short: str = ""               # name in edge/server ratios
    compare: bool = True          # paired by `edgeprof compare`
    reference: bool = False       # compared with server reference rows
    indexed: bool = False         # a column of the SQLite history index
    table_ci: bool = True         # the table cell shows ± half the 95 % interval
    doc: str = ""
    drift: str = "speed"          # which stated equivalence margin compare uses (MARGINS)
    near_zero: bool = False       # a difference of two figures that can vanish: no ratio below its uncertainty
    energy: str | None = None     # an energy/power figure: its uncertainty rule (see the module docstring)

    @property
    def margin(self) -> tuple[float, str]:
        """compare's stated equivalence margin and its basis, when no measured drift is known."""
        return MARGINS[self.drift]

    @property
    def words(self) -> tuple[str, str]:
        """(B better, B worse) as compare says it."""
        if self.verdict == "cost":  # say which way the figure moved: "better (lower)" reads as RSS went down
            good, bad = ("lower", "higher") if self.better == "lower" else ("higher", "lower")
            return f"better ({good})", f"worse ({bad})"
        return {"speed": ("faster", "slower")}.get(self.verdict, ("higher", "lower"))


#: Stated equivalence margins by kind of metric: ``compare`` uses a metric's own run-to-run drift
#: measured in the history, else these. One margin for every metric was the bug of issue 13: a
#: ±47 % drift of decode speed hid a 14 % smaller peak RSS.
MARGINS = {
    "speed": (0.20, "stated 20 %: run-to-run spread of prefill/decode speed on shared machines (about +-20 % run "
                    "to run, 10-25 % minute to minute)"),
    "energy": (0.20, "stated 20 %: energy and power follow time x power, so they drift like speed"),
    "memory": (0.02, "stated 2 %: the RSS of one artifact repeats within 0.1 % between runs (SmolLM2 Q4_1 on this "
                     "kind of machine: 173.10 vs 173.21 MB); 2 % leaves room for allocator and library versions"),
    "level": (0.10, "stated 10 %: a busy fraction moves with other processes' load"),
}

M = MetricDef
CATALOGUE: list[MetricDef] = [
    M("ttft_ms", "ms", "lower", "speed", "TTFT ms", per_params="/", phase="prefill", short="TTFT", reference=True,
      indexed=True, doc="time to first token: the prefill of -p tokens (not reported for -p 0)"),
    M("tpot_ms", "ms", "lower", "speed", "TPOT ms", phase="decode", short="TPOT",
      doc="per-token decode latency; samples are per-repetition medians"),
    M("itl_ms", "ms", "lower", "speed", phase="decode", short="ITL", compare=False,
      doc="inter-token latency over every decoded token (p50/p90/p99); not paired by compare (no "
          "repetition-level samples: the tokens are in samples/<case_id>.tokens.csv), tpot_ms is"),
    M("e2e_ms", "ms", "lower", "speed", phase="case", doc="prefill + decode of one repetition"),
    M("prefill_tokens_per_s", "tokens/s", "higher", "speed", "prefill t/s", digits=1, per_params="x",
      phase="prefill", short="prefill", reference=True),
    M("decode_tokens_per_s", "tokens/s", "higher", "speed", "decode t/s", digits=1, per_params="x", phase="decode",
      short="decode", reference=True, indexed=True),
    M("energy_per_token_j", "J/token", "lower", "cost", "J/token", digits=4, per_params="/", short="J/tok",
      reference=True, indexed=True, doc="gross energy of a repetition / tokens generated (headline)", drift="energy",
      energy="per_token"),
    M("prefill_energy_per_token_j", "J/token", "lower", "cost", phase="prefill", drift="energy",
      energy="prefill_per_token"),
    M("decode_energy_per_token_j", "J/token", "lower", "cost", phase="decode", drift="energy",
      energy="decode_per_token"),
    M("energy_gross_j", "J", "lower", "cost", drift="energy", energy="window"),
    M("energy_net_j", "J", "lower", "cost", doc="gross - idle power x duration", drift="energy", near_zero=True,
      energy="net"),
    M("process_energy_j", "J", "lower", "cost",
      doc="process-attributed CPU energy: the worker's share of busy CPU time x package power (Scaphandre)", drift="energy",
      energy="attributed"),
    M("process_energy_per_token_j", "J/token", "lower", "cost", short="proc J/tok",
      doc="process_energy_j / tokens generated: the model's own energy on a shared machine", drift="energy",
      energy="attributed"),
    M("avg_power_w", "W", "lower", "cost", "avg W", digits=1, short="power", reference=True, drift="energy",
      energy="per_second"),
    M("idle_power_w", "W", None, "level", phase="idle", compare=False, energy="idle"),
    M("peak_rss_bytes", "B", "lower", "cost", "peak RSS MiB", digits=0, scale=2**-20, table_ci=False,
      doc="worker process tree; the value is the kernel's high-water mark", drift="memory"),
    M("avg_rss_bytes", "B", "lower", "cost", per_params="/", short="mem", reference=True, drift="memory"),
    M("memory_utilization", "ratio", None, "level", compare=False,
      doc="the model's footprint: worker RSS (+ GPU memory it holds) / device memory"),
    M("system_memory_utilization", "ratio", None, "level", compare=False,
      doc="used system memory / total, every process included"),
    M("cpu_busy_ratio", "ratio", None, "level", drift="level"),
    M("compression_rate", "ratio", "higher", "level", "compr.", phase="artifact", compare=False,
      doc="compression rate: the source's 16-bit size (params x 2 bytes, or the export's basis) / the artifact's size"),
    M("mcr", "ratio", "higher", "level", "MCR", phase="artifact", compare=False,
      doc="model compression rate (EfficientLLM): compr. x quality retention (the baseline's perplexity / the "
          "artifact's), so a smaller file that lost quality scores lower"),
    M("roofline_fraction", "ratio", None, "level", phase="decode"),
    M("localscore", "score", "higher", "level", phase="case", short="score", compare=False, reference=True,
      doc="LocalScore: 10 * cbrt(prompt t/s * gen t/s * 1000 / TTFT ms) of the means over its nine tests; "
          "suite summaries only (suite.json)"),
    M("compute_utilization", "ratio", None, "level", phase="decode",
      doc="achieved FLOP/s / peak FLOP/s: decode (2 x params per token) or, for inference cases, the FLOPs "
          "counted from the model's graph x inferences/s"),
    # -- inference cases (models that are not causal LMs: encoders, vision, audio; engine/inference_loop.py)
    M("load_ms", "ms", "lower", "speed", phase="load", table_ci=False,
      doc="loading the model into the runtime (session or module creation), once per case"),
    M("first_inference_ms", "ms", "lower", "speed", "cold ms", phase="inference", table_ci=False,
      doc="the first forward pass after load (cold: lazy initialisation, allocator and caches), once per case"),
    M("latency_ms", "ms", "lower", "speed", phase="inference", short="latency", reference=True,
      doc="per-inference latency over every timed forward pass (p50 as the value, p90, p99); samples are "
          "per-repetition medians"),
    M("inferences_per_s", "inferences/s", "higher", "speed", "inf/s", digits=1, per_params="x", phase="inference",
      short="inf/s", reference=True, doc="forward passes per second of back-to-back inference"),
    M("samples_per_s", "samples/s", "higher", "speed", "samples/s", digits=1, per_params="x", phase="inference",
      short="samples/s", reference=True, doc="inferences/s x batch"),
    M("tokens_per_s", "tokens/s", "higher", "speed", "enc tok/s", digits=0, per_params="x", phase="inference",
      short="tok/s", doc="text encoders: tokens per second through the model (batch x sequence length x inferences/s)"),
    M("rtfx", "x real time", "higher", "speed", "RTFx", digits=0, phase="inference", short="RTFx",
      doc="audio models: seconds of audio processed per second (inverse real-time factor, 1/RTF; above 1 is "
          "faster than real time)"),
    M("energy_per_inference_j", "J/inference", "lower", "cost", "J/inf", digits=4, per_params="/",
      phase="inference", short="J/inf", reference=True, drift="energy", energy="per_inference",
      doc="gross energy of a repetition / forward passes in it (headline of inference cases)"),
    M("energy_per_sample_j", "J/sample", "lower", "cost", digits=5, per_params="/", phase="inference",
      drift="energy", energy="per_sample", doc="energy per inference / batch"),
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


def energy_metrics() -> list[MetricDef]:
    """The energy and power figures (those with an uncertainty rule)."""
    return [d for d in CATALOGUE if d.energy]


def register(d: MetricDef, after: str | None = None) -> None:
    """Add a metric (plug-ins and tests); ``after`` places it behind another row."""
    unregister(d.name)
    i = next((k + 1 for k, x in enumerate(CATALOGUE) if x.name == after), len(CATALOGUE))
    CATALOGUE.insert(i, d)


def unregister(name: str) -> None:
    CATALOGUE[:] = [x for x in CATALOGUE if x.name != name]
