"""A sweep as data: the cross product of artifacts × -p × -n × --depth × -t × other placement
lists (CONTRACTS.md), each case with a stable id, written to ``plan.json`` so ``--resume DIR``
needs no other argument."""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from edgeprof.runtimes import DEFAULT_FOR_FORMAT


@dataclass
class Settings:
    """Everything about a run that is not an axis of the sweep."""

    reps: int = 5
    warmup: int = 1
    min_seconds: float = 3.0
    timeout_s: float = 600.0
    cooldown_s: float = 0.0
    max_rss_bytes: int | None = None
    sample_hz: float = 20.0
    idle_s: float = 3.0
    idle_each: bool = False
    ignore_memory_check: bool = False
    cpu_tdp_w: float | None = None


@dataclass
class Axes:
    prompt: list[int] = field(default_factory=lambda: [128])
    gen: list[int] = field(default_factory=lambda: [128])
    depth: list[int] = field(default_factory=lambda: [0])
    threads: list[int] = field(default_factory=lambda: [1])
    flash_attn: list[str] = field(default_factory=lambda: ["auto"])
    n_batch: list[int | None] = field(default_factory=lambda: [None])
    n_ubatch: list[int | None] = field(default_factory=lambda: [None])
    kv_type: list[str | None] = field(default_factory=lambda: [None])
    gpu_layers: list[int] = field(default_factory=lambda: [0])
    repack: list[str] = field(default_factory=lambda: ["auto"])
    provider: list[str | None] = field(default_factory=lambda: [None])
    dtype: list[str | None] = field(default_factory=lambda: [None])


def case_key(case: dict[str, Any]) -> dict[str, Any]:
    """The identity of a case (CONTRACTS.md "Case key")."""
    a = case["artifact"]
    return {"model_id": a["model"]["id"], "sha256": a["sha256"], "format": a["format"], "quant": a["quant"],
            "runtime": case["runtime"], "placement": case["placement"], "workload": case["workload"],
            "device_id": case["device_id"], "host": case["host"]}


def case_id(case: dict[str, Any]) -> str:
    blob = json.dumps(case_key(case), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def build_cases(artifacts: list[dict[str, Any]], axes: Axes, *, device_id: str, host: str,
                runtime: str | None = None, providers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """``providers``: the device-chosen default provider per runtime, used where -provider is unset."""
    cases = []
    for art, p, n, d, t, fa, nb, nub, kv, ngl, rp, prov, dt in itertools.product(
            artifacts, axes.prompt, axes.gen, axes.depth, axes.threads, axes.flash_attn, axes.n_batch,
            axes.n_ubatch, axes.kv_type, axes.gpu_layers, axes.repack, axes.provider, axes.dtype):
        if p == 0 and n == 0:
            raise ValueError("-p 0 with -n 0 measures nothing; give a prompt length, a generation length or both")
        rt = runtime or art.get("runtime") or DEFAULT_FOR_FORMAT[art["format"]]
        if prov is None and providers and rt in providers:
            prov = providers[rt]
        placement = {"threads": t, "gpu_layers": ngl, "flash_attn": fa, "n_batch": nb, "n_ubatch": nub,
                     "kv_type": kv, "repack": rp, "provider": prov}
        if dt is not None:
            placement["dtype"] = dt
        case = {"artifact": art, "runtime": rt, "placement": placement,
                "workload": {"prompt_tokens": p, "gen_tokens": n, "depth": d, "n_seqs": 1},
                "device_id": device_id, "host": host}
        case["case_id"] = case_id(case)
        cases.append(case)
    return cases


def plan_dict(run_id: str, cases: list[dict], settings: Settings, axes: Axes, models: list[str | None]) -> dict:
    return {"schema_version": 1, "run_id": run_id, "models": models, "axes": asdict(axes),
            "settings": asdict(settings), "cases": cases}
