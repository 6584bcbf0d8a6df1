"""What a run is asked to do: ``BenchOptions`` (the command line of ``bench`` and ``tui``, every
rule of CONTRACTS "CLI conventions" on its field) and ``Settings`` (the part that is not an axis
of the sweep, persisted in plan.json and validated again when a run is resumed).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, make_dataclass
from pathlib import Path
from typing import Any

from edgeprof.engine.options import (above, at_least, between, byte_size, duration, fail, integer, knob_field, number,
                                     opt)
from edgeprof.runtimes import options as runtime_options

#: The sampler cannot honour more than this: one sample costs ~0.1-1 ms of the parent's time and a
#: faster timer only wakes the parent without new information (sensors update every 1-100 ms).
MAX_SAMPLE_HZ = 200.0
#: Upper bounds of the integer flags (a bound keeps a typo like -p 99999999999999999999 from running
#: and from overflowing SQLite's 64-bit integers): 4 Mi tokens per axis (a context of 12 Mi still fits
#: llama.cpp's int32), ggml's GGML_MAX_N_THREADS, the worker's repetition cap, 1 EiB of memory.
MAX_TOKENS = 2**22
MAX_THREADS = 512
MAX_REPS = 10_000
MAX_BATCH = 2**22
MAX_BYTES = 2**60
FORMATS = ("md", "csv", "json", "jsonl", "sql")

#: the workload a bench runs without -p/-n/--depth (also what `predict --device` assumes)
DEFAULT_WORKLOAD = {"prompt": [128], "gen": [128], "depth": [0]}


@dataclass(frozen=True)
class Settings:
    """Everything about a run that is not an axis of the sweep."""

    reps: int = 5
    warmup: int = 1
    min_seconds: float = 3.0
    timeout_s: float = 600.0
    cooldown_s: float = 0.0
    max_rss_bytes: int | None = None
    sample_hz: float = 20.0
    idle_s: float = 3.0
    idle_each: bool = False
    ignore_memory_check: bool = False
    cpu_tdp_w: float | None = None
    power_cooldown_s: float = 60.0       # after a power setting changed: wait for the start temperature, at most
    power_cooldown_c: float = 2.0        # ... back within this many degrees
    sustain_s: float | None = None       # --sustain: each case runs this long, analysed in windows
    sustain_window_s: float = 10.0
    predicted_server: str = "h100,h200"  # server classes predicted when no measured row matches ("none": off)

    def __post_init__(self) -> None:
        rules = {"reps": between(1, MAX_REPS), "warmup": between(0, MAX_REPS), "min_seconds": at_least(0),
                 "timeout_s": above(0), "cooldown_s": at_least(0), "max_rss_bytes": between(1, MAX_BYTES),
                 "sample_hz": at_least(0), "idle_s": at_least(0), "cpu_tdp_w": above(0),
                 "power_cooldown_s": at_least(0), "power_cooldown_c": above(0), "sustain_s": above(0),
                 "sustain_window_s": above(0)}
        for name, check in rules.items():
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool) or v != v or v in (float("inf"), float("-inf"))):
                raise fail(name, f"expected a finite number, got {v!r}")
            msg = check(v)
            if msg:
                raise fail(name, msg)

    to_dict = asdict

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Settings":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})



_count = between(1, MAX_BATCH)


def _servers(text: str) -> str | None:
    """Each id of ``--predicted-server`` must name one device of the table (or ``none``)."""
    from edgeprof.analysis.specs import DeviceIdError, resolve_device

    if text.strip().lower() == "none":
        return None
    for sid in (s.strip() for s in text.split(",") if s.strip()):
        try:
            resolve_device(sid)
        except DeviceIdError as exc:
            return str(exc).replace("--device", "id", 1)
    return None
_tokens = between(0, MAX_TOKENS)
_threads = between(1, MAX_THREADS)


@dataclass(frozen=True)
class _BenchBase:
    """The bench command line; help, default and validation live on each field. The runtimes'
    own options (llama.cpp's flash attention, ONNX Runtime's provider...) are declared in each
    runtime's module and added by ``BenchOptions`` below."""

    models: list = opt([], positional=True, metavar="MODEL",
                       help="GGUF/ONNX file, export directory, HF directory or catalogue id (default: the packaged "
                            "SmolLM2-135M-Instruct)")
    prompt: list | None = opt(None, "-p", "--n-prompt", sweep=True, parse=integer, check=_tokens,
                              help="prompt tokens, a comma list sweeps (default 128; 0 = decode only, like llama-bench "
                                   "tg)")
    gen: list | None = opt(None, "-n", "--n-gen", sweep=True, parse=integer, check=_tokens,
                           help="generated tokens (default 128; 0 = prefill only, like llama-bench pp)")
    depth: list | None = opt(None, "--depth", "-d", sweep=True, parse=integer, check=_tokens,
                             help="untimed context tokens before the prompt (default 0)")
    suite: list | None = opt(None, "--suite", sweep=True, metavar="NAME",
                             help="run a named workload suite instead of -p/-n/--depth, e.g. localscore or "
                                  "llamacpp-scoreboard (see --list-suites); writes suite.json with its summary")
    list_suites: bool = opt(False, "--list-suites", action="store_true", help="list the workload suites and exit")
    threads: list | None = opt(None, "-t", "--threads", sweep=True, parse=integer, check=_threads,
                               help="threads (default: the number of physical cores)")
    reps: int = opt(5, "--reps", "-r", parse=integer, check=between(1, MAX_REPS),
                    help="timed repetitions (default 5)")
    warmup: int = opt(1, "--warmup", parse=integer, check=between(0, MAX_REPS),
                      help="untimed warm-up repetitions (default 1)")
    min_seconds: float = opt(3.0, "--min-seconds", parse=number, check=at_least(0),
                             help="repeat until at least this many seconds (default 3)")
    timeout: float = opt(600.0, "--timeout", parse=number, check=above(0),
                         help="seconds before a case is killed (default 600)")
    cooldown: float = opt(0.0, "--cooldown", parse=number, check=at_least(0),
                          help="seconds to wait for idle temperature before each case (default 0)")
    batch: list = opt([None], "--batch", sweep=True, parse=integer, check=_count,
                      help="models that are not causal LMs (encoders, vision, audio): samples per forward pass, a "
                           "comma list sweeps, e.g. 1,4,16 (default: the --shape flag's batch axis, else 1)")
    shape: list | None = opt(None, "--shape", action="append", metavar="NAME=AxBxC",
                             help="an input's shape for models that are not causal LMs, e.g. input_ids=1x128 or "
                                  "pixel_values=1x3x224x224 (repeatable; a dynamic axis nothing sets is an error "
                                  "naming this flag; text models take their sequence length from -p)")
    pull: bool = opt(False, "--pull", action="store_true",
                     help="download a missing hub model of the catalogue first (LocalScore's GGUFs, 0.8-9 GB: "
                          "'edgeprof models list'); without it such a model is refused with the pull command")
    runtime: str | None = opt(None, "--runtime", choices=("llama.cpp", "onnxruntime", "torch"), help="force a runtime")
    max_rss: int | None = opt(None, "--max-rss", parse=byte_size, check=between(1, MAX_BYTES),
                              help="kill a case whose worker RSS exceeds this many bytes (K/M/G suffixes)")
    sample_hz: float = opt(20.0, "--sample-hz", parse=number, check=at_least(0),
                           help=f"sensor sampling rate, 0 = off (default 20; at most {MAX_SAMPLE_HZ:g})")
    idle_seconds: float = opt(3.0, "--idle-seconds", parse=number, check=at_least(0),
                              help="idle baseline window before the first case on a device (default 3)")
    idle_each: bool = opt(False, "--idle-each", action="store_true", help="re-measure the idle baseline before every case")
    cpu_tdp_w: float | None = opt(None, "--cpu-tdp-w", parse=number, check=above(0),
                                  help="TDP in watts for the CPU power estimate where RAPL is absent")
    ignore_memory_check: bool = opt(False, "--ignore-memory-check", action="store_true",
                                    help="run cases the memory-fit check would skip")
    out: Path | None = opt(None, "--out", parse=Path, help="run directory (default ./edgeprof-runs/<timestamp>)")
    overwrite: bool = opt(False, "--overwrite", action="store_true", help="replace an existing run directory")
    resume: Path | None = opt(None, "--resume", parse=Path, metavar="DIR", help="finish the cases of an earlier run")
    retry_failed: bool = opt(False, "--retry-failed", action="store_true",
                             help="with --resume: run failed and cancelled cases again")
    history: str | None = opt(None, "--history", metavar="DB",
                              help="history store this run is indexed in: a SQLite file or a postgresql:// URL "
                                   "(default $EDGEPROF_HISTORY, the config entry, or $EDGEPROF_HOME/history.sqlite)")
    quiet: bool = opt(False, "--quiet", "-q", action="store_true", help="no progress display on stderr")
    export: list | None = opt(None, "--export", action="append", metavar="FMT:SCHEMES",
                              help="export the HF source first, then bench every artifact (syntax of 'export --to')")
    allow_degraded: bool = opt(False, "--allow-degraded", action="store_true",
                               help="with --export: bench an artifact that fails the quality gate, labelled DEGRADED")
    format: str = opt("md", "-o", "--format", choices=FORMATS, help="what is printed on stdout (default md)")
    power_mode: list | None = opt(None, "--power-mode", sweep=True,
                                  help="Jetson power modes (nvpmodel ids or names), a comma list sweeps, e.g. "
                                       "15W,25W,MAXN_SUPER; needs root; the original mode is restored at the end")
    gpu_power_limit: list | None = opt(None, "--gpu-power-limit", sweep=True,
                                       help="NVIDIA power limits in watts or 'default' (NVML; needs root), a comma list "
                                            "sweeps; restored at the end")
    governor: list | None = opt(None, "--governor", sweep=True,
                                help="CPU frequency governors (cpufreq, e.g. performance,schedutil; needs root), a comma "
                                     "list sweeps; restored at the end")
    jetson_clocks: list | None = opt(None, "--jetson-clocks", sweep=True, choices=("on", "off"),
                                     help="jetson_clocks on or off (a comma list sweeps; needs root); restored at the end")
    power_cooldown: float = opt(60.0, "--power-cooldown", parse=duration, check=at_least(0), metavar="SECONDS",
                                help="after a power setting changes, wait until every thermal zone is back within "
                                     "--power-cooldown-c of the run's start temperature, at most this long (default "
                                     "60 s; the wait is recorded in the row)")
    power_cooldown_c: float = opt(2.0, "--power-cooldown-c", parse=number, check=above(0), metavar="DEGREES",
                                  help="degrees C above the start temperature the cool-down waits for (default 2)")
    sustain: float | None = opt(None, "--sustain", parse=duration, check=above(0), metavar="DURATION",
                                help="run each case continuously for DURATION (90s, 2m, 1h) and report it in windows: "
                                     "burst (first window) vs sustained (median of the last third), throttle onset, "
                                     "steady-state temperature")
    sustain_window: float = opt(10.0, "--sustain-window", parse=duration, check=above(0), metavar="DURATION",
                                help="the window of --sustain (default 10 s)")
    predicted_server: str = opt("h100,h200", "--predicted-server", metavar="IDS", check=_servers,
                                help="server classes whose PREDICTED figures (never a match, no verdict) stand in "
                                     "when no measured server row matches (default h100,h200; none = off)")

    def __post_init__(self) -> None:
        shape = [f for f, v in (("-p", self.prompt), ("-n", self.gen), ("--depth", self.depth)) if v is not None]
        if self.suite:
            if shape:
                raise fail("--suite", f"fixes the workload itself; drop {', '.join(shape)} or drop --suite")
            from edgeprof.analysis.suites import load

            for name in self.suite:
                load(name)  # an unknown name is a one-line usage error now, before anything is written
        for name, default in DEFAULT_WORKLOAD.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, list(default))
        if any(p == 0 and n == 0 for p in self.prompt for n in self.gen):
            raise fail("-p/-n", "-p 0 with -n 0 measures nothing; give a prompt length, a generation length or both")
        if self.resume is not None:
            shaping = [f for f, v in (("MODEL", self.models), ("--out", self.out), ("--export", self.export),
                                      ("--suite", self.suite)) if v]
            if shaping:
                raise fail("--resume", f"takes its cases from the run's plan.json; drop {', '.join(shaping)}")
        if self.allow_degraded and not self.export:
            raise fail("--allow-degraded", "only applies to --export FMT:SCHEMES; add --export or drop it")
        if self.retry_failed and self.resume is None:
            raise fail("--retry-failed", "only applies to --resume DIR; add --resume DIR or drop it")
        if self.history:
            from edgeprof.results.store import Target

            Target.parse(self.history)  # an unknown scheme is a usage error before anything is written
        if self.sustain is not None and self.sustain < 3 * self.sustain_window:
            raise fail("--sustain", f"{self.sustain:g} s holds fewer than 3 windows of {self.sustain_window:g} s (the "
                                    f"sustained figure is the median of the last third); lower --sustain-window")
        self.input_shapes()  # a malformed --shape is a usage error now
        if self.max_rss is not None and self.sample_hz == 0:
            raise fail("--max-rss", "is enforced from the sampler's readings of the worker; drop --sample-hz 0")

    def input_shapes(self) -> dict[str, list[int]]:
        """``--shape`` flags as {input: dims}; one input given twice with two shapes is an error."""
        from edgeprof.models.shapes import parse_shape

        out: dict[str, list[int]] = {}
        for text in self.shape or []:
            try:
                name, dims = parse_shape(text)
            except ValueError as exc:
                raise fail("--shape", str(exc)) from None
            if name in out and out[name] != dims:
                raise fail("--shape", f"{name} is given twice ({'x'.join(map(str, out[name]))} and "
                                      f"{'x'.join(map(str, dims))}); keep one")
            out[name] = dims
        return out

    def settings(self) -> Settings:
        """The run's settings; ``--sustain`` repeats the case for its whole duration (repetition after
        repetition, no pause: ``--min-seconds`` becomes the duration, ``--timeout`` at least that + 5 min)."""
        reps, min_s, timeout = ((1, self.sustain, max(self.timeout, self.sustain + 300)) if self.sustain
                                else (self.reps, self.min_seconds, self.timeout))
        return Settings(reps=reps, warmup=self.warmup, min_seconds=min_s, timeout_s=timeout, cooldown_s=self.cooldown,
                        max_rss_bytes=self.max_rss, sample_hz=self.sample_hz, idle_s=self.idle_seconds,
                        idle_each=self.idle_each,
                        ignore_memory_check=self.ignore_memory_check, cpu_tdp_w=self.cpu_tdp_w,
                        power_cooldown_s=self.power_cooldown, power_cooldown_c=self.power_cooldown_c,
                        sustain_s=self.sustain, sustain_window_s=self.sustain_window,
                        predicted_server=self.predicted_server)

    def knobs(self) -> dict[str, list]:
        """Each runtime option's values (a comma list sweeps), by name: the sweep's runtime axes."""
        return {k.name: getattr(self, k.name) for k in runtime_options()}


#: ``_BenchBase`` plus one sweep field per runtime option (runtimes/knobs.py): a knob declared in a
#: runtime's module is a flag of bench and tui, a field of the form and an axis, with no edit here
BenchOptions = make_dataclass("BenchOptions", [(k.name, list, knob_field(k)) for k in runtime_options()],
                              bases=(_BenchBase,), frozen=True)
BenchOptions.__module__, BenchOptions.__doc__ = __name__, _BenchBase.__doc__
