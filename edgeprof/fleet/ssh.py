"""OpenSSH from the laptop, through asyncssh: who a board is, how we log in, and the agent channel.

Security, as the issue asks and OpenSSH does it: the board's host key is checked against
``known_hosts`` (``~/.ssh/known_hosts`` as ``$HOME`` names it, or a given file); an unknown key is
refused with its fingerprint unless ``--accept-new-host-key`` (then it is recorded, like OpenSSH's
``StrictHostKeyChecking=accept-new``); a key that CHANGED is refused always. Login is by key or
agent only (``~/.ssh/id_*``, ``SSH_AUTH_SOCK``, or ``--identity`` / FLEET.toml ``identity``): no
password auth is offered, none can be configured. ``~/.ssh/config`` applies (aliases, users,
ports). The remote command is a constant argument list joined with ``shlex.join``.
"""
from __future__ import annotations

import asyncio
import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator

from edgeprof.errors import EdgeprofError, UsageError
from edgeprof.fleet.protocol import ProtocolError, Reply, decode, encode

#: the longest event line taken from a board (a record with every repetition's token times)
MAX_LINE_BYTES = 256 << 20
TARGET = re.compile(r"^(?:(?P<user>[^@\s/]+)@)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(?::(?P<port>\d{1,5}))?$")


class Unreachable(EdgeprofError):
    """The board cannot be reached or logged into (network, refused, authentication): exit 1."""


class HostKeyRefused(EdgeprofError):
    """The board's host key is unknown or changed: exit 1, nothing run there."""


@dataclass(frozen=True)
class Target:
    """``[user@]host[:port]`` (``[::1]:2222`` for IPv6)."""

    host: str
    user: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> "Target":
        m = TARGET.match(str(text).strip())
        if not m or (m.group("port") and not 0 < int(m.group("port")) < 65536):
            raise UsageError(f"--host {text!r}: expected user@host[:port], e.g. pi@pi5.local or root@10.0.0.7:2222")
        return cls(m.group("host").strip("[]"), m.group("user"), int(m.group("port")) if m.group("port") else None)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (f"{self.user}@" if self.user else "") + host + (f":{self.port}" if self.port else "")

    @property
    def known_hosts_name(self) -> str:
        """The host as known_hosts writes it: ``host``, or ``[host]:port`` off port 22."""
        return f"[{self.host}]:{self.port}" if self.port and self.port != 22 else self.host


@dataclass(frozen=True)
class SshOptions:
    identity: tuple[str, ...] = ()        # key files; empty: ~/.ssh/id_* and the agent
    known_hosts: str | None = None        # empty: ~/.ssh/known_hosts
    accept_new_host_key: bool = False
    config: str | None = None             # empty: ~/.ssh/config
    connect_timeout_s: float = 15.0
    command: tuple[str, ...] = ("edgeprof",)

    def known_hosts_path(self) -> Path:
        return Path(os.path.expanduser(self.known_hosts or "~/.ssh/known_hosts"))


def _asyncssh():
    import warnings

    from edgeprof.results.extras import need

    try:  # asyncssh still offers DSA keys, which cryptography warns about on every use: not ours to fix
        from cryptography.utils import CryptographyDeprecationWarning

        warnings.filterwarnings("ignore", category=CryptographyDeprecationWarning)
    except ImportError:
        pass
    return need("asyncssh", "bench --host / edgeprof fleet")


def _known(path: Path):
    asyncssh = _asyncssh()
    try:
        text = path.read_text() if path.is_file() else ""
    except OSError as exc:
        raise HostKeyRefused(f"{path}: cannot read it ({exc.strerror})") from None
    return asyncssh.import_known_hosts(text)


async def connect(target: Target, opts: SshOptions) -> Any:
    """An open ``SSHClientConnection`` with the host key verified and key-only login."""
    asyncssh = _asyncssh()
    kh = opts.known_hosts_path()
    kw: dict[str, Any] = {"known_hosts": _known(kh), "preferred_auth": "publickey",
                          "password": None, "kbdint_auth": False, "password_auth": False,
                          "connect_timeout": opts.connect_timeout_s, "keepalive_interval": 5,
                          "keepalive_count_max": 3}
    if target.user:
        kw["username"] = target.user
    if target.port:
        kw["port"] = target.port
    if opts.identity:
        kw["client_keys"] = [os.path.expanduser(k) for k in opts.identity]
    if opts.config:
        kw["config"] = [os.path.expanduser(opts.config)]
    try:
        try:
            return await asyncssh.connect(target.host, **kw)
        except asyncssh.HostKeyNotVerifiable:
            if not opts.accept_new_host_key:
                raise
            await _accept_new(target, opts, kh)
            kw["known_hosts"] = _known(kh)
            return await asyncssh.connect(target.host, **kw)
    except asyncssh.HostKeyNotVerifiable:
        raise await _refusal(target, opts, kh) from None
    except asyncssh.PermissionDenied as exc:
        raise Unreachable(f"{target}: login refused ({exc.reason}); edgeprof logs in by key or agent only — add "
                          f"your public key to the board's ~/.ssh/authorized_keys (ssh-copy-id {target})") from None
    except (OSError, asyncssh.Error) as exc:
        raise Unreachable(f"{target}: cannot connect ({_reason(exc)})") from None


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "reason", None) or getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())[:160]


async def _fingerprint(target: Target, opts: SshOptions) -> tuple[Any, str]:
    asyncssh = _asyncssh()
    key = await asyncio.wait_for(asyncssh.get_server_host_key(target.host, target.port or 22), opts.connect_timeout_s)
    if key is None:
        raise Unreachable(f"{target}: the board sent no host key")
    return key, key.get_fingerprint("sha256")


async def _accept_new(target: Target, opts: SshOptions, kh: Path) -> None:
    """Record the board's key — only when known_hosts has NO key for it (a changed key is refused)."""
    if _known(kh).match(target.host, "", target.port)[0]:
        raise await _refusal(target, opts, kh)
    key, fp = await _fingerprint(target, opts)
    kh.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    line = f"{target.known_hosts_name} {key.export_public_key('openssh').decode().strip()}\n"
    with open(kh, "a") as f:
        f.write(line)


async def _refusal(target: Target, opts: SshOptions, kh: Path) -> HostKeyRefused:
    changed = bool(_known(kh).match(target.host, "", target.port)[0])
    try:
        _, fp = await _fingerprint(target, opts)
    except (OSError, EdgeprofError, asyncio.TimeoutError, _asyncssh().Error):
        fp = "unknown fingerprint"
    if changed:
        return HostKeyRefused(f"{target}: its host key CHANGED ({fp}) from the one in {kh}; someone may be "
                              f"impersonating the board. If it was reinstalled, remove the old key with: "
                              f"{shlex.join(['ssh-keygen', '-R', target.known_hosts_name, '-f', str(kh)])}")
    return HostKeyRefused(f"{target}: unknown host key ({fp}), not in {kh}; check the fingerprint on the board "
                          f"(ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then pass --accept-new-host-key "
                          f"to record it")


class AgentChannel:
    """One ``edgeprof agent`` process on the board: the request goes in, replies and events come
    out (``lines()``); ``cancel()`` asks a running bench to stop cleanly."""

    def __init__(self, proc: Any, command: str):
        self.proc, self.command = proc, command
        self.stderr = b""
        self.bytes_in = 0

    @classmethod
    async def open(cls, conn: Any, opts: SshOptions, request: dict) -> "AgentChannel":
        command = shlex.join([*opts.command, "agent"])
        proc = await conn.create_process(command, encoding=None)
        proc.stdin.write(encode(request))
        chan = cls(proc, command)
        chan._err = asyncio.ensure_future(chan._drain_stderr())
        return chan

    async def _drain_stderr(self) -> None:
        while True:
            try:
                chunk = await self.proc.stderr.read(4096)
            except Exception:  # noqa: BLE001 - a lost channel: the stdout reader reports it
                return
            if not chunk:
                return
            self.stderr = (self.stderr + chunk)[-8192:]

    async def lines(self) -> AsyncIterator[Any]:
        """Each whole line as an event or a reply. asyncssh's ``readline`` hands back PART of a line
        longer than the channel's window (2 MiB: a record of thousands of repetitions is), so
        pieces are joined until the newline (at most ``MAX_LINE_BYTES``)."""
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                return
            while not line.endswith(b"\n") and len(line) <= MAX_LINE_BYTES:
                more = await self.proc.stdout.readline()
                if not more:
                    break
                line += more
            self.bytes_in += len(line)
            if len(line) > MAX_LINE_BYTES:
                raise Unreachable(f"the board's agent sent a line of over {MAX_LINE_BYTES >> 20} MiB; refused")
            try:
                yield decode(line)
            except ProtocolError as exc:
                raise Unreachable(f"the board's agent sent garbage ({exc}); is the same edgeprof installed there?")

    def cancel(self) -> None:
        try:
            self.proc.stdin.write(b'{"op":"cancel"}\n')
        except Exception:  # noqa: BLE001 - the channel is already closed: nothing left to cancel
            pass

    async def finish(self) -> int | None:
        """The agent's exit status (None when the channel died without one)."""
        try:
            await asyncio.wait_for(self.proc.wait_closed(), 30)
        except (asyncio.TimeoutError, OSError):
            pass
        try:
            await asyncio.wait_for(self._err, 5)
        except (asyncio.TimeoutError, OSError):
            pass
        return self.proc.exit_status

    def stderr_tail(self, n: int = 300) -> str:
        text = self.stderr.decode("utf-8", "replace").strip().splitlines()
        return " | ".join(text[-3:])[-n:]


async def request(conn: Any, opts: SshOptions, req: dict, want: str) -> Reply:
    """A one-reply op (hello, stage, commit, files): the reply, or the agent's error as one line."""
    chan = await AgentChannel.open(conn, opts, req)
    reply = None
    async for item in chan.lines():
        if isinstance(item, Reply):
            reply = item
    status = await chan.finish()
    return check_reply(reply, want, status, chan)


def check_reply(reply: Reply | None, want: str, status: int | None, chan: AgentChannel) -> Reply:
    if reply is not None and reply.kind == "error":
        raise UsageError(str(reply.get("message")))
    if reply is not None and reply.kind == want:
        return reply
    if status == 127:
        raise UsageError(f"edgeprof is not installed on the board ('{chan.command}': command not found); install it "
                         f"there with: python -m pip install 'edgeprof[fleet]' (or set command = [...] in FLEET.toml)")
    tail = chan.stderr_tail()
    raise Unreachable(f"the board's agent ended without a '{want}' reply (exit {status})"
                      + (f": {tail}" if tail else ""))
