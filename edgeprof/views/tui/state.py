"""The state of a run as a live view sees it, folded from the event stream. Pure: the app renders
it, the tests and the snapshot replays feed it; nothing here reads hardware or a clock — every
derived figure (elapsed, ETA, live tokens/s) takes ``now_ns`` from the caller.

Live figures are labelled as such on screen: ``live_tps`` is tokens over the last ~2 s of
``token_progress`` events, ``rep_tps`` the decode rate of each finished measured repetition as the
worker timed it (the record's own statistics replace both when the case ends).
"""
from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

from edgeprof.engine import events as ev
from edgeprof.results.described import DeviceDesc, SensorDecl
from edgeprof.results.schema import RuntimeInfo
from edgeprof.views.tui.series import Series

SHADED = ("load", "depth", "prefill", "decode")


@dataclass(frozen=True)
class SensorRow:
    """A line of the sensors views: a declared sensor (None: readings no sensor declares, the
    worker's) with its latest readings; ``other`` names the device it belongs to when that device
    is not the one sampled now."""
    info: SensorDecl | None
    readings: list
    other: str | None = None


@dataclass
class Notice:
    t_ns: int
    level: str
    message: str


@dataclass
class CaseLive:
    """The running case."""

    index: int
    total: int
    label: str
    case_id: str | None
    workload: dict
    reps: int
    device: DeviceDesc
    t0_ns: int
    phase: str = "scheduled"
    phase_label: str = ""
    phase_t0_ns: int = 0
    rep: int | None = None
    tokens: tuple[int, int] | None = None
    progress: deque = field(default_factory=lambda: deque(maxlen=12))   # (t_ns, n) of this rep
    live_tps: float | None = None
    rep_tps: list = field(default_factory=list)
    rep_prefill_tps: list = field(default_factory=list)
    ttft_ms: list = field(default_factory=list)       # measured repetitions
    last_ttft_ms: float | None = None                 # any repetition, warm-up included
    prefill_t0_ns: int | None = None
    rep_t0_ns: int | None = None
    rep_s: list = field(default_factory=list)          # measured repetition durations
    measure_t0_ns: int | None = None                   # start of the first measured repetition
    runtime: RuntimeInfo | None = None                # name, version, resolved placement (once loaded)
    parts: ev.CaseLabel = field(default_factory=ev.CaseLabel)   # model, quant... of the label, typed
    n_params: int | None = None
    model: dict = field(default_factory=dict)         # id, name, params of what runs
    artifact: dict = field(default_factory=dict)      # format, quant, runtime
    rep_ips: list = field(default_factory=list)       # an inference case: each measured block's inferences/s
    rep_latency_ms: list = field(default_factory=list)   # ... and its median per-inference latency
    passes: int = 0                                    # timed forward passes so far

    @property
    def inference(self) -> bool:
        return self.workload.get("kind") == "inference"

    @property
    def measured(self) -> int:
        return len(self.rep_s)

    @property
    def rep_median_tps(self) -> float | None:
        return statistics.median(self.rep_tps) if self.rep_tps else None

    @property
    def prefill_median_tps(self) -> float | None:
        return statistics.median(self.rep_prefill_tps) if self.rep_prefill_tps else None

    @property
    def ttft_median_ms(self) -> float | None:
        return statistics.median(self.ttft_ms) if self.ttft_ms else self.last_ttft_ms


@dataclass
class RunState:
    run_dir: str = ""
    total: int = 0
    labels: tuple = ()
    done_before: int = 0
    device: DeviceDesc = field(default_factory=DeviceDesc)
    power_label: str = ""
    t0_ns: int | None = None
    case: CaseLive | None = None
    finished: list = field(default_factory=list)       # Records, in order
    case_s: list = field(default_factory=list)         # wall seconds of each finished case
    notices: deque = field(default_factory=lambda: deque(maxlen=200))
    readings: dict = field(default_factory=dict)       # sensor column -> latest Reading
    power: Series = field(default_factory=Series)
    rss: Series = field(default_factory=Series)
    decode: Series = field(default_factory=Series)     # live decode t/s (the sustain chart)
    phases: deque = field(default_factory=lambda: deque(maxlen=512))   # [name, t0_ns, t1_ns | None]
    idle: dict = field(default_factory=dict)
    power_now_label: str = ""
    ended: ev.RunFinished | None = None
    paused: bool = False
    probing_since_ns: int | None = None                # the hardware probe runs (first run on a machine)
    probing_after_sweep: bool = False                   # ... or re-takes a contended probe after the sweep
    last_t_ns: int = 0

    # -- folding ------------------------------------------------------------------------
    def apply(self, e: ev.Event) -> None:
        self.last_t_ns = max(self.last_t_ns, e.t_ns)
        handler = getattr(self, "_on_" + e.type, None)
        if handler is not None:
            handler(e)

    def _on_run_started(self, e: ev.RunStarted) -> None:
        self.run_dir, self.total, self.labels, self.done_before = e.run_dir, e.total, e.labels, e.done
        self.device, self.power_label, self.t0_ns = e.device, e.power_label, e.t_ns

    def _on_run_notice(self, e: ev.RunNotice) -> None:
        self.notices.append(Notice(e.t_ns, e.level, e.message))
        if e.data.get("idle_window_s") is not None:
            self.idle = dict(e.data)
            self.phases.append(["idle", e.t_ns - int(e.data["idle_window_s"] * 1e9), e.t_ns])
        if "paused" in e.data:
            self.paused = bool(e.data["paused"])
        if "probe" in e.data:
            self.probing_since_ns = e.t_ns if e.data["probe"] == "running" else None
            self.probing_after_sweep = bool(e.data.get("after_sweep"))

    def _on_case_scheduled(self, e: ev.CaseScheduled) -> None:
        self.paused = False
        self.case = CaseLive(e.index, e.total, e.label, e.case_id, dict(e.workload), e.reps, e.device, e.t_ns,
                             model=dict(e.model), artifact=dict(e.artifact), parts=e.parts)
        self.total = e.total

    def _on_loaded(self, e: ev.Loaded) -> None:
        if self.case:
            self.case.runtime, self.case.n_params = e.runtime, e.n_params

    def _on_phase_started(self, e: ev.PhaseStarted) -> None:
        c = self.case
        if c is None:
            return
        if e.name == "repetition":
            c.rep, c.rep_t0_ns, c.progress = e.rep, e.t_ns, deque(maxlen=12)
            if e.label == "measure" and c.measure_t0_ns is None:
                c.measure_t0_ns = e.t_ns
            if c.inference and e.label == "measure":  # timed blocks of forward passes
                c.phase, c.phase_label = "measuring", ""
            return
        c.phase, c.phase_label, c.phase_t0_ns = e.name, e.label or "", e.t_ns
        if e.name == "prefill":
            c.prefill_t0_ns = e.t_ns
            c.tokens = (0, int(c.workload.get("gen_tokens") or 0))
        if e.name in SHADED:
            self.phases.append([e.name, e.t_ns, None])

    def _on_phase_ended(self, e: ev.PhaseEnded) -> None:
        c = self.case
        if c is None:
            return
        if e.name == "repetition":
            r = e.result
            if e.label == "measure" and c.rep_t0_ns is not None:
                c.rep_s.append((e.t_ns - c.rep_t0_ns) / 1e9)
            if r is not None and r.decode and r.n_decode and r.decode[1] > r.decode[0]:
                tps = r.n_decode / ((r.decode[1] - r.decode[0]) / 1e9)
                c.live_tps = tps  # a decode faster than the progress events still shows its rate
                if r.label == "measure":
                    c.rep_tps.append(tps)
            if r is not None and r.label == "measure" and r.inference and r.n_inferences:
                span = (r.inference[1] - r.inference[0]) / 1e9
                c.passes += r.n_inferences
                if span > 0:
                    c.rep_ips.append(r.n_inferences / span)
                    self.decode.add(e.t_ns, c.rep_ips[-1])  # the live rate chart: inferences/s here
                if r.latency_ns:
                    c.rep_latency_ms.append(statistics.median(r.latency_ns) / 1e6)
            if r is not None and r.label == "measure" and r.prefill and r.n_prefill:
                c.rep_prefill_tps.append(r.n_prefill / ((r.prefill[1] - r.prefill[0]) / 1e9))
            return
        for p in reversed(self.phases):
            if p[0] == e.name and p[2] is None:
                p[2] = e.t_ns
                break
        if e.name == "decode":
            c.phase = "decode done"
            if c.tokens:
                c.tokens = (c.tokens[1], c.tokens[1])

    def _on_first_token(self, e: ev.FirstToken) -> None:
        c = self.case
        if c is None or c.prefill_t0_ns is None:
            return
        ms = (e.t_ns - c.prefill_t0_ns) / 1e6
        c.last_ttft_ms = ms
        if e.label == "measure":
            c.ttft_ms.append(ms)
        if c.tokens:
            c.tokens = (1, c.tokens[1])

    def _on_token_progress(self, e: ev.TokenProgress) -> None:
        c = self.case
        if c is None:
            return
        c.tokens = (e.n, e.of)
        c.progress.append((e.t_ns, e.n))
        window = [p for p in c.progress if e.t_ns - p[0] <= 2_000_000_000]
        if len(window) >= 2 and window[-1][0] > window[0][0]:
            c.live_tps = (window[-1][1] - window[0][1]) / ((window[-1][0] - window[0][0]) / 1e9)
            if window[-1][1] > window[0][1]:  # within one repetition: a rate, not a reset
                self.decode.add(e.t_ns, c.live_tps)

    def _on_sample(self, e: ev.SampleEvent) -> None:
        for r in e.readings:
            self.readings[r.sensor] = r
            if r.sensor == "worker:rss" and r.value is not None:
                self.rss.add(e.t_ns, r.value)
        if e.power_w is not None:
            self.power.add(e.t_ns, float(e.power_w))
            self.power_now_label = e.power_label

    def _case_ended(self, e) -> None:
        if e.record is not None:
            self.finished.append(e.record)
        if self.case is not None:
            self.case_s.append((e.t_ns - self.case.t0_ns) / 1e9)
            for p in self.phases:
                if p[2] is None:
                    p[2] = e.t_ns
        self.case = None

    _on_case_finished = _case_ended
    _on_case_failed = _case_ended

    def _on_run_finished(self, e: ev.RunFinished) -> None:
        self.ended, self.case, self.paused = e, None, False

    # -- derived figures ------------------------------------------------------------------
    @property
    def index(self) -> int:
        return self.case.index if self.case else self.done_before + len(self.finished)

    def elapsed_s(self, now_ns: int) -> float | None:
        if self.t0_ns is None:
            return None
        end = self.ended.t_ns if self.ended else now_ns
        return (end - self.t0_ns) / 1e9

    def eta_s(self, now_ns: int) -> float | None:
        """Remaining seconds: finished cases give the per-case time; within the first case, its
        measured repetitions do. An estimate (shown with ``~``); None before anything is known."""
        if self.ended:
            return 0.0
        c = self.case
        left_after = max(0, self.total - (c.index if c else self.index))
        if self.case_s:
            per_case = statistics.mean(self.case_s)
            current = max(0.0, per_case - (now_ns - c.t0_ns) / 1e9) if c else 0.0
            return current + left_after * per_case
        if c is None or not c.rep_s:
            return None
        per_rep = statistics.mean(c.rep_s)
        current = max(0, c.reps - c.measured) * per_rep
        return current + left_after * ((now_ns - c.t0_ns) / 1e9 + current)

    def power_since_measure(self) -> float | None:
        """Mean headline power over the running case's measured repetitions so far."""
        c = self.case
        return self.power.mean_since(c.measure_t0_ns) if c and c.measure_t0_ns else None

    def sensor_rows(self, others: bool = True) -> list[SensorRow]:
        """Every sensor of the device being sampled (the running case's, else the run's first),
        each with its latest readings or, when unavailable, its reason and fix; then readings no
        declared sensor claims (the worker); then, with ``others``, the sensors of the run's other
        devices, which are not sampled while this device runs (``other`` names it)."""
        devices = self.device.devices or (self.device,)
        live_id = (self.case.device.id if self.case else None) or self.device.id
        sampled = next((d for d in devices if d.id == live_id), self.device)
        seen: set[str] = set()
        rows = []
        for s in sampled.sensors or ():
            got = [r for k, r in self.readings.items() if k == s.name or k.startswith(s.name + ":")]
            seen.update(r.sensor for r in got)
            rows.append(SensorRow(s, got))
        rest = [r for k, r in self.readings.items() if k not in seen]
        if rest:
            rows.append(SensorRow(None, rest))
        if others:
            rows += [SensorRow(s, [], d.name) for d in devices if d.id != sampled.id for s in d.sensors or ()]
        return rows
