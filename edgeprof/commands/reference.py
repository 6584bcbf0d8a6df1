"""``edgeprof reference list|show|add``: the server reference sets (packaged ``assets/reference/`` and
``$EDGEPROF_HOME/reference/``); ``add RUN_DIR --name NAME`` turns a run into a reference set."""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

HELP = "list, show or add server reference sets (add: turn a run directory into a reference)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="{list,show,add}")
    p = sub.add_parser("list", help="list the reference sets")
    p.add_argument("-o", "--format", choices=("md", "csv", "json"), default="md")
    p = sub.add_parser("show", help="show one set's rows")
    p.add_argument("name")
    p.add_argument("-o", "--format", choices=("md", "csv", "json"), default="md")
    p = sub.add_parser("add", help="copy a run into $EDGEPROF_HOME/reference/NAME")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--name", required=True)
    p.add_argument("--overwrite", action="store_true", help="replace an existing set of that name")
    p.add_argument("-o", "--format", choices=("md", "csv", "json"), default="md")


def add_run(run_dir: str | Path, name: str, dest_root: str | Path | None = None,
            overwrite: bool = False, env: dict | None = None) -> Path:
    """Copy a run into ``<dest_root or $EDGEPROF_HOME/reference>/NAME/`` with a generated reference.json
    (source "measured by edgeprof vX on <device>", status MEASURED). Written atomically."""
    from edgeprof import __version__
    from edgeprof.compare.reference import ReferenceSetError
    from edgeprof.home import reference_dir
    from edgeprof.results.history import load_run

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ReferenceSetError(f"bad reference name '{name}' (letters, digits, . _ - only)")
    run = load_run(run_dir)
    src = Path(run_dir)
    records = [r for r in run["records"] if r.ok]
    if not records:
        raise ReferenceSetError(f"{src}: no successful case to use as a reference")
    dest = Path(dest_root) if dest_root else reference_dir(env)
    target = dest / name
    if target.exists() and not overwrite:
        raise ReferenceSetError(f"reference set '{name}' exists at {target} (use --overwrite)")
    env_json = run.get("env") or {}
    version = (records[0].get("edgeprof_version") or env_json.get("edgeprof_version") or env_json.get("version")
               or __version__)
    devices = {json.dumps(r.device.to_dict(), sort_keys=True): r.device.to_dict() for r in records}
    names = sorted({str(d.get("name")) for d in devices.values()})
    runtimes = sorted({" ".join(str(x) for x in (r.runtime.name, r.runtime.version) if x) for r in records})
    first = records[0]
    meta = {"name": name, "title": f"edgeprof run {first.run_id} used as a reference",
            "source": f"measured by edgeprof v{version} on {', '.join(names)}",
            "created_from": {"run_dir": str(src.resolve()), "run_id": first.run_id,
                             "host": first.host, "started_at": first.started_at},
            "verification_status": "MEASURED",
            "hardware": {"devices": list(devices.values())}, "software": {"runtimes": runtimes},
            "workload": {"known": True, "keys": sorted({json.dumps(r.workload_key()) for r in records})},
            "metric_definitions": "CONTRACTS.md records.jsonl, schema_version 1 (metric names carry their units)"}
    tmp = dest / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for f in ("records.jsonl", "plan.json", "env.json", "baseline.json"):
        if (src / f).is_file():
            shutil.copy2(src / f, tmp / f)
    (tmp / "reference.json").write_text(json.dumps(meta, indent=2) + "\n")
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    return target


def run(args) -> int:
    from edgeprof.compare.paired import render_table
    from edgeprof.compare.reference import get_set, load_sets

    action = getattr(args, "action", None) or "list"
    fmt = getattr(args, "format", "md")
    if action == "add":
        path = add_run(args.run_dir, args.name, overwrite=args.overwrite)
        print(json.dumps({"added": args.name, "path": str(path)}) if fmt == "json" else
              f"reference set '{args.name}' written to {path}")
        return 0
    sets = load_sets()
    if action == "show":
        s = get_set(args.name, sets)
        rows = [{"row": r.case_id, "status": r.status, "model": r.model.id, "quant": r.artifact.quant,
                 "workload": "/".join(str(x).replace("None", "?") for x in r.workload_key()[1:]),
                 **{m: v.center for m, v in r.metrics.items()}}
                for r in s.records]
        first = list(rows[0]) if rows else []
        cols = sorted({k for r in rows for k in r}, key=lambda k: (first.index(k) if k in first else 99, k))
        if fmt == "md":
            print(f"{s.name} [{s.verification}] {s.meta.get('title') or s.meta.get('source', '')}\n")
        print(render_table(rows, fmt, cols, {"set": s.meta}))
        return 0
    rows = [{"name": s.name, "origin": s.origin, "verification": s.verification,
             "source": s.meta.get("source") if isinstance(s.meta.get("source"), str) else
             (s.meta.get("source") or {}).get("paper", ""),
             "rows_ok": sum(1 for r in s.records if r.ok), "path": str(s.path)} for s in sets]
    print(render_table(rows, fmt, ("name", "origin", "verification", "rows_ok", "source", "path")))
    return 0 if rows else 1
