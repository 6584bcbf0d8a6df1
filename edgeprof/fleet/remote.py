"""One bench on one board, driven from the laptop: ``bench --host`` runs one, ``fleet run`` one per
board at once.

The board runs the same ``RunSession`` as a local bench (``agent.py``); its events come back over
the SSH channel and go to the local fan-out, so progress lines, the TUI's live screen and the power
chart see a remote run exactly as a local one. Each finished case's record travels inside its
``case_finished`` event and is appended (fsynced) to the LOCAL run directory at once, tagged with
the board (``record.extra["board"]``): a board cut off mid-run loses nothing already measured.
When the run ends, its files (records, plan, env, baseline, suite, samples) are copied back with
the checks of ``transfer.py``; the board's records.jsonl is the truth and replaces what an event
lost. ``remote.json`` in the local run directory says which board and which run there, and how it
ended, so ``--resume`` finds it again (and rebuilds it from the local copy if the board lost it).
"""
from __future__ import annotations

import dataclasses
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from edgeprof.engine import events as ev
from edgeprof.engine.fanout import Fanout
from edgeprof.engine.runlock import RunLock
from edgeprof.errors import EdgeprofError, UsageError
from edgeprof.fleet import transfer
from edgeprof.fleet.protocol import PROTOCOL, RUN_NAME, Board, Reply
from edgeprof.fleet.ssh import (AgentChannel, HostKeyRefused, SshOptions, Target, Unreachable, check_reply, connect,
                                request)
from edgeprof.results.jsonl import append_record, read_records, replace_record, write_json
from edgeprof.results.schema import Record

Note = Callable[[str], None]
#: a model format -> the module a board needs to run it, and the distribution that installs it
RUNTIME_OF = {"gguf": ("llama_cpp", "llama-cpp-python"), "onnx": ("onnxruntime", "onnxruntime"),
              "hf": ("torch", "torch transformers")}


@dataclass(frozen=True)
class BoardSpec:
    """A board as the laptop names it: a label, where to log in, how, and free-text labels."""

    name: str
    target: Target
    ssh: SshOptions = SshOptions()
    labels: dict = field(default_factory=dict)      # kind, power_mode, notes (FLEET.toml)
    sysroot: str | None = None    # EDGEPROF_SYSROOT on the board (CONTRACTS: its own root unless the fleet sets one)

    def request(self, op: str, **more: Any) -> dict[str, Any]:
        """An agent request for this board (its sysroot travels with every op that reads devices)."""
        from edgeprof import __version__

        return {"op": op, "protocol": PROTOCOL, "edgeprof": __version__,
                **({"sysroot": self.sysroot} if self.sysroot else {}), **more}


@dataclass(frozen=True)
class Ended:
    """How a remote run ended: ``done``, ``interrupted`` (cancelled cleanly), ``cut-off`` (the
    channel died mid-run), ``unreachable``, ``refused`` (host key, versions, a missing piece),
    ``busy`` or ``failed``; with one line for people."""

    state: str
    message: str = ""
    exit_code: int = 0


def remote_json(run_dir: Path) -> dict[str, Any] | None:
    try:
        d = json.loads((Path(run_dir) / "remote.json").read_text())
    except (OSError, ValueError):
        return None
    return d if isinstance(d, dict) else None


class RemoteRun:
    def __init__(self, spec: BoardSpec, run_dir: Path, *, argv: list[str] | None = None,
                 models: list[str] | None = None, fanout: Fanout | None = None, note: Note = lambda s: None,
                 samples: bool = False, resume: bool = False):
        self.spec, self.run_dir = spec, Path(run_dir)
        self.argv, self.models = list(argv or []), list(models or [])
        self.fanout, self.note, self.samples, self.resume = fanout or Fanout(), note, samples, resume
        self.board: Board | None = None
        self.chan: AgentChannel | None = None
        self.sftp: Any = None
        self.cancelled = False
        self.kept: dict[str, str] = {}
        self.info: dict[str, Any] = remote_json(self.run_dir) or {}
        self.bytes_in = 0
        self.lock: RunLock | None = None
        self.clock_offset_ns: int | None = None
        self._bundles: dict[str, Any] | None = None

    # -- the local run directory ---------------------------------------------------------
    @property
    def run_name(self) -> str:
        name = self.info.get("run")
        if not (isinstance(name, str) and RUN_NAME.fullmatch(name)):
            stem = "".join(c if c.isalnum() or c in "._-" else "-" for c in self.run_dir.name).strip("-.") or "run"
            name = f"{stem[:80]}-{secrets.token_hex(4)}"
            self.info["run"] = name
        return name

    def save_info(self, **more: Any) -> None:
        self.info.update({"target": str(self.spec.target), "name": self.spec.name, "argv": self.argv,
                          "models": self.models, "labels": self.spec.labels, "run": self.run_name,
                          "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **more})
        if self.board is not None:
            self.info["board"] = self.board.to_dict()
        if self.run_dir.is_dir():   # a fleet makes its boards' folders first; bench --host after 'hello'
            write_json(self.run_dir / "remote.json", self.info)

    def records(self) -> list[Record]:
        path = self.run_dir / "records.jsonl"
        return read_records(path) if path.is_file() else []

    def keep(self, rec: Record) -> None:
        """Append (or replace, for a case run again) one record in the local copy, tagged with the board."""
        if self.board is not None:
            rec = rec.with_extra(board=self.board.tag(self.spec.name, str(self.spec.target)))
        path = self.run_dir / "records.jsonl"
        if not self.kept and path.is_file():
            self.kept = {r.case_id: json.dumps(r.to_dict(), sort_keys=True) for r in read_records(path)}
        text = json.dumps(rec.to_dict(), sort_keys=True)
        if self.kept.get(rec.case_id) == text:
            return
        (replace_record if rec.case_id in self.kept else append_record)(path, rec.to_dict())
        self.kept[rec.case_id] = text

    # -- the run -------------------------------------------------------------------------
    async def run(self) -> Ended:
        self.save_info(state="connecting")
        try:
            conn = await connect(self.spec.target, self.spec.ssh)
        except (HostKeyRefused, UsageError) as exc:
            return self._end("refused", str(exc), 1)
        except Unreachable as exc:
            return self._end("unreachable", str(exc), 1)
        try:
            async with conn:
                return await self._run(conn)
        except UsageError as exc:
            return self._end("refused" if self.board is None else "failed", f"{self.spec.target}: {exc}", 1)
        except EdgeprofError as exc:
            return self._end("failed" if self.board else "refused", f"{self.spec.target}: {exc}", exc.exit_code)
        except (OSError, EOFError) + _ssh_errors() as exc:
            return self._end("cut-off", f"{self.spec.target}: connection lost ({type(exc).__name__}: {exc})", 1)
        finally:
            if self.lock is not None:
                self.lock.release()
                self.lock = None

    async def _run(self, conn: Any) -> Ended:
        from edgeprof import __version__

        hello = await request(conn, self.spec.ssh, self.spec.request("hello"), "hello")
        self.board = Board.from_dict(hello.data)
        problem = self._mismatch(__version__)
        if problem:
            return self._end("refused", problem, 1)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.lock is None:
            self.lock = RunLock.acquire(self.run_dir)   # one writer of the local copy
        self.save_info(state="running")
        again = self.resume and (self.run_dir / "plan.json").is_file()
        if again:
            await self.copy_back(conn, missing_ok=True)   # what the board finished while we did not hear it
        models = [] if again else [await self._model(conn, m) for m in self.models]
        if self.cancelled:
            return self._end("interrupted", "cancelled before the bench started", 130)
        req = self.spec.request("bench", run=self.run_name, argv=[*self.argv, "--", *models], samples=self.samples,
                                resume=again, restore=self._restore() if again else None)
        self.chan = await AgentChannel.open(conn, self.spec.ssh, req)
        if self.cancelled:    # asked to stop while the channel opened: the board hears it now
            self.chan.cancel()
        reply = None
        async for item in self.chan.lines():
            if isinstance(item, Reply):
                reply = item
            else:
                await self._event(conn, item)
        status = await self.chan.finish()
        self.bytes_in = self.chan.bytes_in
        if reply is None or reply.kind != "bench":
            busy = reply is not None and "in use by another edgeprof" in str(reply.get("message"))
            if busy:
                return self._end("busy", f"{self.spec.target}: {reply.get('message')}", 1)
            if reply is None and status is None:
                return self._end("cut-off", f"{self.spec.target}: the connection ended mid-run "
                                            f"({self.chan.stderr_tail() or 'no exit status'})", 1)
            check_reply(reply, "bench", status, self.chan)   # raises the agent's own line
        await self.copy_back(conn)
        code = int(reply.get("exit", 1))
        state = "interrupted" if reply.get("interrupted") else "done"
        return self._end(state, f"{len(self.records())} case(s) copied from {self.spec.target}", code)

    def _mismatch(self, version: str) -> str | None:
        from edgeprof.results.schema import SCHEMA_VERSION

        b = self.board
        if b.protocol != PROTOCOL or b.records_schema != SCHEMA_VERSION:
            return (f"{self.spec.target} runs edgeprof {b.edgeprof or '?'} (protocol {b.protocol}, records schema "
                    f"{b.records_schema}); this machine runs {version} (protocol {PROTOCOL}, records schema "
                    f"{SCHEMA_VERSION}): install the same version there: python -m pip install "
                    f"'edgeprof[fleet]=={version}'")
        needed = {RUNTIME_OF[f] for bundle in self.bundles().values() for f in bundle.formats if f in RUNTIME_OF}
        have = b.runtimes
        lacking = [dist for mod, dist in sorted(needed) if have is not None and mod not in have]
        if lacking:
            return (f"{self.spec.target} lacks {', '.join(lacking)}, which these models need; install it there "
                    f"with: python -m pip install {' '.join(lacking)}")
        return None

    def bundles(self) -> dict[str, Any]:
        """The files each local MODEL argument sends (``bundle.py``), read and hashed once."""
        if self._bundles is None:
            from edgeprof.fleet import bundle

            self._bundles = {m: bundle.of(m) for m in self.models if Path(m).expanduser().exists()}
        return self._bundles

    async def _model(self, conn: Any, arg: str) -> str:
        """A local model (file, export, HF directory) is sent — the contents the board lacks — and
        named by its board path; any other argument (a catalogue id, a path on the board) goes as it is."""
        b = self.bundles().get(arg)
        return arg if b is None else await transfer.stage(conn, self.spec.ssh, b, self._notice)

    def _notice(self, message: str) -> None:
        self.fanout.notice(message)

    def _restore(self) -> dict[str, Any]:
        plan = json.loads((self.run_dir / "plan.json").read_text())
        recs = []
        for r in self.records():
            d = r.to_dict()
            d.pop("board", None)
            recs.append(d)
        return {"plan": plan, "records": recs}

    def _local_clock(self, e: ev.Event) -> ev.Event:
        """The event on this machine's monotonic clock: a board's ``t_ns`` counts from ITS boot, so
        the offset seen on the first event is added to every event (and reading) of the stream;
        records keep the board's own clock."""
        import time

        if self.clock_offset_ns is None:
            self.clock_offset_ns = time.monotonic_ns() - e.t_ns
        off = self.clock_offset_ns
        if isinstance(e, ev.SampleEvent):
            return dataclasses.replace(e, t_ns=e.t_ns + off, readings=tuple(
                dataclasses.replace(r, t_ns=r.t_ns + off) for r in e.readings))
        return dataclasses.replace(e, t_ns=e.t_ns + off)

    async def _event(self, conn: Any, e: ev.Event) -> None:
        e = self._local_clock(e)
        if isinstance(e, ev.RunStarted):
            self.info["remote_dir"] = e.run_dir
            await self._fetch_plan(conn, e.run_dir)
            e = dataclasses.replace(e, run_dir=str(self.run_dir))
        elif isinstance(e, (ev.CaseFinished, ev.CaseFailed)) and e.record is not None:
            self.keep(e.record)
        self.fanout.emit(e)

    async def _sftp(self, conn: Any) -> Any:
        if self.sftp is None:
            self.sftp = await conn.start_sftp_client()
        return self.sftp

    async def _fetch_plan(self, conn: Any, remote_dir: str) -> None:
        sftp = await self._sftp(conn)
        async with sftp.open(remote_dir.rstrip("/") + "/plan.json", "rb") as f:
            data = await f.read(transfer.MAX_FILE_BYTES)
        json.loads(data)   # a plan that is not JSON is not copied
        transfer.write_into(self.run_dir, transfer.safe_relpath("plan.json"), data)

    async def copy_back(self, conn: Any, missing_ok: bool = False) -> int:
        """Copy the board's run files; records are merged case by case (the board's are the truth)."""
        try:
            listing = await request(conn, self.spec.ssh, {"op": "files", "run": self.run_name}, "files")
        except UsageError:
            if missing_ok:
                return 0
            raise
        sftp = await self._sftp(conn)
        n = 0
        for entry in listing.get("files") or []:
            rel, data = await transfer.fetch(sftp, str(listing.get("dir")), entry)
            if rel.name == "records.jsonl":
                for line in data.decode("utf-8", "replace").splitlines():
                    try:
                        self.keep(Record.from_dict(json.loads(line)))
                    except (ValueError, KeyError, TypeError, AttributeError):
                        continue   # a torn last line: the local copy has that case from its event, or resume runs it
            else:
                transfer.write_into(self.run_dir, rel, data)
            n += 1
        return n

    def cancel(self) -> None:
        """Stop cleanly: the running case on the board is recorded as cancelled."""
        self.cancelled = True
        if self.chan is not None:
            self.chan.cancel()

    def _end(self, state: str, message: str, code: int) -> Ended:
        try:
            self.save_info(state=state, message=message)
        except OSError as exc:
            self.note(f"{self.run_dir}/remote.json not updated ({exc})")
        return Ended(state, message, code)


def _ssh_errors() -> tuple:
    try:
        import asyncssh
    except ImportError:
        return ()
    return (asyncssh.Error,)
