"""``edgeprof fleet status FLEET.toml``: every board checked at once, in seconds — reachable (host
key, key login), the edgeprof it runs and whether it can bench with this one, the devices it
finds, its power mode and free disk. Nothing is run or written on the boards."""
from __future__ import annotations

import asyncio
import time
from typing import Any

from edgeprof.errors import EdgeprofError
from edgeprof.fleet.fleetfile import Fleet
from edgeprof.fleet.protocol import PROTOCOL, Board
from edgeprof.fleet.remote import BoardSpec
from edgeprof.fleet.ssh import HostKeyRefused, Unreachable, connect, request
from edgeprof.results.cells import md_cell


async def check(spec: BoardSpec, timeout_s: float) -> dict[str, Any]:
    from edgeprof import __version__
    from edgeprof.results.schema import SCHEMA_VERSION

    t0 = time.monotonic()
    row: dict[str, Any] = {"board": spec.name, "target": str(spec.target), "kind": spec.labels.get("kind", ""),
                           "labels": dict(spec.labels)}
    try:
        async def hello() -> Board:
            async with await connect(spec.target, spec.ssh) as conn:
                reply = await request(conn, spec.ssh, spec.request("hello"), "hello")
                return Board.from_dict(reply.data)
        b = await asyncio.wait_for(hello(), timeout_s)
        same = b.protocol == PROTOCOL and b.records_schema == SCHEMA_VERSION
        row.update(state="ok" if same else "refused", edgeprof=b.edgeprof, hostname=b.hostname,
                   device=f"{b.kind}: {b.device}" if b.kind else "", devices=list(b.devices),
                   power_mode=b.power_mode or spec.labels.get("power_mode", ""), free_disk_bytes=b.free_disk_bytes, machine_id=b.machine_id,
                   message="" if same else f"edgeprof {b.edgeprof} there (protocol {b.protocol}); install "
                                            f"edgeprof[fleet]=={__version__}")
    except asyncio.TimeoutError:
        row.update(state="unreachable", message=f"no answer in {timeout_s:g} s")
    except HostKeyRefused as exc:
        row.update(state="refused", message=str(exc))
    except Unreachable as exc:
        row.update(state="unreachable", message=str(exc))
    except EdgeprofError as exc:
        row.update(state="refused", message=str(exc))
    row["seconds"] = round(time.monotonic() - t0, 2)
    return row


def status(fleet: Fleet, timeout_s: float = 20.0) -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(check(b, timeout_s) for b in fleet.boards)))
    return asyncio.run(main())


def markdown(rows: list[dict[str, Any]]) -> str:
    cols = ("board", "target", "kind", "state", "edgeprof", "device", "power_mode", "free disk GiB", "seconds",
            "message")
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        free = r.get("free_disk_bytes")
        vals = {**r, "free disk GiB": f"{free / 2**30:.1f}" if isinstance(free, int) else ""}
        out.append("| " + " | ".join(md_cell(vals.get(c)) for c in cols) + " |")
    return "\n".join(out) + "\n"
