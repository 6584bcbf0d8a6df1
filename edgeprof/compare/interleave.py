"""``edgeprof compare --interleave A B``: re-run the cases of two runs alternately (ABBA rounds,
which cancel linear drift) in one new run, then pool each side's repetitions per workload key.

Why: machines drift 10–25 % minute to minute, so two runs made apart cannot show a 5 % effect;
alternating the two configurations puts both under the same drift and lets a small ``--margin``
decide.
"""
from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from edgeprof.compare.paired import CompareError, Side, interleave_plan
from edgeprof.results.history import workload_key
from edgeprof.analysis.stats import summarize


def _plan(run: str) -> dict:
    p = Path(run) / "plan.json"
    if not p.is_file():
        raise CompareError(f"--interleave needs run directories with plan.json; {run} has none")
    return json.loads(p.read_text())


def interleaved_cases(a_run: str, b_run: str, pairs: int) -> list[dict[str, Any]]:
    order = interleave_plan(_plan(a_run), _plan(b_run), pairs)
    if not order:
        raise CompareError("A and B share no workload key: nothing to interleave")
    cases = []
    for e in order:
        c = json.loads(json.dumps(e["case"]))
        c["case_id"] = f"{c['case_id']}-{e['side']}{e['round']}"
        c["host"] = socket.gethostname()
        cases.append(c)
    return cases


def pool(records: list[dict], side: str) -> list[dict]:
    """One record per workload key for ``side`` ("A"/"B"), its metrics' samples concatenated."""
    groups: dict[tuple, list[dict]] = {}
    for r in records:
        if r.get("status") == "ok" and r["case_id"].rsplit("-", 1)[-1].startswith(side):
            groups.setdefault(workload_key(r), []).append(r)
    out = []
    for recs in groups.values():
        merged = json.loads(json.dumps(recs[0]))
        for name, m in merged.get("metrics", {}).items():
            xs = [x for r in recs for x in ((r["metrics"].get(name) or {}).get("samples") or [])]
            if xs:
                merged["metrics"][name] = dict(m, **summarize(xs))
        merged["interleaved_rounds"] = len(recs)
        out.append(merged)
    return out


def sides(run_dir: Path, a_label: str, b_label: str) -> tuple[Side, Side]:
    from edgeprof.results.jsonl import read_records

    recs = list(read_records(run_dir / "records.jsonl"))
    return (Side(f"{a_label} (interleaved)", "run", pool(recs, "A"), {"run_dir": str(run_dir)}),
            Side(f"{b_label} (interleaved)", "run", pool(recs, "B"), {"run_dir": str(run_dir)}))
