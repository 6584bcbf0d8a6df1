"""Workload suites: named, versioned lists of cases that reproduce a public protocol exactly
(``assets/suites/<name>.json``, CONTRACTS "CLI conventions"), and the summary each protocol
publishes (LocalScore's means and score, llama-bench's pp512/tg128).

Why data files: a published number is only comparable when the workload is the same, so the
workload is a versioned file anyone can read and diff, not a constant buried in the engine.
Why the summary is a :class:`Record`: the suite's own summary is what matches published rows
(``compare.reference``), and a record is what every printer, the TUI and the history already read.
Summaries are pure functions of the per-case records (no clock, no hardware).
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import statistics
from dataclasses import dataclass
from typing import Any

from edgeprof.analysis.stats import percentile
from edgeprof.assets_access import asset
from edgeprof.errors import UsageError
from edgeprof.results.schema import ErrorInfo, Metric, Provenance, Record, Workload

SCORE = "localscore"
N_BOOT = 1000


class SuiteError(UsageError):
    """Unknown suite name or a malformed suite file (one line naming the fix)."""


@dataclass(frozen=True)
class Suite:
    name: str
    version: int
    title: str
    source: str
    cases: tuple[Workload, ...]       # each carries suite/tokens/seed/warmup: a case needs nothing else
    labels: tuple[str, ...]
    summary: dict[str, Any]
    raw: dict[str, Any]

    def workloads(self) -> list[Workload]:
        return list(self.cases)

    def describe(self) -> str:
        return ", ".join(f"{lab}" for lab in self.labels)


def _case(item: Any, default_warmup: Any, depth: int, name: str) -> tuple[int, int, int, Any, str | None]:
    if isinstance(item, list) and len(item) == 2:
        return int(item[0]), int(item[1]), depth, default_warmup, None
    if isinstance(item, dict) and "prompt_tokens" in item and "gen_tokens" in item:
        return (int(item["prompt_tokens"]), int(item["gen_tokens"]), int(item.get("depth", depth)),
                item.get("warmup", default_warmup), item.get("label"))
    raise SuiteError(f"suite {name}: case {item!r} is neither [prompt, gen] nor an object with prompt_tokens and "
                     f"gen_tokens; fix assets/suites/{name}.json")


def parse(data: dict[str, Any]) -> Suite:
    name = str(data.get("name") or "")
    if not name or not isinstance(data.get("version"), int) or not data.get("cases"):
        raise SuiteError(f"suite file {name or '?'} needs name, an integer version and cases")
    warm, depth = data.get("warmup"), int(data.get("depth") or 0)
    cases, labels = [], []
    for item in data["cases"]:
        p, n, d, w, label = _case(item, warm, depth, name)
        if min(p, n, d) < 0 or p + n == 0:
            raise SuiteError(f"suite {name}: case p{p}/n{n}/d{d} measures nothing or is negative")
        cases.append(Workload(p, n, d, 1, suite=name, tokens=data.get("tokens"), seed=data.get("seed"),
                              warmup=tuple(w) if w else None, extra={"suite_version": data["version"]}))
        labels.append(label or f"({p},{n})")
    return Suite(name, data["version"], str(data.get("title", "")), str(data.get("source", "")), tuple(cases),
                 tuple(labels), dict(data.get("summary") or {}), data)


def names() -> list[str]:
    return sorted(p.stem for p in asset("suites").glob("*.json"))


def load(name: str) -> Suite:
    path = asset("suites", f"{name}.json")
    if not path.is_file():
        raise SuiteError(f"unknown suite '{name}' (known: {', '.join(names())}); see 'edgeprof bench --list-suites'")
    try:
        return parse(json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        if isinstance(exc, SuiteError):
            raise
        raise SuiteError(f"{path}: malformed suite file ({exc})") from None


def localscore_score(prompt_tps: float, gen_tps: float, ttft_ms: float) -> float | None:
    """LocalScore's score: ``10 * cbrt(avg_prompt_tps * avg_gen_tps * 1000 / avg_ttft_ms)``."""
    if not (prompt_tps and gen_tps and ttft_ms) or min(prompt_tps, gen_tps, ttft_ms) <= 0:
        return None
    return 10.0 * (prompt_tps * gen_tps * 1000.0 / ttft_ms) ** (1.0 / 3.0)


# -- summaries ---------------------------------------------------------------------------------
def _group_key(r: Record) -> str:
    placement = {k: v for k, v in r.runtime.placement.to_dict().items() if k != "cpu_affinity"}
    return json.dumps([r.model.id, r.artifact.sha256 or r.artifact.path, r.artifact.format, r.artifact.quant,
                       r.runtime.name, placement, r.device.id, r.host], sort_keys=True, default=str)


def _samples(m: Metric) -> list[float]:
    return [float(x) for x in m.samples if x is not None] or [float(m.center)]


def _summary_metric(values: list[float], reps: list[float], boots: list[float], unit: str,
                    prov: Provenance) -> Metric:
    """A suite-level figure: its point value, per-repetition-index values as samples, and the
    bootstrap interval over each case's repetitions (None below two repetitions)."""
    ci = (percentile(boots, 2.5), percentile(boots, 97.5)) if len(boots) > 1 else None
    return Metric(value=values[0], unit=unit, provenance=prov, n=max(1, len(reps)), median=values[0],
                  cv=(statistics.stdev(reps) / statistics.fmean(reps)) if len(reps) > 1 and statistics.fmean(reps)
                  else None, ci95=ci, samples=tuple(reps))


def _means(suite: Suite, per_case: list[Record], seed: int = 0) -> dict[str, Metric]:
    names_ = list(suite.summary.get("means") or [])
    if "roofline_fraction" not in names_ and all(r.metric("roofline_fraction") for r in per_case):
        names_.append("roofline_fraction")
    data = {m: [_samples(r.metric(m)) for r in per_case] for m in names_}
    n_rep = min(len(s) for xs in data.values() for s in xs)
    rng = random.Random(seed)
    boots: dict[str, list[float]] = {m: [] for m in names_}
    if n_rep > 1:
        for _ in range(N_BOOT):
            for m in names_:
                boots[m].append(statistics.fmean(statistics.median(rng.choices(s, k=len(s))) for s in data[m]))
    point = {m: statistics.fmean(r.metric(m).center for r in per_case) for m in names_}
    reps = {m: [statistics.fmean(s[i] for s in data[m]) for i in range(n_rep)] if n_rep > 1 else [] for m in names_}
    note = (f"{suite.summary.get('definition', '')}; each case contributes its median over repetitions; interval: "
            f"bootstrap ({N_BOOT} draws, seeded) over each case's repetitions; samples: the mean of repetition i")
    prov = Provenance("derived", f"suite {suite.name} v{suite.version}: mean over {len(per_case)} cases", "suite",
                      note=note)
    out = {m: _summary_metric([point[m]], reps[m], boots[m], per_case[0].metric(m).unit, prov) for m in names_}
    if suite.summary.get("kind") == "localscore" and {"prefill_tokens_per_s", "decode_tokens_per_s",
                                                       "ttft_ms"} <= set(names_):
        score = lambda d: localscore_score(d["prefill_tokens_per_s"], d["decode_tokens_per_s"], d["ttft_ms"])  # noqa
        s_point = score(point)
        if s_point is not None:
            s_reps = [score({m: reps[m][i] for m in names_}) for i in range(len(reps["ttft_ms"]))]
            s_boot = [score({m: boots[m][i] for m in names_}) for i in range(len(boots["ttft_ms"]))]
            src = f"suite {suite.name} v{suite.version}: LocalScore score of the mean over {len(per_case)} cases"
            out[SCORE] = _summary_metric([s_point], [x for x in s_reps if x], [x for x in s_boot if x], "score",
                                         Provenance("derived", src, "suite", note=note))
    return out


def _picks(suite: Suite, by_label: dict[str, Record]) -> dict[str, Metric]:
    out = {}
    for metric, label in (suite.summary.get("pick") or {}).items():
        m = by_label[label].metric(metric)
        if m is not None:
            out[metric] = Metric(m.value, m.unit, m.provenance.noted(f"suite {suite.name} v{suite.version}: "
                                                                      f"{label}"), m.n, m.median, m.p90, m.cv,
                                 m.ci95, m.samples, m.p99)
    return out


def summarize(suite: Suite, records: list[Record]) -> list[Record]:
    """One summary record per (artifact, runtime, placement, device, host) that ran the suite.
    A group with a missing or failed case gets a ``failed`` summary naming what is missing."""
    mine = [r for r in records if r.workload.suite == suite.name and r.workload.prompt_tokens is not None]
    groups: dict[str, list[Record]] = {}
    for r in mine:
        groups.setdefault(_group_key(r), []).append(r)
    out = []
    for key, rs in groups.items():
        found = {(r.workload.prompt_tokens, r.workload.gen_tokens, r.workload.depth): r for r in rs}
        by_label, missing = {}, []
        for label, w in zip(suite.labels, suite.cases):
            r = found.get((w.prompt_tokens, w.gen_tokens, w.depth))
            if r is None or not r.ok:
                missing.append(label + ("" if r is None else f" ({r.status})"))
            else:
                by_label[label] = r
        first = rs[0]
        need = list(suite.summary.get("means") or [])
        incomplete = [lab for lab, r in by_label.items() if any(r.metric(m) is None for m in need)]
        missing += [f"{lab} (no {', '.join(m for m in need if by_label[lab].metric(m) is None)})" for lab in incomplete]
        metrics: dict[str, Metric] = {}
        error = None
        if missing:
            error = ErrorInfo("incomplete_suite", f"{len(suite.cases) - len(missing)} of {len(suite.cases)} cases "
                                                  f"measured; missing or failed: {', '.join(missing)}; no summary",
                              "summary")
        elif suite.summary.get("kind") == "pick":
            metrics = _picks(suite, by_label)
        else:
            metrics = _means(suite, [by_label[lab] for lab in suite.labels])
        cases = [{"label": lab, "prompt_tokens": w.prompt_tokens, "gen_tokens": w.gen_tokens, "depth": w.depth,
                  "case_id": by_label[lab].case_id if lab in by_label else None}
                 for lab, w in zip(suite.labels, suite.cases)]
        out.append(Record(
            case_id="suite-" + hashlib.sha256((suite.name + key).encode()).hexdigest()[:16],
            status="failed" if error else "ok", run_id=first.run_id, host=first.host, started_at=first.started_at,
            error=error, model=first.model, artifact=first.artifact, runtime=first.runtime, device=first.device,
            workload=Workload(None, None, None, 1, suite=suite.name, extra={"suite_version": suite.version}),
            metrics={k: v for k, v in metrics.items() if v is not None and not math.isnan(v.value)},
            extra={"summary": {"suite": suite.name, "version": suite.version, "title": suite.title,
                               "definition": suite.summary.get("definition", ""), "cases": cases}}))
    return out
