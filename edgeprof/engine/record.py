"""Assemble a case's :class:`~edgeprof.results.schema.Record` from its outcome, and write the
per-case samples CSV (``t_ns`` + one column per sensor reading)."""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from edgeprof import __version__
from edgeprof.analysis.itl import TOKEN_COLUMNS, token_rows
from edgeprof.engine.launcher import Outcome
from edgeprof.engine.plan import Case
from edgeprof.engine.threads import row_warnings
from edgeprof.results.conditions import Conditions, IdleBaseline, Load, ThrottleEvidence
from edgeprof.results.samples import columns_path
from edgeprof.results.schema import (DeviceRef, Metric, Provenance, Record, Repetition, ResolvedPlacement, RuntimeInfo,
                                     Workload)


@dataclass(frozen=True)
class CaseContext:
    """What the sweep knows about a case beyond its outcome."""

    run_id: str
    host: str
    started_at: str
    device: DeviceRef
    sample_hz: float
    baseline: IdleBaseline | None        # the device's idle baseline (baseline.json)
    power_rule: Provenance | None
    cooldown_s: float = 0.0
    harness_cpu_s: float = 0.0
    load: Load | None = None             # engine/contention.py assess(): before/during windows, verdict
    throttle_evidence: ThrottleEvidence | None = None   # analysis/throttling.py: why throttled is what it is


def build_record(case: Case, outcome: Outcome, ctx: CaseContext, metrics: dict[str, Metric],
                 *, throttled: bool | None = None, warnings: tuple[str, ...] = ()) -> Record:
    loaded = outcome.loaded
    runtime = loaded.runtime if loaded else RuntimeInfo(case.runtime, None,
                                                        ResolvedPlacement.from_dict(case.placement.to_dict()))
    model = case.artifact.model
    if loaded and loaded.n_params and not model.params:
        model = replace(model, params=loaded.n_params)
    error = outcome.error
    if outcome.status != "ok" and outcome.reps and error is not None:
        error = replace(error, extra={**error.extra, "partial_reps": len(outcome.reps)})
    base = ctx.baseline
    said = (loaded.extra if loaded else None) or {}
    conditions = Conditions(
        throttled=throttled, throttle_evidence=ctx.throttle_evidence, harness_cpu_s=round(ctx.harness_cpu_s, 4),
        case_wall_s=round((outcome.t_end_ns - outcome.t_start_ns) / 1e9, 4) if outcome.t_end_ns else None,
        idle_window_s=base.idle_window_s if base else None, cooldown_s=round(ctx.cooldown_s, 3),
        idle_power_w=base.idle_power_w if base else None, load=ctx.load, power_rule=ctx.power_rule,
        sample_hz=ctx.sample_hz, edgeprof_version=__version__,
        runtime_extra={k: v for k, v in said.items() if k not in ("system_info", "warnings")})
    # what the runtime itself warns about (a placement it could not honour) leads the row's warnings
    warnings = (tuple(str(w) for w in runtime_warnings(said))
                + tuple(warnings) + tuple(row_warnings(runtime.placement, ctx.load) if outcome.reps else ()))
    return Record(case_id=case.case_id, status=outcome.status, run_id=ctx.run_id, host=ctx.host,
                  started_at=ctx.started_at, error=error, model=model, artifact=case.artifact.info(),
                  runtime=runtime, device=ctx.device, workload=case.workload, metrics=metrics,
                  phases=tuple(outcome.phases),
                  reps=tuple(sorted([*outcome.reps, *outcome.dropped], key=lambda r: r.rep)), warnings=tuple(warnings),
                  conditions=conditions)


def runtime_warnings(said: dict[str, Any]) -> list:
    """The warnings a runtime put in its ``EngineInfo.extra`` (the worker pipe's reader)."""
    return list(said.get("warnings") or ())


def write_samples_csv(path: Path, samples: list) -> None:
    """t_ns + one column per sensor reading (``<sensor>.<quantity>``), and beside it
    ``<case_id>.columns.json``: each column's provenance as its readings carried it (kind, source,
    scope), so a further reading of a sensor (``cpu:busy_time``, a RAPL zone) is never unlabelled."""
    cols: dict[str, dict[str, Any]] = {}
    rows = []
    for s in samples:
        row: dict[str, Any] = {"t_ns": s.t_ns}
        for r in s.readings:
            key = f"{r.sensor}.{r.quantity}"
            if key not in cols:
                cols[key] = {"kind": r.kind, "source": r.source, "scope": r.scope}
            row[key] = "" if r.value is None else r.value
        rows.append(row)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["t_ns", *cols], lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    columns_path(path).write_text(json.dumps(cols, indent=1) + "\n")


def write_tokens_csv(path: Path, reps: list[Repetition], workload: Workload) -> bool:
    """``samples/<case_id>.tokens.csv``: one row per decoded token of every measured repetition
    (``analysis.itl.TOKEN_COLUMNS``); nothing is written when no token was decoded."""
    rows = list(token_rows(reps, workload))
    if not rows:
        return False
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(TOKEN_COLUMNS)
        w.writerows(rows)
    return True
