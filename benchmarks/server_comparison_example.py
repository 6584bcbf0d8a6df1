"""Print the README's server comparison example: a LocalScore suite summary of Llama 3.2 1B Q4_K_M
on a Jetson Orin Nano, matched against the packaged LocalScore set.

The edge figures are MADE UP (the same ones as ``tests/reference/test_localscore.py``: three
repetitions of nine cases, decode 40–43 t/s, prefill ~500 t/s); the LocalScore rows they meet are
real. It shows what the comparison looks like — the table cell, the rows with their classes and
host-bound flags, the per-class distributions, the notes — not a measurement.

    python benchmarks/server_comparison_example.py [--rows 355,644,69,236]
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CASES = [(1024, 16), (4096, 256), (2048, 256), (2048, 768), (1024, 1024), (1280, 3072), (384, 1152), (64, 1024),
         (16, 1536)]
CLASSES = ("H200", "H100", "L4 ", "Orin", "Raspberry")


def _metric(samples, unit, kind="measured", source="llama.cpp perf counters"):
    from edgeprof.results.schema import Metric, Provenance

    xs = sorted(samples)
    med = xs[len(xs) // 2]
    return Metric(med, unit, Provenance(kind, source, "process"), n=len(xs), median=med, samples=tuple(samples))


def summary():
    from edgeprof.analysis import suites
    from edgeprof.results.schema import (ArtifactInfo, DeviceRef, ModelInfo, Record, RuntimeInfo, Workload)

    recs = []
    for i, (p, n) in enumerate(CASES):
        dec = [40.0, 41.0, 43.0]
        metrics = {"decode_tokens_per_s": _metric(dec, "tokens/s"),
                   "prefill_tokens_per_s": _metric([500.0 - i, 510.0 - i, 520.0 - i], "tokens/s"),
                   "ttft_ms": _metric([p / 0.51, p / 0.5, p / 0.49], "ms"),
                   "roofline_fraction": _metric([x * 0.81e9 / 68e9 for x in dec], "ratio", "derived", "roofline")}
        recs.append(Record(
            case_id=f"case-{i}", model=ModelInfo("llama-3.2-1b-instruct", "Llama 3.2 1B Instruct", 1_235_814_400,
                                                 extra={"general_name": "Llama 3.2 1B Instruct"}),
            artifact=ArtifactInfo("/m/Llama-3.2-1B-Instruct-Q4_K_M.gguf", "gguf", "q4_k_m", 807_694_464),
            runtime=RuntimeInfo("llama.cpp", "0.3.36"),
            device=DeviceRef("jetson", "jetson", "NVIDIA Jetson Orin Nano Developer Kit", 8_000_000_000),
            workload=Workload(p, n, 0, 1, suite="localscore", tokens="random", seed=1, extra={"suite_version": 1}),
            metrics=metrics))
    return suites.summarize(suites.load("localscore"), recs)[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default="355,644,69,236", help="result ids of the rows to print (all: '')")
    args = ap.parse_args()
    from edgeprof.compare import reference as ref
    from edgeprof.compare.judge import Judge
    from edgeprof.results import reftext
    from edgeprof.results.suite_text import comparison_table

    packaged = ref.load_set(ref.asset("reference", "localscore"), "packaged")
    c = ref.match(summary(), [packaged], Judge(use_history=False))
    print(reftext.cell(c) + "\n")
    keep = [f"result {x} " for x in args.rows.split(",") if x]
    lines = comparison_table(c).splitlines()
    lines = [x for x in lines if not keep or not x.startswith("| [result") or any(k in x for k in keep)]
    lines = [x for x in lines if not x.startswith("- ") or " t/s" not in x.split(";")[0] or any(k in x for k in CLASSES)]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
