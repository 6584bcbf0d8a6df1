"""Assemble a ``records.jsonl`` row (CONTRACTS.md schema_version 1) and the per-case samples CSV."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from edgeprof import __version__

SCHEMA_VERSION = 1
ARTIFACT_FIELDS = ("path", "format", "quant", "size_bytes", "sha256", "files")


def build_record(case: dict, outcome, bench, metrics: dict, started_at: str, *,
                 harness_cpu_s: float, throttled: bool | None) -> dict[str, Any]:
    art = case["artifact"]
    loaded = outcome.loaded or {}
    runtime = loaded.get("runtime") or {"name": case["runtime"], "version": None, "placement": case["placement"]}
    base = bench.baseline or {}
    model = dict(art["model"])
    if loaded.get("n_params") and not model.get("params"):
        model["params"] = loaded["n_params"]
    if outcome.status != "ok" and outcome.reps:
        outcome.error = dict(outcome.error or {}, partial_reps=len(outcome.reps))
    return {
        "schema_version": SCHEMA_VERSION,
        "case_id": case["case_id"],
        "run_id": bench.run_id,
        "host": bench.host,
        "started_at": started_at,
        "status": outcome.status,
        "error": outcome.error,
        "model": model,
        "artifact": {k: art.get(k) for k in ARTIFACT_FIELDS} | ({"label": art["label"]} if art.get("label") else {})
        | ({"quality": art["quality"]} if art.get("quality") else {}),
        "runtime": {"name": runtime.get("name"), "version": runtime.get("version"),
                    "placement": runtime.get("placement")},
        "device": bench.device.info().to_dict(),
        "workload": case["workload"],
        "metrics": metrics,
        "phases": [{"name": p["name"], "t0_ns": p["t0_ns"], "t1_ns": p.get("t1_ns"), "rep": p.get("rep"),
                    "label": p.get("label")} for p in outcome.phases],
        "reps": [{k: v for k, v in r.items() if k != "token_ns"} for r in outcome.reps],
        "throttled": throttled,
        "harness_cpu_s": round(harness_cpu_s, 4),
        "case_wall_s": round((outcome.t_end_ns - outcome.t_start_ns) / 1e9, 4) if outcome.t_end_ns else None,
        "idle_window_s": base.get("idle_window_s"),
        "cooldown_s": round(getattr(bench, "last_cooldown_s", 0.0), 3),
        "idle_power_w": base.get("idle_power_w"),
        "power_rule": bench.power.provenance if bench.power else None,
        "sample_hz": bench.settings.sample_hz,
        "edgeprof_version": __version__,
        "runtime_extra": {k: v for k, v in (loaded.get("extra") or {}).items() if k != "system_info"},
    }


def write_samples_csv(path: Path, samples: list) -> None:
    """t_ns + one column per sensor reading (``<sensor>.<quantity>``)."""
    cols: list[str] = []
    rows = []
    for s in samples:
        row: dict[str, Any] = {"t_ns": s.t_ns}
        for r in s.readings:
            key = f"{r.sensor}.{r.quantity}"
            if key not in cols:
                cols.append(key)
            row[key] = "" if r.value is None else r.value
        rows.append(row)
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["t_ns"] + cols, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
