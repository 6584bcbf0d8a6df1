"""What the laptop and a board say to each other over one SSH channel: one JSON request on the
agent's stdin, then JSON lines on its stdout.

Why this shape: the remote command line is a constant (``edgeprof agent``), so no model name or
path is ever pasted into a shell string — a path with spaces, quotes, ``;``, ``$()`` or newlines
travels inside JSON and reaches ``bench`` as one argv element. A line with ``type`` is an event of
``engine/events.py`` in its own ``to_dict`` form (the stream the local views already consume); a
line with ``agent`` is the agent's reply to the request (``hello``, ``stage``, ``commit``,
``files``, ``bench``, ``error``). ``PROTOCOL`` changes when either shape does; both ends refuse a
mismatch with the install command.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from edgeprof.engine import events as ev

PROTOCOL = 2
#: a remote run's name: a plain file name, made by the laptop and checked again by the agent
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class ProtocolError(ValueError):
    """A line from the other end that is not JSON, not an event and not a reply."""


@dataclass(frozen=True)
class Reply:
    """A reply line: ``kind`` (hello, stage, commit, files, bench, error) and its fields."""

    kind: str
    data: dict = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def encode(obj: ev.Event | Reply | dict) -> bytes:
    """One line: an event (its ``to_dict``), a reply, or a request dict."""
    if isinstance(obj, ev.Event):
        d = obj.to_dict()
    elif isinstance(obj, Reply):
        d = {"agent": obj.kind, **obj.data}
    else:
        d = obj
    return (json.dumps(d, separators=(",", ":"), allow_nan=False, default=str) + "\n").encode()


def decode(line: bytes | str) -> ev.Event | Reply:
    try:
        d = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"not a JSON line ({exc}): {str(line)[:80]!r}") from None
    if not isinstance(d, dict):
        raise ProtocolError(f"not a JSON object: {str(line)[:80]!r}")
    if "agent" in d:
        kind = d.pop("agent")
        return Reply(str(kind), d)
    try:
        return ev.from_dict(d)
    except (ValueError, TypeError, KeyError) as exc:
        raise ProtocolError(f"not an event ({exc}): {str(line)[:80]!r}") from None


@dataclass(frozen=True)
class Board:
    """A board's identity as its agent reports it (``hello``): copied into remote.json and into
    every record measured there (``record.extra["board"]``)."""

    hostname: str = ""
    machine_id: str | None = None
    serial: str | None = None
    kind: str | None = None              # the bench device's kind: cpu, jetson, apple, nvidia, amd
    device: str | None = None            # its name
    power_mode: str | None = None        # nvpmodel mode on a Jetson, else the CPU governor
    devices: tuple = ()                  # every device found: "kind: name"
    edgeprof: str = ""
    protocol: int = 0
    records_schema: int = 0
    python: str = ""
    home: str = ""
    free_disk_bytes: int | None = None
    runtimes: tuple | None = None        # importable runtime modules: llama_cpp, onnxruntime, torch

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["devices"] = list(self.devices)
        d["runtimes"] = None if self.runtimes is None else list(self.runtimes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Board":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["devices"] = tuple(kw.get("devices") or ())
        if kw.get("runtimes") is not None:
            kw["runtimes"] = tuple(kw["runtimes"])
        return cls(**kw)

    def tag(self, name: str, target: str) -> dict[str, Any]:
        """What each record of this board carries (``record.extra["board"]``)."""
        return {"name": name, "target": target, "hostname": self.hostname, "machine_id": self.machine_id,
                "serial": self.serial, "kind": self.kind, "power_mode": self.power_mode}
