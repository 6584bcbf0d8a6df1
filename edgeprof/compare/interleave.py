"""``edgeprof compare --interleave A B``: re-run the cases of two runs alternately (ABBA rounds,
which cancel linear drift) in one new run, then pool each side's repetitions per workload key.

Why: machines drift 10–25 % minute to minute, so two runs made apart cannot show a 5 % effect;
alternating the two configurations puts both under the same drift and lets a small ``--margin``
decide.
"""
from __future__ import annotations

import json
import socket
from dataclasses import replace
from pathlib import Path

from edgeprof.analysis.metrics import metric
from edgeprof.compare.paired import CompareError, Side, interleave_plan
from edgeprof.results.jsonl import read_records
from edgeprof.results.schema import Record


def _plan(run: str) -> dict:
    p = Path(run) / "plan.json"
    if not p.is_file():
        raise CompareError(f"--interleave needs run directories with plan.json; {run} has none")
    from edgeprof.results.bounded import load_json
    from edgeprof.results.jsonl import RunError

    try:
        data = load_json(p)
    except RunError as exc:
        raise CompareError(str(exc)) from None
    if not isinstance(data, dict):
        raise CompareError(f"{p} is damaged (not a JSON object); re-create the run")
    return data


def interleaved_cases(a_run: str, b_run: str, pairs: int) -> tuple[list[dict], dict]:
    """The ABBA case order as plan.json case dicts (each re-keyed ``<id>-<side><round>``, on this
    host) and A's settings dict; the run session turns them into cases."""
    a_plan = _plan(a_run)
    order = interleave_plan(a_plan, _plan(b_run), pairs)
    if not order:
        raise CompareError("A and B share no workload key: nothing to interleave")
    cases = []
    for e in order:
        c = json.loads(json.dumps(e["case"]))
        c["case_id"] = f"{c['case_id']}-{e['side']}{e['round']}"
        c["host"] = socket.gethostname()
        cases.append(c)
    return cases, dict(a_plan.get("settings") or {})


def pool(records: list[Record], side: str) -> list[Record]:
    """One record per workload key for ``side`` ("A"/"B"), its metrics' samples concatenated."""
    groups: dict[tuple, list[Record]] = {}
    for r in records:
        if r.ok and r.case_id.rsplit("-", 1)[-1].startswith(side):
            groups.setdefault(r.workload_key(), []).append(r)
    out = []
    for recs in groups.values():
        first = recs[0]
        merged = {}
        for name, m in first.metrics.items():
            xs = [x for r in recs for x in (r.metrics[name].samples if name in r.metrics else ())]
            merged[name] = replace(metric(xs, m.unit, m.provenance), extra=m.extra) if xs else m
        out.append(replace(first, metrics=merged).with_extra(interleaved_rounds=len(recs)))
    return out


def sides(run_dir: Path, a_label: str, b_label: str) -> tuple[Side, Side]:
    recs = read_records(run_dir / "records.jsonl")
    return (Side(f"{a_label} (interleaved)", "run", pool(recs, "A"), {"run_dir": str(run_dir)}),
            Side(f"{b_label} (interleaved)", "run", pool(recs, "B"), {"run_dir": str(run_dir)}))
