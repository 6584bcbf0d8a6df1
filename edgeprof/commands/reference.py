"""``edgeprof reference list|show|add|import|build|export``: the server reference sets (packaged
``assets/reference/`` and ``$EDGEPROF_HOME/reference/``).

``add RUN_DIR --name NAME`` turns a run into a set; ``import localscore FILE.tsv`` loads a newer
LocalScore export through the packaged set's own loader; ``build --suite S MODEL ... --name NAME
[--pack FILE.tar.gz]`` runs the suites on this machine and writes a set with its hardware, runtime
build and energy provenance (what a GPU holder runs to publish a matched set); ``export NAME
FILE.tar.gz`` and ``import set FILE.tar.gz`` carry a set to another machine with its provenance;
``show NAME --model ID`` lists the rows a model can be compared with.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "list, show, add, import, build or export server reference sets"
IMPORTERS = ("localscore", "set")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from edgeprof.engine.config import BenchOptions
    from edgeprof.engine.options import add_arguments as add_options

    sub = parser.add_subparsers(dest="action", metavar="{list,show,add,import,build,export}")
    p = sub.add_parser("list", help="list the reference sets with their row counts and provenance")
    p.add_argument("-o", "--format", choices=("md", "csv", "json"), default="md")
    p = sub.add_parser("show", help="show one set's rows (with --model: the rows that model can be compared with)")
    p.add_argument("name")
    p.add_argument("--model", metavar="ID",
                   help="catalogue id, GGUF file or model name (e.g. 'Llama 3.2 1B Instruct')")
    p.add_argument("--machine", metavar="TEXT", help="only rows whose machine or host CPU name contains TEXT")
    p.add_argument("--class", dest="klass", metavar="TEXT",
                   help="only rows whose accelerator class contains TEXT (e.g. 'H100', 'L4', 'Orin')")
    p.add_argument("--limit", type=int, default=40, help="rows printed in md (default 40; csv/json print all)")
    p.add_argument("-o", "--format", choices=("md", "csv", "json"), default="md")
    p = sub.add_parser("add", help="copy a run into $EDGEPROF_HOME/reference/NAME")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--name", required=True)
    p.add_argument("--overwrite", action="store_true", help="replace an existing set of that name")
    p.add_argument("-o", "--format", choices=("md", "csv", "json"), default="md")
    p = sub.add_parser("import", help="import a public database export (localscore FILE.tsv) or a set exported "
                                      "by 'reference export' (set FILE.tar.gz) as a user set")
    p.add_argument("source", choices=IMPORTERS)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--name", help="set name (default: localscore-<date of the newest row>; a set: its own name)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing set of that name")
    p.add_argument("-o", "--format", choices=("md", "csv", "json"), default="md")
    p = sub.add_parser("build", help="run suites on this machine and write a reference set (bench flags apply)")
    add_options(p, BenchOptions, skip=("list_suites", "format", "resume", "retry_failed", "export"))
    p.add_argument("--name", required=True, help="name of the reference set to write")
    p.add_argument("--pack", metavar="FILE", help="also write the set as one file (FILE.tar.gz) to carry to other "
                                                  "machines ('edgeprof reference import set FILE' there)")
    p = sub.add_parser("export", help="write a user set as one file (FILE.tar.gz) for 'reference import set'")
    p.add_argument("name")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-o", "--format", choices=("md", "json"), default="md")


def add_run(run_dir: str | Path, name: str, dest_root: str | Path | None = None,
            overwrite: bool = False, env: dict | None = None) -> Path:
    """A run directory as reference set ``name`` (``compare.refwrite.from_run``)."""
    from edgeprof.compare.refwrite import from_run

    return from_run(run_dir, name, dest_root, overwrite, env)


def _set_rows(sets) -> list[dict]:
    from edgeprof.compare.refpack import describe
    from edgeprof.compare.refwrite import list_summary

    refreshed = {s.meta.refreshes: s.name for s in sets if s.origin == "user" and s.meta.refreshes}
    rows = []
    for s in sets:
        summary = s.listed or list_summary(s.records)
        suites = summary.suites
        workload = (f"suite {', '.join(suites)}" if suites else "per-case keys" if s.meta.workload_known
                    else "not published: context only")
        src = s.meta.source_text if isinstance(s.meta.source, str) else s.meta.database or s.meta.paper
        rows.append({"name": s.name, "origin": s.origin, "verification": s.verification,
                     "rows_ok": summary.rows_ok, "workload": workload,
                     "load": summary.load or "not recorded (summary written before load states were kept)",
                     "energy": ", ".join(s.meta.energy_provenance or summary.energy) or "none",
                     "source": describe(s.meta, src),   # an imported set says from which file, and when
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
        aliases = list(e.aliases)  # before a pull, the approximate count says which sizes are near
        return ModelInfo(e.model_id, e.name, e.params or e.params_approx, extra={"aliases": aliases}), e.quant
    except catalogue.CatalogueError:
        return ModelInfo(norm(arg), arg, None), None


def _show(args, s, fmt: str) -> int:
    """The rows (filtered), a summary per accelerator class, the legend of the set's metric
    columns, and "0 rows: why" when nothing is left."""
    from edgeprof.compare.paired import render_table
    from edgeprof.compare.showrows import ROOFLINE_NOTE, class_lines, show

    model, quant = _model_for(args.model) if args.model else (None, None)
    shown = show(s, model, quant, args.machine, args.klass)
    rows = shown.rows
    if fmt == "md":
        print(shown.head + "\n")
    if not rows:
        if fmt == "json":
            print(json.dumps({"set": s.meta.to_dict(), "rows": [], "why": shown.why_empty}, indent=2, default=str))
        else:
            print(f"0 rows: {shown.why_empty}")
        return 0
    limited = rows[:args.limit] if fmt == "md" and args.limit > 0 else rows
    first = list(limited[0])
    cols = sorted({k for r in limited for k in r}, key=lambda k: (first.index(k) if k in first else 99, k))
    if fmt == "md":   # the per-row basis and evidence are long: the notes say how those columns are made
        cols = [c for c in cols if c not in ("roofline_basis", "host_bound_evidence")]
    print(render_table(limited, fmt, cols, {"set": s.meta.to_dict(), "classes": [c.to_dict() for c in shown.classes],
                                            "legend": shown.legend}))
    if fmt != "md":
        return 0
    if len(limited) < len(rows):
        print(f"\n{len(rows) - len(limited)} more rows: --limit 0 or -o csv prints all")
    if shown.classes:
        print("\nPer accelerator class (decode tokens/s of the rows above, all of them):\n")
        print("\n".join(class_lines(shown.classes)))
    from edgeprof.compare.classes import HOST_BOUND_FRACTION

    print(f"\n{ROOFLINE_NOTE}\nhost_bound: yes when the row decodes under {HOST_BOUND_FRACTION:.0%} of its "
          f"bandwidth roofline at batch 1, or as fast as rows on devices with much more bandwidth (it measures its "
          f"host, engine build and driver); ? when neither can be judged, or for a CPU row (its host is its "
          f"accelerator); the evidence is in -o json/csv")
    if shown.legend:
        print("\nColumns of this set:\n" + "\n".join(f"- {x}" for x in shown.legend))
    return 0


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
    if args.pack and not Path(args.pack).expanduser().resolve().parent.is_dir():
        raise UsageError(f"--pack {args.pack}: its folder does not exist; pass a path in an existing folder")
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
    packed = ""
    if args.pack:
        from edgeprof.compare.refpack import export

        packed = f"; packed as {export(path, args.pack)} for 'edgeprof reference import set' on other machines"
    print(f"reference set '{args.name}' written to {path} ({sum(r.ok for r in records)} cases ok; run "
          f"{session.run_dir}){packed}; see README 'Compare with server GPUs'")
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
    from edgeprof.errors import command

    action = getattr(args, "action", None) or "list"
    fmt = getattr(args, "format", "md")
    if action == "add":
        path = add_run(args.run_dir, args.name, overwrite=args.overwrite)
        print(json.dumps({"added": args.name, "path": str(path)}) if fmt == "json" else
              f"reference set '{args.name}' written to {path}")
        return 0
    if action == "import" and args.source == "set":
        from edgeprof.compare.refpack import import_file

        path, n = import_file(args.file, args.name, overwrite=args.overwrite)
        print(json.dumps({"imported": path.name, "rows": n, "path": str(path)}) if fmt == "json" else
              f"reference set '{path.name}' imported from {args.file} ({n} rows, its provenance kept) at {path}")
        return 0
    if action == "export":
        from edgeprof.compare.refpack import export
        from edgeprof.compare.refsets import load_sets as _all

        s = get_set(args.name, _all())
        if s.origin != "user":
            from edgeprof.errors import UsageError

            raise UsageError(f"'{s.name}' is a packaged set: it ships with edgeprof already; export one of yours")
        out = export(s.path, args.file)
        print(json.dumps({"exported": s.name, "file": str(out)}) if fmt == "json" else
              f"reference set '{s.name}' written to {out}; on another machine: "
              f"{command('reference', 'import', 'set', str(out))}")
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
        return _show(args, get_set(args.name, sets), fmt)
    rows = _set_rows(sets)
    print(render_table(rows, fmt, ("name", "origin", "verification", "rows_ok", "workload", "load", "energy",
                                   "source", "note", "path")))
    return 0 if rows else 1
