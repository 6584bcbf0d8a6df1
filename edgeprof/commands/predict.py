"""``edgeprof predict``: two questions, one command.

- ``predict --device ID [--power-mode M] [MODEL|RUN_DIR]``: decode/prefill speed, TTFT and J/token
  of a model on a device you do not have, from per-device-class fits on measured rows (LocalScore
  and this machine's history), with an interval and the rows it rests on
  (``--require "decode>=20,power<=10"`` lists the devices and modes that meet it, best first;
  ``--list-devices`` the ids). Printing lives in ``predict_text.py``.
- ``predict -p N -n M RUN...``: the latency model fitted on a sweep of *this* device's runs,
  for a workload not run (edgeprof/analysis/latency_model.py).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HELP = "predict a model on a device you do not have (--device, --require), or a workload not run from a sweep"
DESCRIPTION = (HELP + ". With --device/--require/--list-devices: the what-if model (MODEL = a catalogue id, a "
               "model file or a run directory; default the catalogue's default model). Without: RUN... is a "
               "sweep of this device and -p/-n the workload to predict.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", nargs="*", metavar="MODEL|RUN",
                        help="with --device/--require: one MODEL (catalogue id, file or run directory); "
                             "without: run directories or run_ids of a sweep")
    parser.add_argument("--device", default=None, metavar="ID",
                        help="a device from the table (e.g. orin-nano-super, m4-max, h100, pi5)")
    parser.add_argument("--power-mode", default=None, metavar="M", help="a Jetson nvpmodel mode (e.g. 25W, MAXN_SUPER; "
                        "default the board's default mode)")
    parser.add_argument("--require", default=None, metavar="REQS",
                        help='list devices and modes that meet e.g. "decode>=20,power<=10,ttft<=500"')
    parser.add_argument("--kind", default=None, help="with --require: only these device kinds "
                        "(comma-separated: jetson, rpi, apple, cpu, nvidia, gpu)")
    parser.add_argument("--min-probability", type=float, default=0.5,
                        help="with --require: list devices at least this likely to meet it (default 0.5)")
    parser.add_argument("--list-devices", action="store_true", help="list the device ids, aliases and power modes")
    parser.add_argument("--no-history", action="store_true", help="fit on the public rows only, not this machine's runs")
    parser.add_argument("-p", "--prompt", type=int, default=None, help="prompt tokens (with --device: default the "
                        "bench's default workload)")
    parser.add_argument("-n", "--gen", type=int, default=None, help="generated tokens (likewise)")
    parser.add_argument("--depth", type=int, default=0, help="context tokens before the prompt (sweep mode; default 0)")
    parser.add_argument("--level", type=float, default=None,
                        help="interval level (default 0.80 with --device/--require, 0.95 for a sweep)")
    parser.add_argument("--history", default=None, help="history database for run_ids and this machine's rows")
    parser.add_argument("-o", "--format", choices=("md", "csv", "json"), default="md")


def _err(msg: str, code: int = 2) -> int:
    print(f"edgeprof predict: error: {msg}", file=sys.stderr)
    return code


def run(args) -> int:
    if args.level is not None and not 0 < args.level < 1:
        return _err("--level must be in (0, 1), e.g. 0.8")
    if args.device or args.require or args.list_devices:
        return run_whatif(args)
    if args.power_mode or args.kind:
        return _err("--power-mode/--kind go with --device or --require")
    return run_sweep(args)


def run_whatif(args) -> int:
    from edgeprof.commands import predict_text
    from edgeprof.compare import whatif as wi
    from edgeprof.engine.config import DEFAULT_WORKLOAD

    if args.list_devices:
        print(predict_text.device_list(args.format))
        return 0
    if args.device and args.require:
        return _err("give --device ID (one device) or --require REQS (search all), not both")
    if len(args.runs) > 1:
        return _err(f"one MODEL at a time ({len(args.runs)} given)")
    prompt = DEFAULT_WORKLOAD["prompt"][0] if args.prompt is None else args.prompt
    gen = DEFAULT_WORKLOAD["gen"][0] if args.gen is None else args.gen
    if prompt < 0 or gen < 1:
        return _err("-p must be ≥ 0 and -n ≥ 1 (a decode rate needs a generated token)")
    level = args.level or 0.8
    db = args.history or os.environ.get("EDGEPROF_HISTORY") or None
    try:
        tgt = wi.target(args.runs[0] if args.runs else None)
        model, rows = wi.fitted(db, not args.no_history)
        if args.device:
            dev = wi.device_of(args.device)
            pred = wi.predict_one(dev, args.power_mode, tgt, prompt, gen, level, model=model)
            print(predict_text.one(pred, tgt, rows, args.format))
            return 0
        from edgeprof.analysis.whatif_predict import parse_require, rank

        reqs = parse_require(args.require)
        kinds = [k.strip() for k in args.kind.split(",")] if args.kind else None
        preds = wi.predict_everywhere(tgt, prompt, gen, level, db, kinds)
        kept, left = rank(preds, reqs, args.min_probability)
        print(predict_text.ranked(kept, left, reqs, tgt, prompt, gen, level, args.format))
        return 0 if kept else 1
    except (wi.WhatIfError, wi.TargetError) as exc:
        return _err(str(exc))


def _config(rec) -> str:
    art, rt = rec.artifact, rec.runtime
    return json.dumps([rec.model.id, art.sha256 or art.path, art.quant, rt.name, rt.placement.to_dict(), rec.device.id],
                      sort_keys=True)


def run_sweep(args) -> int:
    from edgeprof.compare.paired import CompareError, load_side, render_table
    from edgeprof.results.history import RunError
    from edgeprof.analysis.latency_model import FitError, fit

    if not args.runs:
        return _err("give RUN... (a sweep of this device) with -p/-n, or --device ID MODEL for another device")
    if args.prompt is None or args.gen is None:
        return _err("-p/--prompt and -n/--gen are required with RUN... (the workload to predict); "
                    "--device ID predicts on another device instead")
    level = args.level or 0.95
    if args.prompt < 0 or args.gen < 0 or args.depth < 0:
        return _err("--prompt/--gen/--depth must be ≥ 0 and --level in (0, 1)")
    db = args.history or os.environ.get("EDGEPROF_HISTORY") or None
    try:
        records = [r for spec in args.runs for r in load_side(spec, db, ref_sets=[]).records if r.ok]
        configs = sorted({_config(r) for r in records})
        if len(configs) > 1:
            raise FitError(f"the runs mix {len(configs)} configurations (artifact/runtime/placement/device); "
                           "give runs of one configuration")
        model = fit(records)
        pred = model.predict(args.prompt, args.gen, args.depth, level)
    except (CompareError, RunError, FitError) as exc:
        return _err(str(exc), 2 if not isinstance(exc, FitError) or "mix" in str(exc) else 1)
    rows = [{"metric": k, "value": pred[k]["value"], "lo": pred[k]["lo"], "hi": pred[k]["hi"], "unit": "ms",
             "extrapolated": pred[k]["extrapolated"], "basis": pred[k]["provenance"]["note"]}
            for k in ("ttft_ms", "tpot_ms", "e2e_ms") if k in pred]
    if args.format == "json":
        print(json.dumps({"prediction": pred, "model": model.to_dict()}, indent=2))
        return 0
    print(render_table(rows, args.format))
    if args.format == "md":
        print(f"\n{int(level * 100)} % prediction interval for one repetition; estimated (a fit, not a "
              f"measurement) from {model.n_records} records")
        for f in (model.ttft, model.tpot):
            if f:
                d = f.to_dict()
                r2 = f"{f.r2:.4f}" if f.r2 is not None else "n/a"
                print(f"- {d['equation']}  (R² {r2}, residual SD {f.rmse:.3g} ms, n {f.n}) {f.note}".rstrip())
        for note in pred["notes"]:
            print(f"- {note}")
    return 0
