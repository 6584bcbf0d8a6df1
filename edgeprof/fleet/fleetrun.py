"""``edgeprof fleet run FLEET.toml``: every board runs the matrix at once (one bench per board, its
cases one at a time), fail-soft: a board that is unreachable, refuses, or is cut off mid-run
becomes rows that say so while the others go on.

The fleet directory: ``fleet.toml`` (the file as given, so ``--resume DIR`` needs nothing else),
``fleet.json`` (name, boards, when) and ``boards/<name>/`` — each a run directory of its own
(``remote.py``: records kept as each case ends, files copied back, ``remote.json``).
``--resume DIR`` runs, on each board, exactly the cases that have no record yet (the board's run
is resumed; one it lost is rebuilt from the laptop's copy), once: a case appears once.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from edgeprof.engine.fanout import Fanout
from edgeprof.errors import UsageError
from edgeprof.fleet import fleetfile
from edgeprof.fleet.fleetfile import Fleet
from edgeprof.fleet.remote import Ended, RemoteRun, remote_json
from edgeprof.results.jsonl import read_records, write_json

Note = Callable[[str], None]


@dataclass(frozen=True)
class BoardRun:
    """One board of a fleet run: its name, its run directory, and (once it ran) how it ended."""

    name: str
    dir: Path
    ended: Ended | None = None


def board_dir(fleet_dir: Path, name: str) -> Path:
    return Path(fleet_dir) / "boards" / name


def open_fleet(fleet_dir: Path) -> Fleet:
    """The fleet of an existing fleet directory (its own copy of the file)."""
    src = Path(fleet_dir) / "fleet.toml"
    if not src.is_file():
        raise UsageError(f"--resume {fleet_dir}: no fleet.toml there; pass a directory made by 'edgeprof fleet run'")
    return fleetfile.parse(src.read_text(), Path(json.loads((Path(fleet_dir) / "fleet.json").read_text())
                                                 .get("source") or src))


def prepare(fleet: Fleet, out: Path | None, overwrite: bool = False) -> Path:
    """A new fleet directory with the file, the index and one folder per board."""
    out = Path(out or Path("edgeprof-fleets") / dt.datetime.now().strftime("%Y%m%d-%H%M%S"))
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise UsageError(f"{out} already holds a fleet run; pass --resume {out} to finish it or --overwrite")
    if overwrite and out.is_dir():
        import shutil

        shutil.rmtree(out)
    for b in fleet.boards:
        board_dir(out, b.name).mkdir(parents=True, exist_ok=True)
    (out / "fleet.toml").write_text(fleet.text)
    write_json(out / "fleet.json", {"name": fleet.name, "source": str(Path(fleet.source).resolve()),
                                    "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                                    "boards": [b.name for b in fleet.boards]})
    return out


def left(run_dir: Path) -> int | None:
    """Cases of a board's run without a record (None: it never started, the whole matrix is left).
    Failed and skipped cases count as done (as ``bench --resume``); cancelled ones are left."""
    plan = run_dir / "plan.json"
    if not plan.is_file():
        return None
    from edgeprof.engine.plan import read_plan

    _, cases, _ = read_plan(json.loads(plan.read_text()))
    have = {r.case_id: r.status for r in read_records(run_dir / "records.jsonl")} \
        if (run_dir / "records.jsonl").is_file() else {}
    return sum(1 for c in cases if have.get(c.case_id) in (None, "cancelled"))


def runs(fleet: Fleet, fleet_dir: Path, resume: bool, fanout_for: Callable[[str], Fanout],
         note: Note = lambda s: None, samples: bool = False) -> list[RemoteRun]:
    """The remote runs to start: every board (a resume: only boards with cases left)."""
    out = []
    for b in fleet.boards:
        d = board_dir(fleet_dir, b.name)
        d.mkdir(parents=True, exist_ok=True)
        if resume:
            n = left(d)
            if n == 0:
                note(f"{b.name}: nothing left (every case has a record)")
                continue
            again = n is not None
        else:
            again = False
        out.append(RemoteRun(b, d, argv=list(fleet.argv), models=list(fleet.models), fanout=fanout_for(b.name),
                             note=note, samples=samples, resume=again))
    return out


def states(fleet: Fleet, fleet_dir: Path) -> list[BoardRun]:
    """Every board of the fleet with how its last run ended (from its remote.json)."""
    out = []
    for b in fleet.boards:
        d = board_dir(fleet_dir, b.name)
        info = remote_json(d) or {}
        ended = Ended(str(info["state"]), str(info.get("message") or "")) if info.get("state") else None
        out.append(BoardRun(b.name, d, ended))
    return out
