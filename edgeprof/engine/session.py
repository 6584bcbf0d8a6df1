"""One run session for every front-end (``bench``, ``tui``, ``compare --interleave``,
``reference build``): it validates and resolves BEFORE anything is written (a rejected command
line creates no run directory), then prepares the run directory, plan, env and idle baseline,
enriches each record (roofline, server reference), runs the sweep and indexes the run in the
history — the same way for all. It raises typed errors; it never prints.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from edgeprof import home
from edgeprof.engine.case_check import checked
from edgeprof.engine.config import BenchOptions, Settings
from edgeprof.engine.device_choice import bench_device, default_providers, open_devices, power_source
from edgeprof.engine.fanout import Fanout
from edgeprof.engine.launcher import first_stop_signal
from edgeprof.engine.plan import Axes, Case, build_cases, plan_dict, read_plan
from edgeprof.engine.rundir import check_target as _check_target
from edgeprof.engine.rundir import create_run_dir
from edgeprof.engine.runlock import RunLock
from edgeprof.engine.sweep import Sweep
from edgeprof.engine.threads import check_threads
from edgeprof.errors import UsageError, os_fault
from edgeprof.results.described import DeviceDesc
from edgeprof.results.jsonl import read_records, write_json
from edgeprof.results.schema import Record

Note = Callable[[str], None]


def new_run_id() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{os.getpid() % 10000:04d}"


def physical_cores() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or psutil.cpu_count() or 1


@dataclass
class RunSession:
    run_dir: Path
    run_id: str
    cases: list[Case]
    settings: Settings
    devices: list
    root: Path
    done: set[str] = field(default_factory=set)
    resuming: bool = False
    overwrite: bool = False
    plan: dict[str, Any] | None = None   # written by start() for a new run
    fanout: Fanout = field(default_factory=Fanout)
    note: Note = lambda s: None
    sweep: Sweep | None = None
    lock: RunLock | None = None
    rerun: set[str] = field(default_factory=set)       # cases with a record that is re-run and replaced
    counts: dict[str, int] = field(default_factory=dict)  # resume: failed/skipped records kept as done
    interrupted: bool = False
    suites: list[str] = field(default_factory=list)   # --suite names: suite.json is written after the sweep
    history: str | None = None     # --history: the store this run is indexed in (None: the configured one)
    peaks: Any = None              # engine.peaks.Peaks: the probe decision; re-takes a contended probe after the sweep

    # -- constructors: everything checked, nothing written ------------------------------
    @classmethod
    def for_bench(cls, opts: BenchOptions, note: Note = lambda s: None, fanout: Fanout | None = None) -> "RunSession":
        root = home.sysroot()
        if opts.resume is not None:
            session = cls.for_resume(opts.resume, note, fanout, retry_failed=opts.retry_failed, root=root)
            session.history = opts.history
            return session
        run_dir = opts.out or Path("edgeprof-runs") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        _check_target(run_dir, opts.overwrite)
        for w in check_threads(opts.threads or []):  # far above the cores: refused before anything is written
            note(w)
        from edgeprof.models.artifacts import resolve_all

        artifacts = resolve_all(opts.models or [None], note, pull=opts.pull)
        artifacts += _exports(opts, artifacts, note)
        settings = opts.settings()
        axes = Axes(prompt=opts.prompt, gen=opts.gen, depth=opts.depth, threads=opts.threads or [physical_cores()],
                    knobs=opts.knobs(), batch=opts.batch, shapes=opts.input_shapes())
        suites = _suite_workloads(opts.suite or [], axes)
        devices = open_devices(root, settings.cpu_tdp_w)
        try:
            from edgeprof.engine.power_axes import power_plan

            axes.power = power_plan(opts, devices, root)  # values this machine does not offer: exit 2 now
            providers = default_providers(devices)
            cases = build_cases(artifacts, axes, host=socket.gethostname(), runtime=opts.runtime, providers=providers,
                                device_for=lambda rt, pl: bench_device(devices, pl).info().id)
        except BaseException:
            _close(devices)
            raise
        run_id = new_run_id()
        return cls(run_dir, run_id, cases, settings, devices, root, fanout=fanout or Fanout(), note=note,
                   plan=plan_dict(run_id, cases, settings, axes, opts.models or [None], suites=suites),
                   overwrite=opts.overwrite, suites=[s["name"] for s in suites], history=opts.history)

    @classmethod
    def for_resume(cls, run_dir: Path, note: Note = lambda s: None, fanout: Fanout | None = None, *,
                   retry_failed: bool = False, root: Path | None = None) -> "RunSession":
        plan_path = run_dir / "plan.json"
        if not plan_path.is_file():
            raise UsageError(f"--resume {run_dir}: no plan.json there; pass a run directory made by 'edgeprof bench'")
        lock = RunLock.acquire(run_dir)  # before reading what is done: a second resume must not run it too
        try:
            try:
                data = json.loads(plan_path.read_bytes())
            except (ValueError, OSError, RecursionError) as exc:
                raise UsageError(f"{plan_path} is damaged ({type(exc).__name__}: {str(exc)[:80]}); start a new run "
                                 f"instead of --resume") from None
            if not isinstance(data, dict):
                raise UsageError(f"{plan_path} is damaged (not a JSON object); start a new run instead of --resume")
            run_id, cases, settings = read_plan(data)
            rec_path = run_dir / "records.jsonl"
            records = read_records(rec_path) if rec_path.exists() else []
            have = {r.case_id: r.status for r in records}
            # cancelled is the user's stop, not a property of the case: it always runs again
            done = {cid for cid, st in have.items() if st == "ok" or (st != "cancelled" and not retry_failed)}
            counts = {"failed_kept": sum(1 for cid, st in have.items() if st in ("failed", "skipped") and cid in done)}
            root = root or home.sysroot()
            devices = open_devices(root, settings.cpu_tdp_w)
        except BaseException:
            lock.release()
            raise
        return cls(run_dir, run_id, cases, settings, devices, root, done=done, resuming=True,
                   fanout=fanout or Fanout(), note=note, lock=lock, counts=counts,
                   rerun={cid for cid in have if cid not in done}, suites=[s["name"] for s in data.get("suites") or []])

    @classmethod
    def for_cases(cls, run_dir: Path, cases: list[Case], settings: Settings, plan_extra: dict[str, Any],
                  note: Note = lambda s: None, fanout: Fanout | None = None, overwrite: bool = False) -> "RunSession":
        """A session over cases built elsewhere (``compare --interleave``, ``reference build``),
        checked as plan.json cases are."""
        try:
            checked(cases)
        except ValueError as exc:
            raise UsageError(f"{exc}; re-create the runs these cases come from") from None
        _check_target(run_dir, overwrite)
        root = home.sysroot()
        run_id = new_run_id()
        plan = {"schema_version": 1, "run_id": run_id, "settings": settings.to_dict(),
                "cases": [c.to_dict() for c in cases], **plan_extra}
        return cls(run_dir, run_id, cases, settings, open_devices(root, settings.cpu_tdp_w), root,
                   fanout=fanout or Fanout(), note=note, plan=plan, overwrite=overwrite)

    # -- what the plan will do -----------------------------------------------------------
    @property
    def left(self) -> list[Case]:
        return [c for c in self.cases if c.case_id not in self.done]

    def resume_summary(self) -> str:
        """What ``--resume`` will do, in one line (printed before it starts)."""
        n = len(self.left)
        failed = self.counts.get("failed_kept", 0)
        again = sum(1 for c in self.left if c.case_id in self.rerun)
        head = (f"resuming {self.run_dir}: {n} of {len(self.cases)} case(s) left"
                + (f" ({again} cancelled or failed, re-run and replaced)" if again else "")
                if n else f"nothing left to run in {self.run_dir}: all {len(self.cases)} case(s) have a record")
        tail = f"; {failed} failed or skipped, kept — pass --retry-failed to re-run them" if failed else ""
        return head + tail

    # -- running -------------------------------------------------------------------------
    def start(self, quiet_workers: bool = False) -> Sweep:
        """Create the run directory and its files under the run lock; returns the sweep to run."""
        try:
            if not self.resuming:
                self.lock = create_run_dir(self.run_dir, self.plan, self.overwrite, self.lock)
            primary = bench_device(self.devices, self.cases[0].placement) if self.cases else None
            path = self.run_dir / "env.json"
            write_json(path, env_info(self.devices, self.root, primary))
        except OSError as exc:
            raise os_fault(getattr(exc, "filename", None) or self.run_dir, exc,
                           run_dir=self.run_dir if (self.run_dir / "plan.json").is_file() else None) from None
        from edgeprof.engine.peaks import Peaks, announced_probe, enricher

        self.peaks = Peaks(self.note, run_probe=announced_probe(self.fanout),
                           retake_probe=announced_probe(self.fanout, after_sweep=True))
        enrich = enricher(self.note, peaks=self.peaks, predicted_server=self.settings.predicted_server)
        try:
            self.sweep = Sweep(self.run_dir, self.run_id, self.devices, self.settings, self.fanout, enrich=enrich)
        except OSError as exc:
            raise os_fault(self.run_dir / "samples", exc, run_dir=self.run_dir) from None
        from edgeprof.engine.power_axes import PowerControl

        self.sweep.control = PowerControl.for_run(self.devices, self.root, self.settings, self.run_dir,
                                                  lambda m: self.fanout.notice(m, "warning"))
        self.sweep.quiet_workers = quiet_workers
        self.sweep.rerun = set(self.rerun)
        return self.sweep

    def run(self, quiet_workers: bool = False) -> list[Record]:
        """Start, run every case left, index the run; returns every record of the run directory.
        The first Ctrl-C (SIGINT) stops the sweep cleanly: the running case ends as ``cancelled``
        (re-run by ``--resume``), later cases are not started, ``interrupted`` is set; a second
        Ctrl-C raises KeyboardInterrupt at once."""
        try:
            sweep = self.sweep or self.start(quiet_workers)
        except BaseException:
            self.close()
            raise
        from edgeprof.engine import events as ev

        device, power = self.describe()
        self.fanout.emit(ev.RunStarted(run_dir=str(self.run_dir), total=len(self.cases),
                                       labels=tuple(c.label for c in self.cases), done=len(self.done),
                                       device=device, power_label=power))

        def stop() -> None:
            self.interrupted = True
            sweep.cancel()

        restore = first_stop_signal(stop)
        try:
            sweep.run(self.cases, self.done)
        finally:
            restore()
            self.close()
            self.write_suites()
            self.index()
        if self.peaks is not None and not self.interrupted and not sweep.cancelled:
            self.peaks.retake(sweep.baselines)  # engine/peaks.py rule 3: never between two cases
        return self.records()

    def describe(self) -> tuple[DeviceDesc, str]:
        """The first case's device and its sensors, for ``run_started`` (see ``describe_devices``)."""
        if not self.devices:
            return DeviceDesc(), ""
        primary = bench_device(self.devices, self.cases[0].placement) if self.cases else self.devices[-1]
        return describe_devices(self.devices, primary)

    def write_suites(self) -> dict | None:
        """suite.json: each suite's summary and its server comparison; a failure is a notice."""
        if not self.suites:
            return None
        from edgeprof.engine import suite_file

        compare = getattr(self.sweep.enrich, "compare", None) if self.sweep else None
        try:
            return suite_file.write(self.run_dir, self.suites, self.records(), compare)
        except (OSError, UsageError) as exc:
            self.note(f"suite.json not written ({exc})")
            return None

    def check_interrupted(self, records: list[Record] | None = None) -> None:
        """After ``run``: a Ctrl-C stop is one line with what finished and the exact resume
        command (exit 130), for every front-end that ran the session."""
        if self.interrupted:
            from edgeprof.errors import Interrupted, resume_command

            ok = sum(r.ok for r in (self.records() if records is None else records))
            raise Interrupted(f"interrupted: {ok} of {len(self.cases)} case(s) finished and kept in "
                              f"{self.run_dir}/records.jsonl; finish the run with: {resume_command(self.run_dir)}")

    def records(self) -> list[Record]:
        path = self.run_dir / "records.jsonl"
        return read_records(path) if path.exists() else []

    def index(self) -> str | None:
        """Index the run in the history store (and any run that waited for it); a store that is
        down is a notice and a journal entry, never a lost run (``results/pending.py``)."""
        from edgeprof.results.pending import index_or_defer

        return index_or_defer(self.run_dir, self.history, self.note)

    def close(self) -> None:
        """Close the devices and drop the run lock (idempotent)."""
        _close(self.devices)
        self.devices = []
        if self.lock is not None:
            self.lock.release()


def describe_devices(devices: list, primary) -> tuple[DeviceDesc, str]:
    """``primary``'s identity with every sensor as declared (static ``SensorInfo``: available or
    not, the reason and the fix; nothing is read), all devices likewise under ``devices``, and the
    power source label: a live view shows what cannot be measured without reading hardware itself."""
    def one(d) -> dict[str, Any]:
        return {**d.info().to_dict(), "sensors": [s.info.to_dict() for s in d.sensors()]}

    power = power_source(primary)
    label = f"{power.provenance.source} ({power.provenance.kind}, {power.provenance.scope})" if power else ""
    return DeviceDesc.from_dict({**one(primary), "devices": [one(d) for d in devices]}), label


def exit_code(records: list[Record], interrupted: bool = False) -> int:
    """CONTRACTS: 0 when every case is ok, 1 when one failed or was skipped or nothing was
    measured, 130 when interrupted."""
    if interrupted:
        return 130
    return 0 if records and all(r.ok for r in records) else 1


def _close(devices: list) -> None:
    for d in devices:
        d.close()


def _suite_workloads(names: list[str], axes: Axes) -> list[dict[str, Any]]:
    """``--suite``: the suites' cases replace the -p × -n × --depth product (in suite order)."""
    if not names:
        return []
    from edgeprof.analysis.suites import load

    suites = [load(n) for n in names]
    axes.workloads = [w for s in suites for w in s.workloads()]
    return [{"name": s.name, "version": s.version} for s in suites]


def _exports(opts: BenchOptions, artifacts: list, note: Note) -> list:
    """``--export onnx:int4 --export gguf:q4_k_m``: export the (single HF) source, then bench it all."""
    if not opts.export:
        return []
    from edgeprof.models.artifacts import ArtifactError
    from edgeprof.models.exporting import export_for_bench

    sources = [a for a in artifacts if a.format == "hf"]
    if len(sources) != 1:
        raise ArtifactError("--export needs exactly one HF source model (e.g. smollm2-135m-instruct-hf after "
                            "'edgeprof models prepare smollm2-135m-instruct-hf')")
    return export_for_bench(sources[0], opts.export, note=note, allow_degraded=opts.allow_degraded)


def env_info(devices: list, root: Path, primary=None) -> dict[str, Any]:
    """env.json: versions, the devices, governor (read through the injectable root) and load."""
    import platform
    from importlib import metadata

    from edgeprof import __version__

    def ver(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    gov = None
    try:
        gov = (root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").read_text().strip()
    except OSError:
        pass
    infos = [d.info().to_dict() for d in devices]
    return {"edgeprof": __version__, "python": platform.python_version(), "platform": platform.platform(),
            "host": socket.gethostname(), "device": (primary or devices[-1]).info().to_dict() if devices else None,
            "devices": infos,
            "versions": {n: ver(n) for n in ("llama-cpp-python", "onnxruntime", "torch", "transformers",
                                              "optimum", "numpy", "psutil", "nvidia-ml-py")},
            "cpu_governor": gov, "loadavg_before": list(os.getloadavg()),
            "sensors": [s.info.to_dict() for d in devices for s in d.sensors()]}
