"""What a report reads: one or more run directories, each with its records, plan/env/baseline/suite
and every case's trace (``samples/<case_id>.csv``) and per-token timeline (when written).

Why a small model of its own: sections and figures need each case together with its run (the
baseline window and the sensor provenance are per run) and a key that stays unique when two runs
hold the same configuration (a case_id is a hash of the case key, so it repeats across runs).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeprof.errors import resume_command
from edgeprof.results.described import RunEnv
from edgeprof.results.history import load_run
from edgeprof.results.jsonl import RunError
from edgeprof.results.samples import Trace, case_traces, read_tokens, tokens_path
from edgeprof.results.schema import Record


@dataclass(frozen=True)
class PlanFacts:
    """What a report reads of plan.json: the sweep's axes, the suite, the planned case ids."""
    axes: Any = None
    suite: Any = None
    case_ids: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, plan: Any) -> "PlanFacts":
        if not isinstance(plan, dict):
            return cls()
        cases = plan.get("cases")
        ids = [c.get("case_id") for c in cases if isinstance(c, dict)] if isinstance(cases, list) else []
        return cls(plan.get("axes"), plan.get("suite"), tuple(cid for cid in ids if isinstance(cid, str)))


@dataclass
class RunData:
    dir: Path
    records: list[Record]
    env: RunEnv = field(default_factory=RunEnv)
    plan: PlanFacts = field(default_factory=PlanFacts)
    baseline: dict | None = None
    suite: dict | None = None
    traces: dict[str, Trace] = field(default_factory=dict)
    tokens: dict[str, dict] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        return next((r.run_id for r in self.records if r.run_id), None) or self.dir.name

    def planned(self) -> list[str]:
        """The case ids plan.json lists (none when it is absent or not the expected shape)."""
        return list(self.plan.case_ids)

    def missing_note(self) -> str | None:
        """One line when the run is incomplete (an interrupted run: planned cases without a finished
        record, cancelled ones included): how many, and the command that finishes it."""
        planned = self.planned()
        done = {r.case_id for r in self.records if r.status != "cancelled"}
        n = sum(1 for cid in planned if cid not in done)
        if not n:
            return None
        return (f"INCOMPLETE: {n} of {len(planned)} planned case(s) of {self.dir} have no record (the run was "
                f"interrupted or they were cancelled); finish it with: {resume_command(self.dir)}")


@dataclass(frozen=True)
class CaseView:
    key: str               # unique in the report: case_id, or case_id-<run number> when repeated
    run: RunData
    record: Record

    @property
    def trace(self) -> Trace | None:
        return self.run.traces.get(self.record.case_id)

    @property
    def tokens(self) -> dict | None:
        return self.run.tokens.get(self.record.case_id)


def open_run(run_dir: str | Path) -> RunData:
    d = Path(run_dir)
    run = load_run(d)
    if not run["records"]:
        raise RunError(f"{d}/records.jsonl holds no records (the run ended before its first case); "
                       f"finish it with: {resume_command(d)}")
    ids = [r.case_id for r in run["records"]]
    tokens = {cid: read_tokens(tokens_path(d, cid)) for cid in ids if tokens_path(d, cid).is_file()}
    return RunData(d, run["records"], RunEnv.from_dict(run.get("env")), PlanFacts.from_dict(run.get("plan")),
                   run.get("baseline"), run.get("suite"), case_traces(d, ids, run.get("env")), tokens)


def case_views(runs: list[RunData]) -> list[CaseView]:
    seen: dict[str, int] = {}
    out = []
    for n, run in enumerate(runs, start=1):
        for r in run.records:
            key = r.case_id or f"case{len(out) + 1}"
            seen[key] = seen.get(key, 0) + 1
            out.append(CaseView(key if seen[key] == 1 else f"{key}-{n}", run, r))
    return out


def all_records(runs: list[RunData]) -> list[Record]:
    return [r for run in runs for r in run.records]
