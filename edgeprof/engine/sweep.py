"""The bench engine: runs a plan case by case in isolated workers while the sampler polls the
device, turns each case's trace into a record and appends it (fsynced) before the next case.

A failure in one case is a row with an error, never the end of a sweep. Everything a front-end
shows comes from the events passed to ``listeners``.
"""
from __future__ import annotations

import datetime as dt
import os
import resource
import socket
import time
from pathlib import Path
from typing import Any, Callable

from devices.base import Device

from edgeprof import __version__
from edgeprof.engine import events as ev
from edgeprof.assets_access import asset
from edgeprof.engine.launcher import Outcome, run_case
from edgeprof.analysis.metrics import PowerSource, Trace, compute, perf_crosscheck
from edgeprof.engine.plan import Settings
from edgeprof.engine.record import build_record, write_samples_csv
from edgeprof.results.jsonl import append_record, write_json
from edgeprof.engine.sampler import Sampler

Listener = Callable[[dict], None]


def power_source(device: Device) -> PowerSource | None:
    """The total-power rule's sensor of a device, if it is available."""
    for s in device.sensors():
        if s.info.total and s.available:
            i = s.info
            return PowerSource(sensor=i.name, quantity=i.quantity,
                               provenance={"kind": i.kind, "source": i.source, "scope": i.scope, "note": i.note})
    return None


class Bench:
    def __init__(self, run_dir: Path, run_id: str, device: Device, settings: Settings,
                 listeners: list[Listener] | None = None, host: str | None = None):
        self.run_dir, self.run_id, self.device, self.settings = run_dir, run_id, device, settings
        self.listeners = listeners or []
        self.host = host or socket.gethostname()
        self.power = power_source(device)
        self.sampler = Sampler(device.sensors(), settings.sample_hz)
        self.baseline: dict[str, Any] | None = None
        self.text = asset("prompts", "bench.txt").read_text()
        self.last_cooldown_s = 0.0
        self.cancelled = False
        self.quiet_workers = False
        self._worker_pid: int | None = None
        self.enrich = None  # an Enricher (roofline, server reference), set by the caller
        (run_dir / "samples").mkdir(parents=True, exist_ok=True)

    # -- events -----------------------------------------------------------------------------
    def emit(self, event: dict) -> None:
        for fn in self.listeners:
            fn(event)

    def enable_sample_events(self) -> None:
        """Emit a ``sample`` event per sample (for live views), with the headline power derived
        from the total sensor (Δenergy/Δt for counters)."""
        last: dict[str, float] = {}
        label = f"{self.power.provenance['source']} ({self.power.provenance['kind']})" if self.power else "none"

        def on_sample(smp) -> None:
            pw = None
            if self.power is not None:
                v = smp.value(self.power.sensor, self.power.quantity)
                if self.power.quantity == "power_w":
                    pw = v
                elif v is not None:
                    if last and smp.t_ns > last["t"]:
                        pw = (v - last["v"]) / ((smp.t_ns - last["t"]) / 1e9)
                    last.update(t=smp.t_ns, v=v)
            self.emit(ev.make(ev.SAMPLE, None, smp.t_ns, power_w=pw, power_label=label,
                              readings=[r.to_dict() for r in smp.readings]))

        self.sampler.on_sample = on_sample

    # -- idle baseline ----------------------------------------------------------------------
    def measure_idle(self) -> dict[str, Any]:
        """Idle power over a window with no worker running (CONTRACTS.md "Idle baseline")."""
        s = self.settings
        t0 = time.monotonic_ns()
        if s.sample_hz == 0:
            self.sampler.sample_once()
        time.sleep(s.idle_s)
        if s.sample_hz == 0:
            self.sampler.sample_once()
        t1 = time.monotonic_ns()
        from edgeprof.analysis.energy import mean_power_w, series

        power_w = None
        prov: dict[str, Any] = {"kind": "measured", "source": "none", "scope": "device", "period_s": None,
                                "note": "no power sensor available"}
        if self.power is not None:
            ser = series(self.sampler.window(t0, t1), self.power.sensor, self.power.quantity)
            power_w = mean_power_w(ser, self.power.quantity, max(t0, ser[0][0]) if ser else t0,
                                   min(t1, ser[-1][0]) if ser else t1)
            prov = dict(self.power.provenance, period_s=(t1 - t0) / 1e9,
                        note=(self.power.provenance.get("note") or "") + f"; idle window {(t1 - t0) / 1e9:.2f} s")
        temps = [r.value for smp in self.sampler.window(t0, t1) for r in smp.readings
                 if r.quantity == "temperature_c" and r.value is not None]
        self.baseline = {"device_id": self.device.info().id, "t0_ns": t0, "t1_ns": t1,
                         "idle_temperature_c": max(temps) if temps else None,
                         "idle_window_s": (t1 - t0) / 1e9, "idle_power_w": power_w, "provenance": prov,
                         "measured_at": dt.datetime.now(dt.timezone.utc).isoformat()}
        write_json(self.run_dir / "baseline.json", self.baseline)
        self.emit(ev.make(ev.RUN_NOTICE, None, message=f"idle baseline: {power_w if power_w is None else round(power_w, 2)} W "
                                                     f"over {(t1 - t0) / 1e9:.1f} s ({prov.get('source')}, {prov.get('kind')})"))
        return self.baseline

    # -- one case ---------------------------------------------------------------------------
    def cool_down(self, margin_c: float = 2.0, poll_s: float = 0.5) -> float:
        """Wait until the device is back within ``margin_c`` of its idle temperature, or for
        ``--cooldown`` seconds at most (the whole time when no temperature sensor exists)."""
        s = self.settings
        t0 = time.monotonic()
        idle_c = (self.baseline or {}).get("idle_temperature_c")
        while time.monotonic() - t0 < s.cooldown_s:
            if idle_c is not None and s.sample_hz:
                now = time.monotonic_ns()
                temps = [r.value for smp in self.sampler.window(now - int(poll_s * 1e9), now) for r in smp.readings
                         if r.quantity == "temperature_c" and r.value is not None]
                if temps and max(temps) <= idle_c + margin_c:
                    break
            time.sleep(min(poll_s, max(0.0, s.cooldown_s - (time.monotonic() - t0))))
        return time.monotonic() - t0

    def memory_check(self, case: dict) -> str | None:
        if self.settings.ignore_memory_check:
            return None
        import psutil

        need = int(case["artifact"].get("size_bytes") or 0) * 1.2 + 256 * 2**20
        avail = psutil.virtual_memory().available
        if need > avail:
            return (f"needs about {need / 2**30:.1f} GiB but {avail / 2**30:.1f} GiB is available; "
                    f"free memory or pass --ignore-memory-check")
        return None

    def run_one(self, case: dict) -> dict[str, Any]:
        s = self.settings
        started_at = dt.datetime.now(dt.timezone.utc).isoformat()
        if s.idle_each and self.baseline is not None:
            self.measure_idle()
        self.last_cooldown_s = self.cool_down() if s.cooldown_s else 0.0
        skip = self.memory_check(case)
        if skip:
            outcome = Outcome(status="skipped", error={"kind": "memory_check", "message": skip, "phase": "plan",
                                                       "exit_code": None, "signal": None})
            rec = build_record(case, outcome, self, {}, started_at, harness_cpu_s=0.0, throttled=None)
            self._finish(rec)
            return rec
        spec = {"case_id": case["case_id"], "artifact": case["artifact"], "runtime": case["runtime"],
                "placement": case["placement"], "workload": case["workload"], "reps": s.reps,
                "warmup": s.warmup, "min_seconds": s.min_seconds, "text": self.text,
                "quiet_stdio": self.quiet_workers}
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        outcome = run_case(spec, self.emit, timeout_s=s.timeout_s, on_start=self._attach,
                           rss_over_limit=lambda: self.sampler.rss_over(s.max_rss_bytes))
        self.sampler.detach()
        self._worker_pid = None
        if self.cancelled and outcome.status != "ok":
            outcome.status = "cancelled"
            outcome.error = dict(outcome.error or {}, kind="cancelled", message="cancelled by the user")
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        harness = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        samples = self.sampler.window(outcome.t_start_ns, outcome.t_end_ns)
        metrics: dict[str, Any] = {}
        warnings: list[str] = []
        if outcome.reps:
            tr = Trace(reps=outcome.reps, samples=samples, power=self.power,
                       idle_power_w=(self.baseline or {}).get("idle_power_w"),
                       idle_provenance=(self.baseline or {}).get("provenance"),
                       memory_total_bytes=self.device.info().memory_bytes,
                       params=(outcome.loaded.get("n_params") or case["artifact"]["model"].get("params")),
                       artifact_size_bytes=case["artifact"].get("size_bytes"),
                       baseline_size_bytes=case["artifact"].get("baseline_size"),
                       quality_retention=case["artifact"].get("quality_retention"),
                       sample_hz=s.sample_hz,
                       worker_maxrss_bytes=outcome.worker_stats.get("ru_maxrss_bytes"))
            metrics = compute(tr, perf_crosscheck(outcome.reps))
            warnings = tr.warnings
        throttled = _throttled(samples)
        rec = build_record(case, outcome, self, metrics, started_at, harness_cpu_s=harness, throttled=throttled)
        rec["warnings"] = warnings
        if self.enrich is not None:
            self.enrich(rec, case["artifact"])
        write_samples_csv(self.run_dir / "samples" / f"{case['case_id']}.csv", samples)
        self._finish(rec)
        return rec

    def _attach(self, pid: int) -> None:
        self._worker_pid = pid
        extra = [self.device.process_sensor(pid)] if hasattr(self.device, "process_sensor") else []
        self.sampler.attach(pid, extra)

    def cancel(self) -> None:
        """Stop the sweep: the running case ends as ``cancelled``, later cases are not started;
        everything already written stays."""
        import signal

        self.cancelled = True
        pid = self._worker_pid
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def _finish(self, rec: dict) -> None:
        append_record(self.run_dir / "records.jsonl", rec)
        kind = ev.CASE_FINISHED if rec["status"] == "ok" else ev.CASE_FAILED
        payload = {"record": rec} if kind == ev.CASE_FINISHED else {"error": rec["error"], "record": rec}
        self.emit(ev.make(kind, rec["case_id"], **payload))

    # -- a sweep ----------------------------------------------------------------------------
    def run(self, cases: list[dict], done: set[str] | None = None) -> list[dict]:
        done = done or set()
        out = []
        with self.sampler:
            if self.baseline is None:
                self.measure_idle()
            for i, case in enumerate(cases):
                if self.cancelled:
                    break
                if case["case_id"] in done:
                    continue
                self.emit(ev.make(ev.RUN_NOTICE, case["case_id"], message="case", index=i, total=len(cases),
                                  case=_case_label(case)))
                out.append(self.run_one(case))
        return out


def _throttled(samples) -> bool | None:
    vals = [r.value for s in samples for r in s.readings if r.quantity == "throttled" and r.value is not None]
    return None if not vals else any(v > 0 for v in vals)


def _case_label(case: dict) -> str:
    a, w, p = case["artifact"], case["workload"], case["placement"]
    return (f"{a['model']['id']} {a['format']}:{a['quant']} p{w['prompt_tokens']} n{w['gen_tokens']} "
            f"d{w['depth']} t{p['threads']}")


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{os.getpid() % 10000:04d}"


def env_info(device: Device) -> dict[str, Any]:
    import platform
    from importlib import metadata

    def ver(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    gov = None
    try:
        gov = Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").read_text().strip()
    except OSError:
        pass
    return {"edgeprof": __version__, "python": platform.python_version(), "platform": platform.platform(),
            "host": socket.gethostname(), "device": device.info().to_dict(),
            "versions": {n: ver(n) for n in ("llama-cpp-python", "onnxruntime", "torch", "transformers",
                                              "optimum", "numpy", "psutil", "nvidia-ml-py")},
            "cpu_governor": gov, "loadavg_before": list(os.getloadavg()),
            "sensors": [s.info.to_dict() for s in device.sensors()]}
