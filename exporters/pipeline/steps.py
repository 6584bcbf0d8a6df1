"""Run each export step in its own child process and measure it.

Why a process per step: (1) ``os.wait4`` returns that child's own peak RSS, so the manifest can
say how much memory each artifact's export really needed (one long-lived process only knows its
lifetime peak); (2) llama.cpp aborts the process on some bad inputs and a 10 GB export can be
OOM-killed: the parent survives and reports it; (3) an interrupted export leaves only the finished
steps behind, which the next run resumes. Children die with the parent (``PR_SET_PDEATHSIG`` on
Linux), so killing an export never leaves a converter writing into a directory.

``python -m edgeprof.exporters.pipeline.step_child SPEC.json`` is the child side of ``run_python_step``.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from edgeprof.exporters.errors import ExportError


_LIVE: set[subprocess.Popen] = set()   # children of running steps, for ``kill_running``
_LIVE_LOCK = threading.Lock()


def kill_running() -> None:
    """Kill every step child still running (an export stopping on a failure or an interrupt)."""
    with _LIVE_LOCK:
        procs = list(_LIVE)
    for proc in procs:
        try:
            proc.kill()
        except OSError:
            pass


@dataclass
class StepStats:
    """Wall time and peak resident memory of one finished step (peak includes its own children)."""
    name: str
    wall_s: float
    peak_rss_bytes: int | None

    def to_dict(self) -> dict:
        return asdict(self)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def run_command(name: str, cmd: list[str], *, log_path: Path, env: dict | None = None,
                timeout_s: float | None = None) -> tuple[int, StepStats]:
    """Run ``cmd`` with output to ``log_path``; returns (exit status, stats). Blocks, never polls."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(cmd[:3])} ...\n".encode())
        log.flush()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                preexec_fn=_die_with_parent if os.name == "posix" else None)
        with _LIVE_LOCK:
            _LIVE.add(proc)
        timer = None
        if timeout_s:
            timer = threading.Timer(timeout_s, proc.kill)
            timer.start()
        try:
            if hasattr(os, "wait4"):
                _, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = os.waitstatus_to_exitcode(status)
                scale = 1 if sys.platform == "darwin" else 1024
                peak = usage.ru_maxrss * scale
            else:
                proc.wait()
                peak = None
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            if timer:
                timer.cancel()
            with _LIVE_LOCK:
                _LIVE.discard(proc)
    return proc.returncode, StepStats(name=name, wall_s=round(time.perf_counter() - t0, 3), peak_rss_bytes=peak)


def log_tail(log_path: Path, lines: int = 40) -> list[str]:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return []
    return [ln for ln in text.splitlines() if ln.strip()][-lines:]


def run_python_step(name: str, func: str, kwargs: dict, *, work_dir: Path,
                    timeout_s: float | None = None, threads: int | None = None) -> tuple[object, StepStats]:
    """Call ``module:function(**kwargs)`` in a child process; returns (its JSON result, stats).

    An ``ExportError`` in the child is re-raised here with the same one-line message; any other
    failure is raised as ExportError naming the step and the log file.
    """
    work_dir.mkdir(parents=True, exist_ok=True)
    safe = name.replace(":", "-")
    spec_path, result_path = work_dir / f"{safe}.spec.json", work_dir / f"{safe}.result.json"
    log_path = work_dir / f"{safe}.log"
    result_path.unlink(missing_ok=True)
    spec_path.write_text(json.dumps({"func": func, "kwargs": kwargs, "result": str(result_path)}))
    env = dict(os.environ)
    # the child must import this same edgeprof (a checkout or an install): the folder that holds the
    # `edgeprof` package — never a folder inside exporters/, whose onnx/ and gguf/ would shadow the
    # libraries of those names
    root = str(Path(sys.modules["edgeprof"].__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    if threads:  # steps running side by side share the cores instead of each taking all of them
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    rc, stats = run_command(name, [sys.executable, "-m", "edgeprof.exporters.pipeline.step_child", str(spec_path)],
                            log_path=log_path, env=env, timeout_s=timeout_s)
    result = json.loads(result_path.read_text()) if result_path.is_file() else None
    if rc == 0 and result and result.get("ok"):
        return result.get("value"), stats
    if result and result.get("kind") == "ExportError":
        raise ExportError(result["error"])
    why = result["error"] if result else (f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}")
    if rc in (-9, 137) and not result:
        why += " (out of memory?)"
    raise ExportError(f"export step {name} failed: {why}; log: {log_path}")
