"""The board's side of ``bench --host`` and ``fleet``: ``edgeprof agent``, started over SSH with a
constant command line, reads ONE JSON request on stdin and answers in JSON lines on stdout
(``protocol.py``). Nothing stays resident on the board: the agent lives as long as its request.

Ops: ``hello`` (version, protocol and the board's identity), ``stage`` / ``commit`` (where a
model's files go, which of them the board holds already by sha256 and size, and the check that
turns uploads into a model: a partial or corrupt upload is never taken for complete; ``staging.py``),
``files`` (a finished run's files with sizes and hashes, for the copy back) and ``bench`` (the
same ``RunSession`` as a local bench, its events streamed as they happen; a ``cancel`` line or
the laptop going away stops it cleanly).

Why stdout is guarded: the event stream is the protocol, so the agent writes to a private copy of
fd 1 and points fd 1 at stderr — a library that prints cannot corrupt the stream.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from edgeprof.errors import EdgeprofError, UsageError
from edgeprof.fleet.protocol import PROTOCOL, RUN_NAME, Board, Reply, encode

RUN_FILES = ("records.jsonl", "plan.json", "env.json", "baseline.json", "suite.json")


class Out:
    """The event/reply stream: a private copy of stdout, written whole lines under a lock (the
    sweep and the sampler thread both emit)."""

    def __init__(self) -> None:
        sys.stdout.flush()
        self.fd = os.dup(1)
        os.dup2(2, 1)                       # stray prints go to stderr, never into the stream
        self.lock = threading.Lock()
        self.broken = False

    def send(self, obj) -> None:
        data = encode(obj)
        with self.lock:
            if self.broken:
                return
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self.fd, view):]
            except OSError:
                self.broken = True          # the laptop is gone: the bench is cancelled by the reader


def serve(stdin=None) -> int:
    stdin = stdin or sys.stdin.buffer
    out = Out()
    try:
        line = stdin.readline()
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("not an object")
        except (ValueError, RecursionError) as exc:
            raise UsageError(f"agent: expected one JSON request line on stdin ({exc})") from None
        if req.get("sysroot"):   # the fleet file's root for this board's device files (CONTRACTS EDGEPROF_SYSROOT)
            os.environ["EDGEPROF_SYSROOT"] = str(req["sysroot"])
        op = OPS.get(str(req.get("op")))
        if op is None:
            raise UsageError(f"agent: unknown op {req.get('op')!r}; this agent knows {', '.join(OPS)}")
        return op(req, out, stdin)
    except EdgeprofError as exc:
        out.send(Reply("error", {"message": str(exc), "exit": exc.exit_code}))
        return exc.exit_code


# -- hello ----------------------------------------------------------------------------------
def _read(path: Path) -> str | None:
    try:
        return path.read_bytes().replace(b"\x00", b"").decode("utf-8", "replace").strip() or None
    except OSError:
        return None


def board() -> Board:
    """This machine as the laptop records it: identity, the device a bench runs on, power mode."""
    import platform
    from importlib.util import find_spec

    from edgeprof import __version__, home
    from edgeprof.engine.device_choice import bench_device, open_devices

    root = home.sysroot()
    devs = open_devices(root)
    try:
        primary = bench_device(devs, {}) if devs else None
        info = primary.info() if primary else None
        listed = tuple(f"{d.info().kind}: {d.info().name}" for d in devs)
    finally:
        for d in devs:
            d.close()
    spec = (info.specs if info else {}) or {}
    gov = _read(root / "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
    serial = (_read(root / "sys/firmware/devicetree/base/serial-number")
              or _read(root / "proc/device-tree/serial-number"))
    where = home.home()
    where.mkdir(parents=True, exist_ok=True)
    from edgeprof.results.schema import SCHEMA_VERSION

    return Board(hostname=socket.gethostname(), machine_id=_read(root / "etc/machine-id"), serial=serial,
                 kind=info.kind if info else None, device=info.name if info else None,
                 power_mode=str(spec.get("power_mode") or (f"governor {gov}" if gov else "")) or None,
                 devices=listed, edgeprof=__version__, protocol=PROTOCOL, records_schema=SCHEMA_VERSION,
                 python=platform.python_version(), home=str(where), free_disk_bytes=shutil.disk_usage(where).free,
                 runtimes=tuple(m for m in ("llama_cpp", "onnxruntime", "torch") if find_spec(m) is not None))


def op_hello(req: dict, out: Out, stdin) -> int:
    out.send(Reply("hello", board().to_dict()))
    return 0


# -- models: stage and commit ---------------------------------------------------------------
def op_stage(req: dict, out: Out, stdin) -> int:
    """Where a model's files are on this board, and which contents it lacks (``staging.py``)."""
    from edgeprof.fleet import staging

    out.send(Reply("stage", staging.stage(req)))
    return 0


def op_commit(req: dict, out: Out, stdin) -> int:
    """The uploads checked (size and sha256) and made the model; a partial one is refused."""
    from edgeprof.fleet import staging

    out.send(Reply("commit", staging.commit(req)))
    return 0


# -- runs: files and bench ------------------------------------------------------------------
def runs_dir() -> Path:
    from edgeprof import home

    return home.home() / "remote-runs"


def _run_dir(req: dict) -> Path:
    name = str(req.get("run", ""))
    if not RUN_NAME.fullmatch(name):
        raise UsageError(f"agent: {name!r} is not a run name (letters, digits, . _ -)")
    return runs_dir() / name


def op_files(req: dict, out: Out, stdin) -> int:
    """The run's files (regular files only, links skipped) with size and sha256."""
    d = _run_dir(req)
    if not (d / "plan.json").is_file():
        raise UsageError(f"agent: no run {d.name} on this board")
    paths = [d / n for n in RUN_FILES] + sorted((d / "samples").glob("*.csv"))
    files = []
    for p in paths:
        if p.is_file() and not p.is_symlink():
            h = hashlib.sha256(p.read_bytes()).hexdigest()
            files.append({"path": p.relative_to(d).as_posix(), "size_bytes": p.stat().st_size, "sha256": h})
    out.send(Reply("files", {"dir": str(d), "files": files}))
    return 0


def _restore(d: Path, restore: dict) -> None:
    """A run directory the board lost (reinstalled, cleaned), rebuilt from the laptop's copy, so
    ``--resume`` runs exactly the cases the laptop has no record of."""
    from edgeprof.results.jsonl import append_record, write_json

    d.mkdir(parents=True, exist_ok=True)
    write_json(d / "plan.json", restore["plan"])
    for rec in restore.get("records") or []:
        append_record(d / "records.jsonl", rec)


def op_bench(req: dict, out: Out, stdin) -> int:
    from edgeprof.engine.runlock import RunLock

    d = _run_dir(req)
    argv = req.get("argv") or []
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise UsageError("agent: argv must be a list of strings")
    runs_dir().mkdir(parents=True, exist_ok=True)
    board_lock = RunLock.acquire(runs_dir())   # one remote bench per board at a time
    try:
        if req.get("resume"):
            if not (d / "plan.json").is_file():
                if not isinstance(req.get("restore"), dict):
                    raise UsageError(f"agent: run {d.name} is gone from this board and no copy was sent")
                _restore(d, req["restore"])
            argv = ["--resume", str(d)]
        else:
            argv = ["--out", str(d), *argv]     # before argv's '--' and its models
        return _bench(argv, bool(req.get("samples")), out, stdin)
    finally:
        board_lock.release()


def _bench(argv: list[str], samples: bool, out: Out, stdin) -> int:
    from edgeprof.engine.config import BenchOptions
    from edgeprof.engine.fanout import Fanout
    from edgeprof.engine.options import add_arguments, from_namespace
    from edgeprof.engine.session import RunSession, exit_code

    parser = _Parser(prog="edgeprof bench", add_help=False)
    add_arguments(parser, BenchOptions)
    opts = from_namespace(BenchOptions, parser.parse_args(argv), quiet=True, format="jsonl")
    fan = Fanout()
    fan.want_samples = samples
    fan.add(out.send)
    session = RunSession.for_bench(opts, note=lambda m: fan.notice(m), fanout=fan)
    try:
        session.start(quiet_workers=True)
    except BaseException:
        session.close()
        raise
    _watch(stdin, lambda: _cancel(session), out)
    records = session.run(quiet_workers=True)
    code = exit_code(records, session.interrupted)
    out.send(Reply("bench", {"exit": code, "run_dir": str(session.run_dir), "n_records": len(records),
                             "interrupted": session.interrupted}))
    return code


def _cancel(session) -> None:
    session.interrupted = True
    if session.sweep is not None:
        session.sweep.cancel()


def _watch(stdin, cancel: Callable[[], None], out: Out) -> None:
    """A ``cancel`` line from the laptop, or its end of the channel closing, stops the sweep
    cleanly (the running case recorded as cancelled, resumed later)."""
    def loop() -> None:
        for line in iter(stdin.readline, b""):
            if b"cancel" in line:
                break
        cancel()
    threading.Thread(target=loop, name="edgeprof-agent-stdin", daemon=True).start()


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are a ``UsageError`` (an agent must answer, not exit silently)."""

    def error(self, message: str):  # type: ignore[override]
        raise UsageError(f"bench: {message}")


OPS: dict[str, Callable[[dict, Out, Any], int]] = {"hello": op_hello, "stage": op_stage, "commit": op_commit,
                                                    "files": op_files, "bench": op_bench}
