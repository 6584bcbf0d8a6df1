"""``edgeprof reference list|show|add|import|build``: the server reference sets (packaged
``assets/reference/`` and ``$EDGEPROF_HOME/reference/``).

``add RUN_DIR --name NAME`` turns a run into a set; ``import localscore FILE.tsv`` loads a newer
LocalScore export through the packaged set's own loader; ``build --suite S MODEL ... --name NAME``
runs the suites on this machine and writes a set with its hardware, runtime build and energy
provenance (what a GPU holder runs to publish a matched set); ``show NAME --model ID`` lists the
rows a model can be compared with.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "list, show, add, import or build server reference sets"
IMPORTERS = ("localscore",)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from edgeprof.engine.config import BenchOptions
    from edgeprof.engine.options import add_arguments as add_options

    sub = parser.add_subparsers(dest="action", metavar="{list,show,add,import,build}")
    p = sub.add_parser("list", help="list the reference sets with their row counts and provenance")
    p.add_argument("-o", "--format", choices=("md", "csv", "json"), default="md")
    p = sub.add_parser("show", help="show one set's rows (with --model: the rows that model can be compared with)")
    p.add_argument("name")
    p.add_argument("--model", metavar="ID",
                   help="catalogue id, GGUF file or model name (e.g. 'Llama 3.2 1B Instruct')")
    p.add_argument("--limit", type=int, default=40, help="rows printed in md (default 40; csv/json print all)")
    p.add_argument("-o", "--format", choices=("md", "csv", "json"), default="md")
    p = sub.add_parser("add", help="copy a run into $EDGEPROF_HOME/reference/NAME")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--name", required=True)
    p.add_argument("--overwrite", action="store_true", help="replace an existing set of that name")
    p.add_argument("-o", "--format", choices=("md", "csv", "json"), default="md")
    p = sub.add_parser("import", help="import a public database export (localscore FILE.tsv) as a user set")
    p.add_argument("source", choices=IMPORTERS)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--name", help="set name (default: localscore-<date of the newest row>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing set of that name")
    p.add_argument("-o", "--format", choices=("md", "csv", "json"), default="md")
    p = sub.add_parser("build", help="run suites on this machine and write a reference set (bench flags apply)")
    add_options(p, BenchOptions, skip=("list_suites", "format", "resume", "retry_failed", "export"))
    p.add_argument("--name", required=True, help="name of the reference set to write")


def add_run(run_dir: str | Path, name: str, dest_root: str | Path | None = None,
            overwrite: bool = False, env: dict | None = None) -> Path:
    """A run directory as reference set ``name`` (``compare.refwrite.from_run``)."""
    from edgeprof.compare.refwrite import from_run

    return from_run(run_dir, name, dest_root, overwrite, env)


def _set_rows(sets) -> list[dict]:
    from edgeprof.compare.refwrite import list_summary

    refreshed = {s.meta.get("refreshes"): s.name for s in sets if s.origin == "user" and s.meta.get("refreshes")}
    rows = []
    for s in sets:
        wl = s.meta.get("workload") or {}
        summary = s.listed or list_summary(s.records)
        suites = summary["suites"]
        workload = (f"suite {', '.join(suites)}" if suites else "per-case keys" if wl.get("known", True)
                    else "not published: context only")
        src = s.meta.get("source")
        rows.append({"name": s.name, "origin": s.origin, "verification": s.verification,
                     "rows_ok": summary["rows_ok"], "workload": workload,
                     "energy": ", ".join(s.meta.get("energy_provenance") or summary["energy"]) or "none",
                     "source": src if isinstance(src, str) else (src or {}).get("database") or (src or {}).get("paper",
                                                                                                              ""),
                     "note": f"superseded by {refreshed[s.name]}" if s.name in refreshed else "", "path": str(s.path)})
    return rows


def _model_for(arg: str):
    """A ModelInfo for ``--model``: a GGUF file's metadata, a catalogue entry, or a plain name."""
    from edgeprof.compare.identity import norm
    from edgeprof.models import catalogue
    from edgeprof.results.schema import ModelInfo

    p = Path(arg).expanduser()
    if p.is_file():
        from edgeprof.models.artifacts import gguf_artifact

        art = gguf_artifact(p)
        return art.model, art.quant
    try:
        e = catalogue.get(arg)
        aliases = e.raw.get("aliases") or []  # before a pull, the approximate count says which sizes are near
        return (ModelInfo(e.model_id, e.name, e.params or e.raw.get("params_approx"), extra={"aliases": aliases}),
                e.raw.get("quant"))
    except catalogue.CatalogueError:
        return ModelInfo(norm(arg), arg, None), None


ROOFLINE_NOTE = ("roofline: the row's decode tokens/s ÷ (its accelerator's published memory bandwidth "
                 "[assets/devices/devices.csv row] ÷ the model file's bytes, weights read once per token); derived, "
                 "n/a where either figure is missing — each row's basis is in -o json/csv (roofline_basis)")


def _roofline_cells(side: dict) -> dict[str, str]:
    """The row's decode speed as a share of its accelerator's published bandwidth limit (or n/a),
    and the basis of that figure: which devices.csv row, which file size — or why there is none."""
    value = f"{side['value']:.1%}" if side.get("value") is not None else "n/a"
    return {"roofline": value, "roofline_basis": side.get("basis") or side.get("why") or ""}


def _show_rows(s, model_arg: str | None) -> tuple[list[dict], str]:
    from edgeprof.compare import identity as ident
    from edgeprof.compare.ratios import server_roofline

    model = quant = None
    spec_cache: dict = {}
    if model_arg:
        model, quant = _model_for(model_arg)
    rows = []
    for r in s.records:
        kind = ""
        if model is not None:
            if ident.same_model(model, r.model):
                same_quant = quant and ident.quant_name(quant) == ident.quant_name(r.artifact.quant)
                kind = "exact" if same_quant else "same-model"
            elif (f := ident.params_factor(model.params, r.model.params)) and f <= ident.NORMALIZED_MAX_FACTOR:
                kind = f"normalized ({f:.2g}× params)"
            else:
                continue
            if ident.workload_identity(r.workload) == ("unknown",):
                kind = "context (workload not published)"
        rows.append({**({"match": kind} if model is not None else {}), "row": r.extra.get("result_id") or r.case_id,
                     "status": r.status, "model": r.model.name or r.model.id, "quant": r.artifact.quant,
                     "workload": ident.describe_workload(r.workload), "machine": r.device.name, "host": r.host,
                     "date": (r.started_at or "")[:10],
                     **{m: round(v.center, 4) for m, v in r.metrics.items() if v.center is not None},
                     **_roofline_cells(server_roofline(r, spec_cache)),
                     **({"url": r.extra["url"]} if r.extra.get("url") else {})})
    order = ("exact", "same-model", "normalized", "context")
    rows.sort(key=lambda r: next((i for i, k in enumerate(order) if str(r.get("match", "")).startswith(k)), 9))
    head = f"{s.name} [{s.verification}] {s.meta.get('title') or s.meta.get('source', '')}"
    if model is not None:
        head += (f"\nrows comparable with {model.name or model.id}" + (f" {quant}" if quant else "")
                 + f": {len(rows)} (exact/same-model need the same workload or suite when matched; normalized: "
                   f"another model within {ident.NORMALIZED_MAX_FACTOR:g}× its parameter count)")
    return rows, head


def _build(args) -> int:
    from edgeprof.commands.bench import options
    from edgeprof.compare.refwrite import from_run, target
    from edgeprof.engine.session import RunSession
    from edgeprof.errors import UsageError

    args.list_suites, args.format, args.resume, args.retry_failed, args.export = False, "md", None, False, None
    opts = options(args)
    if not opts.suite:
        raise UsageError("reference build needs --suite NAME (e.g. --suite localscore,llamacpp-scoreboard); a "
                         "published set is only comparable for a fixed workload")
    target(args.name, None, opts.overwrite)  # a bad or reserved name fails before anything runs
    if opts.out is None:
        import datetime as dt

        from dataclasses import replace

        opts = replace(opts, out=Path("edgeprof-runs") / f"reference-{args.name}-{dt.datetime.now():%Y%m%d-%H%M%S}")
    session = RunSession.for_bench(opts, note=lambda m: print(f"edgeprof: {m}", file=sys.stderr))
    records = session.run()
    session.check_interrupted(records)  # a stopped build is never published
    build = {"build": {"command": "edgeprof reference build", "suites": opts.suite, "run_dir": str(session.run_dir),
                       "runtime_build": _runtime_build()}}
    path = from_run(session.run_dir, args.name, overwrite=opts.overwrite, build=build)
    print(f"reference set '{args.name}' written to {path} ({sum(r.ok for r in records)} cases ok; run "
          f"{session.run_dir}); publish it by copying that directory (see README 'Publish your own server set')")
    return 0 if records and all(r.ok for r in records) else 1


def _runtime_build() -> dict:
    """llama.cpp's compile-time features as this process loads them (the runtime build)."""
    try:
        import llama_cpp

        return {"llama_cpp_system_info": llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()}
    except (ImportError, OSError, AttributeError) as exc:
        return {"llama_cpp_system_info": None, "why": str(exc)}


def run(args) -> int:
    from edgeprof.compare.paired import render_table
    from edgeprof.compare.refsets import get_set, load_sets

    action = getattr(args, "action", None) or "list"
    fmt = getattr(args, "format", "md")
    if action == "add":
        path = add_run(args.run_dir, args.name, overwrite=args.overwrite)
        print(json.dumps({"added": args.name, "path": str(path)}) if fmt == "json" else
              f"reference set '{args.name}' written to {path}")
        return 0
    if action == "import":
        from edgeprof.compare.refwrite import import_localscore

        path, n = import_localscore(args.file, args.name, overwrite=args.overwrite)
        print(json.dumps({"imported": path.name, "rows": n, "path": str(path)}) if fmt == "json" else
              f"{n} LocalScore rows imported as reference set '{path.name}' at {path}; it refreshes the packaged "
              f"'localscore' set, which matching now leaves out")
        return 0
    if action == "build":
        return _build(args)
    notes: list[str] = []
    sets = load_sets(notes=notes, listing=action == "list")
    for n in notes:
        print(f"edgeprof: {n}", file=sys.stderr)
    if action == "show":
        rows, head = _show_rows(get_set(args.name, sets), args.model)
        shown = rows[:args.limit] if fmt == "md" and args.limit > 0 else rows
        first = list(shown[0]) if shown else []
        cols = sorted({k for r in shown for k in r}, key=lambda k: (first.index(k) if k in first else 99, k))
        if fmt == "md":   # the per-row basis is long: the table says how the column is made, once
            print(head + "\n")
            cols = [c for c in cols if c != "roofline_basis"]
        print(render_table(shown, fmt, cols, {"set": get_set(args.name, sets).meta}))
        if fmt == "md" and shown:
            print(f"\n{ROOFLINE_NOTE}")
        if len(shown) < len(rows):
            print(f"\n{len(rows) - len(shown)} more rows: --limit 0 or -o csv prints all")
        return 0
    rows = _set_rows(sets)
    print(render_table(rows, fmt, ("name", "origin", "verification", "rows_ok", "workload", "energy", "source",
                                   "note", "path")))
    return 0 if rows else 1
