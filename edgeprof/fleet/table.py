"""The fleet's one table: a row per board × case, a ``host`` column first (the board's name from
FLEET.toml), then bench's own columns. A case a board has not measured yet is a ``pending`` row
saying why (cut off, unreachable, refused) — never a silent gap; a board that never started its
plan is one row naming what happened to it.

The same rows print as csv/json/jsonl: records (``board.name`` the board, ``host`` its hostname as
every record has it) and pending rows (``status: pending``, ``board.name`` and the reason).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from edgeprof.fleet.fleetrun import BoardRun
from edgeprof.results import printers
from edgeprof.results.cells import md_cell
from edgeprof.results.jsonl import read_records
from edgeprof.results.schema import Record


@dataclass(frozen=True)
class Pending:
    """A case (or a whole board) with no record: what it is and why."""

    board: str
    label: str                  # the workload (pp128+tg128), as the test column of a record
    model: str
    reason: str
    case_id: str | None = None
    cells: tuple = ()           # (column, text) of the identity columns the case already knows

    def to_dict(self) -> dict:
        return {"board": {"name": self.board}, "case_id": self.case_id, "status": "pending", "test": self.label,
                "model": self.model, **dict(self.cells), "reason": self.reason}

    @classmethod
    def of_case(cls, board: str, case, reason: str) -> "Pending":
        a = case.artifact
        cells = (("format", a.format or ""), ("quant", a.quant or ""), ("runtime", case.runtime or ""),
                 ("threads", str(case.placement.threads or "")))
        return cls(board, case.workload.label, a.model.id or "", reason, case.case_id, cells)


Row = tuple[str, "Record | Pending"]


def rows(boards: list[BoardRun]) -> list[Row]:
    out: list[Row] = []
    for b in boards:
        recs = read_records(b.dir / "records.jsonl") if (b.dir / "records.jsonl").is_file() else []
        have = {r.case_id: r for r in recs}
        why = _why(b)
        plan = b.dir / "plan.json"
        if plan.is_file():
            from edgeprof.engine.plan import read_plan

            _, cases, _ = read_plan(json.loads(plan.read_text()))
            for c in cases:
                r = have.pop(c.case_id, None)
                if r is not None and r.status != "cancelled":
                    out.append((b.name, r))
                else:
                    out.append((b.name, Pending.of_case(b.name, c, why)))
        elif not recs:
            out.append((b.name, Pending(b.name, "(whole matrix)", "", why)))
        out += [(b.name, r) for r in have.values()]   # records of cases no plan names (kept, shown)
    return out


def _why(b: BoardRun) -> str:
    e = b.ended
    if e is None:
        return "not run yet"
    if e.state == "done":
        return "not run (the board's run ended without it)"
    return f"{e.state}: {e.message}"[:160]


def complete(table: list[Row]) -> bool:
    return bool(table) and all(isinstance(x, Record) and x.ok for _, x in table)


def render(table: list[Row], fmt: str) -> str:
    if fmt == "md":
        return markdown(table)
    if fmt in ("json", "jsonl"):
        items = [x.to_dict() if isinstance(x, Pending) else _tagged(b, x) for b, x in table]
        if fmt == "json":
            return json.dumps(items, indent=2) + "\n"
        return "".join(json.dumps(i, separators=(",", ":")) + "\n" for i in items)
    if fmt == "csv":   # records only (each carries board.name); pending rows are in md and json
        return printers.to_csv([x for _, x in table if isinstance(x, Record)])
    raise ValueError(f"unknown format {fmt!r}")


def _tagged(board: str, rec: Record) -> dict:
    """A record as printed: its ``board`` names the fleet's board even for a copy made elsewhere."""
    d = rec.to_dict()
    d["board"] = {**(d.get("board") if isinstance(d.get("board"), dict) else {}), "name": board}
    return d


def markdown(table: list[Row]) -> str:
    """bench's table (its ``host`` column names each record's board) with the pending rows in it."""
    cols = printers.columns()
    recs = [x for _, x in table if isinstance(x, Record)]
    cells = []
    for board, x in table:
        if isinstance(x, Record):
            cells.append([fn(x) for _, fn in cols])
        else:
            blank = {name: "" for name, _ in cols}
            blank.update(dict(x.cells), host=board, model=x.model, test=x.label, status=f"pending — {x.reason}")
            cells.append([blank[name] for name, _ in cols])
    names = [n for n, _ in cols]
    keep = [i for i, n in enumerate(names) if n in ("host", "status") or any(row[i] for row in cells)]
    lines = ["| " + " | ".join(names[i] for i in keep) + " |",
             "|" + "|".join("---" if names[i] in printers.TEXT_COLUMNS else "---:" for i in keep) + "|"]
    for row in cells:
        lines.append("| " + " | ".join(_cell(row[i]) for i in keep) + " |")
    notes = printers.legend(recs)
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def _cell(text: str) -> str:
    return md_cell(" ".join(str(text).split()))
