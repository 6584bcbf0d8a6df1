"""The sweep loop: runs a plan case by case in isolated workers while a sampler polls the case's
device, turns each case's trace into a record and appends it (fsynced) before the next case.

A failure in one case is a row with an error, never the end of a sweep. Every case runs on the
device its placement names (a GPU-layers case on the GPU, a CPU case on the CPU): the sampler and
the idle baseline follow the device. Everything a front-end shows comes from the events sent to
the fan-out.
"""
from __future__ import annotations

import datetime as dt
import os
import resource
import signal
import socket
import threading
from pathlib import Path
from typing import Callable

from edgeprof.assets_access import asset
from edgeprof.engine import events as ev
from edgeprof.engine.baseline import cool_down, measure_idle
from edgeprof.engine.config import MAX_SAMPLE_HZ, Settings
from edgeprof.engine.contention import new_meter
from edgeprof.engine.device_choice import bench_device, device_ref, power_source
from edgeprof.engine.fanout import Fanout
from edgeprof.engine.launcher import drop_stalled, run_case
from edgeprof.engine.plan import Case
from edgeprof.engine.record import CaseContext, build_record, write_samples_csv, write_tokens_csv
from edgeprof.engine.sampler import Sampler
from edgeprof.engine.steps import Assessed, CaseRun, Executed, assess, preflight
from edgeprof.engine.worker import Job
from edgeprof.engine.worker_log import log_path
from edgeprof.errors import os_fault
from edgeprof.results.described import DeviceDesc
from edgeprof.results.conditions import IdleBaseline
from edgeprof.results.jsonl import append_record, replace_record, write_json
from edgeprof.results.schema import ErrorInfo, Record

Enrich = Callable[[Record, Case], Record]


class Sweep:
    def __init__(self, run_dir: Path, run_id: str, devices: list, settings: Settings, fanout: Fanout | None = None,
                 host: str | None = None, enrich: Enrich | None = None):
        self.run_dir, self.run_id, self.devices, self.settings = run_dir, run_id, devices, settings
        self.fanout = fanout or Fanout()
        self.host = host or socket.gethostname()
        self.enrich = enrich
        self.text = asset("prompts", "bench.txt").read_text()
        self.baselines: dict[str, IdleBaseline] = {}
        self.cancelled = False
        self._go = threading.Event()   # cleared = paused: the next case waits
        self._go.set()
        self._skip = False
        self.quiet_workers = False
        self.rerun: set[str] = set()    # case ids whose old record (failed, cancelled) a re-run replaces
        self._worker_pid: int | None = None
        self._device = None
        self.sampler: Sampler | None = None
        self.power = None
        self.sample_hz = settings.sample_hz          # the rate actually used on the current device
        self.rate_warnings: list[str] = []          # why it differs from --sample-hz, copied into rows
        self.meter = new_meter()
        self.control = None     # engine.power_axes.PowerControl: power settings and the run context of rows
        self._context = None    # (context before the case, what apply did) of the case being run
        (run_dir / "samples").mkdir(parents=True, exist_ok=True)

    # -- the device a case runs on: its sampler and its idle baseline --------------------
    def use_device(self, device) -> None:
        if device is self._device:
            return
        if self.sampler is not None:
            self.sampler.stop()
        self._device, self.power = device, power_source(device)
        self.sample_hz, self.rate_warnings = sampling_rate(self.settings.sample_hz, device)
        for w in self.rate_warnings:
            self.fanout.notice(w, "warning")
        self.sampler = Sampler(device.sensors(), self.sample_hz, on_sample=self.fanout.sample_hook(self.power)).start()
        if device.info().id not in self.baselines:
            self.measure_idle()

    def measure_idle(self) -> IdleBaseline:
        info = self._device.info()
        b = IdleBaseline.from_dict(measure_idle(self.sampler, self.power, info.id, self.settings, self.meter))
        self.baselines[info.id] = b
        first = next(iter(self.baselines.values())).to_dict()
        try:
            write_json(self.run_dir / "baseline.json",
                       {**first, "by_device": {k: x.to_dict() for k, x in self.baselines.items()}}
                       if len(self.baselines) > 1 else b.to_dict())
        except OSError as exc:
            raise os_fault(self.run_dir / "baseline.json", exc, run_dir=self.run_dir) from None
        p, prov = b.idle_power_w, b.provenance
        self.fanout.notice(f"idle baseline on {info.name}: {'n/a' if p is None else round(p, 2)} W over "
                           f"{b.idle_window_s:.1f} s ({prov.source}, {prov.kind})",
                           data={"idle_power_w": p, "idle_window_s": b.idle_window_s, "device_id": info.id,
                                 "provenance": prov.to_dict()})
        return b

    # -- one case: prepare -> execute -> assess -> persist ------------------------------------
    def _rss_over(self) -> str | None:
        limit = self.settings.max_rss_bytes
        if not self.sampler.rss_over(limit):
            return None
        return (f"worker RSS peaked at {_bytes(self.sampler.peak_rss_bytes)}, over --max-rss {_bytes(limit)}; "
                f"raise the limit or bench a smaller artifact")

    def run_one(self, case: Case) -> Record | None:
        """One case, start to fsynced record; None when the sweep was stopped before it started."""
        run = self.prepare(case)
        if run.preflight is not None:
            return self.persist(run, Assessed(build_record(case, run.preflight, run.context, {})))
        if self.cancelled:  # stopped during the idle baseline or cool-down: the case never started
            return None
        return self.persist(run, self.assess(run, self.execute(run)))

    def prepare(self, case: Case) -> CaseRun:
        """Switch to the case's device (its sampler, its idle baseline), cool down, and settle the
        record's context; a case that must not start carries its preflight outcome."""
        s = self.settings
        started_at = dt.datetime.now(dt.timezone.utc).isoformat()
        self.use_device(bench_device(self.devices, case.placement))
        applied = self.control.apply(case.power, lambda: self.cancelled) if self.control else None
        if (s.idle_each and self.baselines) or (applied and applied.changed and not applied.failure):
            self.measure_idle()  # a new power setting has its own idle power
        baseline = self.baselines.get(self._device.info().id)
        cooled = cool_down(self.sampler, baseline, s) if s.cooldown_s else 0.0
        self._context = (self.control.read(), applied) if self.control else None
        ctx = CaseContext(run_id=self.run_id, host=self.host, started_at=started_at, device=device_ref(self._device),
                          sample_hz=self.sample_hz, baseline=baseline,
                          power_rule=self.power.provenance if self.power else None, cooldown_s=cooled)
        return CaseRun(case=case, device=self._device, power=self.power, baseline=baseline, context=ctx,
                       preflight=(applied.failure if applied else None) or preflight(case, s))

    def execute(self, run: CaseRun) -> Executed:
        """Run the case's worker while the sampler watches it; a stop or a skip by the user becomes
        the outcome's status."""
        s = self.settings
        job = Job(run.case, s.reps, s.warmup, s.min_seconds, self.text, self.quiet_workers,
                  log_path=str(log_path(self.run_dir, run.case.case_id)))
        self._skip = False
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        snap0 = self.meter.snapshot()
        outcome = run_case(job, self.fanout.emit, timeout_s=s.timeout_s, on_start=self._attach,
                           rss_over_limit=self._rss_over)
        drop_stalled(outcome)  # a stopped or starved worker's repetitions are not measurements
        snap1 = self.meter.snapshot()
        self.sampler.flush()  # every sensor read once after the last repetition (edge interpolation)
        self.sampler.detach()
        self._worker_pid = None
        if self.cancelled and outcome.status != "ok":
            outcome.status = "cancelled"
            outcome.error = ErrorInfo("cancelled", "cancelled by the user", (outcome.error.phase if outcome.error
                                                                            else None))
        elif self._skip and outcome.status != "ok":
            outcome.status = "skipped"
            outcome.error = ErrorInfo("skipped", "skipped by the user", outcome.error.phase if outcome.error else None)
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        cpu_s = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        return Executed(outcome=outcome, harness_cpu_s=cpu_s, load_before=snap0, load_after=snap1)

    def assess(self, run: CaseRun, done: Executed) -> Assessed:
        """The record from the outcome and the sampler's window over it, enriched (roofline, server
        reference) when the sweep was given an enricher."""
        samples = self.sampler.window(done.outcome.t_start_ns, done.outcome.t_end_ns)
        rec = assess(run, done, samples, self.meter, self.sample_hz, self.rate_warnings)
        if self.enrich is not None:
            rec = self.enrich(rec, run.case)
        return Assessed(rec, samples, done.outcome.reps)

    def persist(self, run: CaseRun, done: Assessed) -> Record:
        """Append the record (fsynced, announced), then the case's optional samples files."""
        rec = done.record
        if self.settings.sustain_s and done.reps:  # --sustain: the case in windows (analysis/sustain.py)
            rec = rec.with_extra(sustain=sustained(rec, done, run.power, self.settings.sustain_window_s,
                                                   self._context[0].values if self._context else {}))
        if self.control is not None and self._context is not None:  # the settings it ran under
            rec = self.control.stamp(rec, self._context[0], run.case.power, self._context[1])
        rec = self._finish(rec)
        if run.preflight is not None:
            return rec
        case, samples = run.case, done.samples
        for path, write in ((self.run_dir / "samples" / f"{case.case_id}.csv", lambda p: write_samples_csv(p, samples)),
                            (self.run_dir / "samples" / f"{case.case_id}.tokens.csv",
                             lambda p: write_tokens_csv(p, done.reps, case.workload))):
            try:
                write(path)
            except OSError as exc:
                path.unlink(missing_ok=True)
                raise os_fault(path, exc, run_dir=self.run_dir) from None
        return rec

    def _attach(self, pid: int) -> None:
        self._worker_pid = pid
        sensor = self._device.process_sensor(pid)
        self.sampler.attach(pid, [sensor] if sensor is not None else [])

    def cancel(self) -> None:
        """Stop the sweep: the running case ends as ``cancelled``, later cases are not started;
        everything already written stays."""
        self.cancelled = True
        self._go.set()
        self._stop_worker()

    def skip(self) -> None:
        """End the running case now: it is recorded as ``skipped`` and the sweep goes on."""
        self._skip = True
        self._stop_worker()

    def pause(self) -> None:
        """Hold the sweep before its next case. The running case finishes as it would: stopping
        a worker mid-repetition would put the pause inside its timings."""
        self._go.clear()

    def resume(self) -> None:
        self._go.set()

    @property
    def paused(self) -> bool:
        return not self._go.is_set()

    def _stop_worker(self) -> None:
        pid = self._worker_pid
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def _finish(self, rec: Record) -> Record:
        path = self.run_dir / "records.jsonl"
        try:
            if rec.case_id in self.rerun:
                replace_record(path, rec.to_dict())
            else:
                append_record(path, rec.to_dict())
        except OSError as exc:
            raise os_fault(path, exc, run_dir=self.run_dir) from None
        if rec.ok:
            self.fanout.emit(ev.CaseFinished(case_id=rec.case_id, record=rec))
        else:
            self.fanout.emit(ev.CaseFailed(case_id=rec.case_id, error=rec.error, record=rec))
        return rec

    # -- a sweep ----------------------------------------------------------------------------
    def run(self, cases: list[Case], done: set[str] | None = None) -> list[Record]:
        done = done or set()
        out: list[Record] = []
        try:
            for i, case in enumerate(cases):
                if case.case_id in done:
                    continue
                if not self._go.is_set():
                    self.fanout.notice(f"paused before case {i + 1}/{len(cases)}", data={"paused": True})
                    self._go.wait()
                if self.cancelled:
                    break
                dev = bench_device(self.devices, case.placement)
                self.fanout.emit(ev.CaseScheduled(case_id=case.case_id, index=i + 1, total=len(cases),
                                                  label=case.label, parts=case.parts,
                                                  workload=case.workload.to_dict(),
                                                  reps=self.settings.reps,
                                                  device=DeviceDesc.from_dict(dev.info().to_dict()),
                                                  model=case.artifact.model.to_dict(),
                                                  artifact={"format": case.artifact.format,
                                                            "quant": case.artifact.quant,
                                                            "runtime": case.runtime}))
                rec = self.run_one(case)
                if rec is not None:
                    out.append(rec)
        finally:
            for line in self.control.restore() if self.control is not None else ():
                self.fanout.notice(line, "warning" if line.startswith("could not") else "info")
            if self.sampler is not None:
                self.sampler.stop()
            self.fanout.emit(ev.RunFinished(n_ok=sum(r.ok for r in out), n_failed=sum(not r.ok for r in out),
                                            cancelled=self.cancelled))
        return out


def sustained(rec: Record, done: Assessed, power, window_s: float, context: dict) -> dict[str, Any]:
    """``--sustain``: the case in windows, with what its figures carry (an estimated power, a busy machine)."""
    from edgeprof.analysis.sustain import analyse

    caveats = ([f"power is ESTIMATED ({power.provenance.source}): J/token and W are estimates"]
               if power is not None and power.provenance.estimated else [])
    load = rec.conditions.load
    if load is not None and load.during_status == "contended":
        caveats.append("measured on a busy machine: a fall in t/s may be the other processes', not throttling")
    return analyse(done.reps, done.samples, window_s, power.sensor if power else None,
                   power.quantity if power else "power_w", context, caveats).to_dict()


def _bytes(n: float) -> str:
    """A byte count people read: 812 B, 97.3 MiB, 1.50 GiB."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.{2 if unit == 'GiB' else 1}f} {unit}"
    return f"{n:.0f} B"


def sampling_rate(requested: float, device) -> tuple[float, list[str]]:
    """The rate the sampler can honour on ``device`` and why it differs from ``--sample-hz``:
    capped at ``MAX_SAMPLE_HZ``; a sensor with a floor (e.g. twice per NVML energy-counter update)
    is read at that floor by the sampler itself (``SensorInfo.period_s``), which the warning records."""
    warnings = []
    hz = requested
    if hz > MAX_SAMPLE_HZ:
        warnings.append(f"--sample-hz {requested:g} is above what the sampler can honour; capped at {MAX_SAMPLE_HZ:g}")
        hz = MAX_SAMPLE_HZ
    if hz:
        for s in device.sensors():
            floor = s.info.floor_hz if s.available else None
            if floor and hz < floor:
                warnings.append(f"--sample-hz {hz:g} is below the floor of {s.info.name} ({floor:g} Hz: twice per "
                                f"update); that sensor is read at {floor:g} Hz")
    return hz, warnings

