"""``edgeprof predict --prompt N --gen M [--depth D] RUN...``: fit the latency model on a sweep's
records and answer for a workload not run, with a prediction interval (edgeprof/latency_model.py)."""
from __future__ import annotations

import argparse
import json
import os
import sys

HELP = "predict TTFT / TPOT / end-to-end latency for an unmeasured workload from a sweep, with an interval"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="+", metavar="RUN", help="run directories or run_ids in the history")
    parser.add_argument("-p", "--prompt", type=int, required=True, help="prompt tokens")
    parser.add_argument("-n", "--gen", type=int, required=True, help="generated tokens")
    parser.add_argument("--depth", type=int, default=0, help="context tokens before the prompt (default 0)")
    parser.add_argument("--level", type=float, default=0.95, help="interval level (default 0.95)")
    parser.add_argument("--history", default=None, help="history database for run_ids")
    parser.add_argument("-o", "--format", choices=("md", "csv", "json"), default="md")


def _config(rec) -> str:
    art, rt = rec.artifact, rec.runtime
    return json.dumps([rec.model.id, art.sha256 or art.path, art.quant, rt.name, rt.placement.to_dict(), rec.device.id],
                      sort_keys=True)


def run(args) -> int:
    from edgeprof.compare.paired import CompareError, load_side, render_table
    from edgeprof.results.history import RunError
    from edgeprof.analysis.latency_model import FitError, fit

    if args.prompt < 0 or args.gen < 0 or args.depth < 0 or not 0 < args.level < 1:
        print("edgeprof predict: error: --prompt/--gen/--depth must be ≥ 0 and --level in (0, 1)", file=sys.stderr)
        return 2
    db = args.history or os.environ.get("EDGEPROF_HISTORY") or None
    try:
        records = [r for spec in args.runs for r in load_side(spec, db, ref_sets=[]).records if r.ok]
        configs = sorted({_config(r) for r in records})
        if len(configs) > 1:
            raise FitError(f"the runs mix {len(configs)} configurations (artifact/runtime/placement/device); "
                           "give runs of one configuration")
        model = fit(records)
        pred = model.predict(args.prompt, args.gen, args.depth, args.level)
    except (CompareError, RunError, FitError) as exc:
        print(f"edgeprof predict: error: {exc}", file=sys.stderr)
        return 2 if not isinstance(exc, FitError) or "mix" in str(exc) else 1
    rows = [{"metric": k, "value": pred[k]["value"], "lo": pred[k]["lo"], "hi": pred[k]["hi"], "unit": "ms",
             "extrapolated": pred[k]["extrapolated"], "basis": pred[k]["provenance"]["note"]}
            for k in ("ttft_ms", "tpot_ms", "e2e_ms") if k in pred]
    if args.format == "json":
        print(json.dumps({"prediction": pred, "model": model.to_dict()}, indent=2))
        return 0
    print(render_table(rows, args.format))
    if args.format == "md":
        print(f"\n{int(args.level * 100)} % prediction interval for one repetition; estimated (a fit, not a "
              f"measurement) from {model.n_records} records")
        for f in (model.ttft, model.tpot):
            if f:
                d = f.to_dict()
                r2 = f"{f.r2:.4f}" if f.r2 is not None else "n/a"
                print(f"- {d['equation']}  (R² {r2}, residual SD {f.rmse:.3g} ms, n {f.n}) {f.note}".rstrip())
        for note in pred["notes"]:
            print(f"- {note}")
    return 0
