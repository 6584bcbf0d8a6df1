"""``suite.json`` in a run directory: each suite's summary per artifact/placement (LocalScore's
means and score, llama-bench's pp512/tg128), with intervals from the repetitions and the server
comparison of that summary (CONTRACTS "CLI conventions": workload suites).

Why a file beside records.jsonl rather than more rows in it: records.jsonl holds one row per case
(CONTRACTS); a summary is derived from several cases and is rebuilt from them at any time.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from edgeprof.results.jsonl import write_json
from edgeprof.results.schema import Record

SCHEMA_VERSION = 1


def build(names: list[str], records: list[Record], compare: Callable[[Record], Record] | None = None) -> dict:
    from edgeprof.analysis.suites import load, summarize

    out: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "suites": []}
    for name in names:
        suite = load(name)
        summaries = summarize(suite, records)
        if compare is not None:
            summaries = [compare(s) if s.ok else s for s in summaries]
        out["suites"].append({"name": suite.name, "version": suite.version, "title": suite.title,
                              "source": suite.source, "cases": list(suite.labels),
                              "summaries": [s.to_dict() for s in summaries]})
    return out


def write(run_dir: Path, names: list[str], records: list[Record],
          compare: Callable[[Record], Record] | None = None) -> dict:
    data = build(names, records, compare)
    write_json(Path(run_dir) / "suite.json", data)
    return data


def summaries(data: dict) -> list[Record]:
    """The summary records of a ``suite.json`` (the JSON boundary)."""
    return [Record.from_dict(s) for suite in data.get("suites") or [] for s in suite.get("summaries") or []]
