"""``edgeprof bench [MODEL ...]``: run a sweep in isolated workers and print one row per case."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from edgeprof.commands.common import FORMATS, add_format, byte_size, error, int_list, physical_cores, str_list

HELP = "bench models on this device (llama.cpp, ONNX Runtime, PyTorch) with energy and memory"
DESCRIPTION = (HELP + ". Comma lists sweep; cases are the cross product of models x -p x -n x --depth x -t "
               "(x placement lists). MODEL is a GGUF/ONNX file, an export directory, an HF directory or a "
               "catalogue id (default: the packaged SmolLM2-135M-Instruct).")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("models", nargs="*", metavar="MODEL", help="model paths or catalogue ids (default: the default model)")
    p.add_argument("-p", "--n-prompt", type=int_list, default=[128], help="prompt tokens (default 128)")
    p.add_argument("-n", "--n-gen", type=int_list, default=[128], help="generated tokens (default 128)")
    p.add_argument("--depth", "-d", type=int_list, default=[0], help="untimed context tokens before the prompt (default 0)")
    p.add_argument("-t", "--threads", type=int_list, default=None, help="threads (default: physical cores)")
    p.add_argument("--reps", "-r", type=int, default=5, help="timed repetitions (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="untimed warm-up repetitions (default 1)")
    p.add_argument("--min-seconds", type=float, default=3.0, help="repeat until at least this long (default 3)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds before a case is killed (default 600)")
    p.add_argument("--cooldown", type=float, default=0.0, help="seconds to wait before each case (default 0)")
    p.add_argument("--flash-attn", "-fa", type=str_list(("on", "off", "auto")), default=["auto"])
    p.add_argument("--n-batch", "-b", type=int_list, default=None, help="logical batch (default 2048, as llama-bench)")
    p.add_argument("--n-ubatch", "-ub", type=int_list, default=None, help="physical batch (default 512)")
    p.add_argument("--kv-type", type=str_list(("f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1")), default=[None])
    p.add_argument("--gpu-layers", "-ngl", type=int_list, default=[0], help="llama.cpp layers on the GPU (default 0)")
    p.add_argument("--repack", type=str_list(("on", "off", "auto")), default=["auto"],
                   help="llama.cpp weight repacking / extra buffers (auto: off where ggml's AMX path crashes)")
    p.add_argument("--provider", type=str_list(), default=[None], help="ONNX Runtime execution provider (cpu, cuda, ...)")
    p.add_argument("--dtype", type=str_list(("fp32", "bf16", "fp16")), default=[None],
                   help="PyTorch runtime precision (default: the artifact's)")
    p.add_argument("--runtime", choices=("llama.cpp", "onnxruntime", "torch"), default=None, help="force a runtime")
    p.add_argument("--max-rss", type=byte_size, default=None, help="kill a case whose worker RSS exceeds this (K/M/G)")
    p.add_argument("--sample-hz", type=float, default=20.0, help="sensor sampling rate; 0 turns sampling off (default 20)")
    p.add_argument("--idle-seconds", type=float, default=3.0, help="idle baseline window before the first case (default 3)")
    p.add_argument("--idle-each", action="store_true", help="re-measure the idle baseline before every case")
    p.add_argument("--cpu-tdp-w", type=float, default=None, help="TDP for the CPU power estimate where RAPL is absent")
    p.add_argument("--ignore-memory-check", action="store_true", help="run cases the memory-fit check would skip")
    p.add_argument("--out", type=Path, default=None, help="run directory (default ./edgeprof-runs/<timestamp>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing run directory")
    p.add_argument("--resume", type=Path, default=None, metavar="DIR", help="finish the cases of an earlier run")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress display on stderr")
    p.add_argument("--export", action="append", default=None, metavar="FMT:SCHEMES",
                   help="export the HF source first, then bench every artifact (same syntax as 'export --to')")
    add_format(p, FORMATS)


def _settings(args):
    from edgeprof.engine.plan import Settings

    return Settings(reps=args.reps, warmup=args.warmup, min_seconds=args.min_seconds, timeout_s=args.timeout,
                    cooldown_s=args.cooldown, max_rss_bytes=args.max_rss, sample_hz=args.sample_hz,
                    idle_s=args.idle_seconds, idle_each=args.idle_each,
                    ignore_memory_check=args.ignore_memory_check, cpu_tdp_w=args.cpu_tdp_w)


def _prepare_dir(args) -> tuple[Path, bool] | None:
    if args.resume:
        if not (args.resume / "plan.json").exists():
            error(f"--resume {args.resume}: no plan.json there; pass a run directory made by 'edgeprof bench'")
            return None
        return args.resume, True
    import datetime as dt

    out = args.out or Path("edgeprof-runs") / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    if out.exists() and any(out.iterdir()):
        if not args.overwrite:
            error(f"{out} already holds a run; pass --overwrite to replace it or --resume {out} to finish it")
            return None
        import shutil

        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    return out, False


def _index(run_dir: Path) -> None:
    """Every run is also indexed in the SQLite history (path: $EDGEPROF_HISTORY or the default)."""
    import os
    import sqlite3

    from edgeprof.results.history import RunError, index_run

    try:
        index_run(run_dir, os.environ.get("EDGEPROF_HISTORY"))
    except (RunError, sqlite3.Error, OSError) as exc:
        error(f"run not indexed in the history database ({exc}); results are in {run_dir}")


class Prepared:
    """Everything a front-end needs to run a sweep: the headless command and the TUI share it."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def prepare(args, note) -> "Prepared | int":
    """Resolve models, build or reload the plan, open devices. Returns an exit code on bad input."""
    from edgeprof import home
    from edgeprof.models.artifacts import ArtifactError, resolve
    from edgeprof.engine.sweep import env_info, new_run_id
    from edgeprof.models.catalogue import CatalogueError
    from edgeprof.engine.device_choice import bench_device, default_providers, open_devices
    from edgeprof.engine.plan import Axes, Settings, build_cases, plan_dict
    from edgeprof.results.jsonl import read_records, write_json

    prepared = _prepare_dir(args)
    if prepared is None:
        return 2
    run_dir, resuming = prepared
    if resuming:
        plan = json.loads((run_dir / "plan.json").read_text())
        cases, run_id = plan["cases"], plan["run_id"]
        settings = Settings(**plan["settings"])
        rec_path = run_dir / "records.jsonl"
        done = {r["case_id"] for r in read_records(rec_path)} if rec_path.exists() else set()
    else:
        artifacts = []
        try:
            for m in (args.models or [None]):
                artifacts += resolve(m, log=note)
            artifacts += _exports(args, artifacts, note)
        except (ArtifactError, CatalogueError) as exc:
            error(str(exc))
            return 2
        settings = _settings(args)
        axes = Axes(prompt=args.n_prompt, gen=args.n_gen, depth=args.depth, threads=args.threads or [physical_cores()],
                    flash_attn=args.flash_attn, n_batch=args.n_batch or [None], n_ubatch=args.n_ubatch or [None],
                    kv_type=args.kv_type, gpu_layers=args.gpu_layers, repack=args.repack, provider=args.provider,
                    dtype=args.dtype)
        run_id, done = new_run_id(), set()
    found = open_devices(home.sysroot(), settings.cpu_tdp_w)
    if not resuming:
        import socket

        first = bench_device(found, {"gpu_layers": args.gpu_layers[0],
                                     "provider": args.provider[0] or default_providers(found).get("onnxruntime")})
        try:
            cases = build_cases(artifacts, axes, device_id=first.info().id, host=socket.gethostname(),
                                runtime=args.runtime, providers=default_providers(found))
        except ValueError as exc:
            for d in found:
                d.close()
            error(str(exc))
            return 2
        write_json(run_dir / "plan.json", plan_dict(run_id, cases, settings, axes, args.models or [None]))
    device = bench_device(found, cases[0]["placement"])
    write_json(run_dir / "env.json", env_info(device))
    return Prepared(run_dir=run_dir, run_id=run_id, cases=cases, done=done, settings=settings, found=found,
                    device=device)


def _exports(args, artifacts: list, note) -> list:
    """``--export onnx:int4 --export gguf:q4_k_m``: export the (single HF) source, then bench it all."""
    if not getattr(args, "export", None):
        return []
    from edgeprof.models.artifacts import ArtifactError
    from edgeprof.models.exporting import export_for_bench

    sources = [a for a in artifacts if a["format"] == "hf"]
    if len(sources) != 1:
        raise ArtifactError("--export needs exactly one HF source model (e.g. smollm2-135m-instruct-hf after "
                            "'edgeprof models prepare smollm2-135m-instruct-hf')")
    return export_for_bench(sources[0], args.export, note=note)


def run(args) -> int:
    from edgeprof.engine.sweep import Bench
    from edgeprof.compare.enrich import Enricher
    from edgeprof.views.progress import Progress
    from edgeprof.results.jsonl import read_records
    from edgeprof.results.printers import print_records

    progress = Progress(enabled=not args.quiet and sys.stderr.isatty())
    p = prepare(args, progress.note)
    if isinstance(p, int):
        return p
    progress.start(len(p.cases), p.run_dir)
    bench = Bench(p.run_dir, p.run_id, p.device, p.settings, listeners=[progress.on_event])
    bench.enrich = Enricher(p.device.info().to_dict(), log=progress.note)
    try:
        bench.run(p.cases, p.done)
    finally:
        progress.close()
        for d in p.found:
            d.close()
    records = list(read_records(p.run_dir / "records.jsonl"))
    _index(p.run_dir)
    print_records(records, args.format, sys.stdout)
    if sys.stderr.isatty() or not args.quiet:
        print(f"results: {p.run_dir}/records.jsonl", file=sys.stderr)
    return 0 if any(r["status"] == "ok" for r in records) else 1
