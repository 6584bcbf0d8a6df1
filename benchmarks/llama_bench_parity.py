#!/usr/bin/env python
"""edgeprof vs llama-bench on the same GGUF with matched settings, in interleaved pairs.

    python benchmarks/llama_bench_parity.py                       # 5 pairs x pp64,tg64,pp512,tg128 x depth 0,512
    python benchmarks/llama_bench_parity.py --pairs 2 --tests pp64,tg64 --depths 0   # quick

llama-bench is built from the sdist of the INSTALLED llama-cpp-python version (same llama.cpp
commit) into a cache on first use (about 6 min on 2 cores; see ``_llamabench.py``); without
cmake or a compiler the script prints ``SKIP: ...`` and exits 0.

Matching: edgeprof runs with its defaults (flash attention ``auto``, repack ``auto``, n_batch
2048, n_ubatch 512, KV f16, threads = physical cores) and llama-bench gets the values edgeprof's
row says those resolved to (``-fa on|off --repack 0|1 -b -ub -ctk -ctv -t``). llama-bench's own
``-fa auto`` cannot be used as the reference because its JSON prints ``-1`` for it, not what it
resolved to. A test is ``pp<P>`` (``-p P -n 0``) or ``tg<N>`` (``-p 0 -n N``) at depth ``-d D``.

Each pair runs llama-bench and edgeprof back to back on one test, alternating which goes first
(A B, B A, ...), so drift from other load on the machine hits both sides alike; the ratio of a
pair is edgeprof's median over its repetitions / llama-bench's median over its repetitions
(``samples_ts``). Reported per test: the median ratio over pairs, min-max and IQR, and the median of
the best-repetition ratios (fastest / fastest), which is steadier on a loaded machine.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _llamabench as lb  # noqa: E402

LOW, HIGH = 0.97, 1.03


def parse_test(name: str) -> tuple[str, int]:
    kind, n = name[:2], name[2:]
    if kind not in ("pp", "tg") or not n.isdigit() or int(n) <= 0:
        raise argparse.ArgumentTypeError(f"test {name!r}: use pp<N> or tg<N>, e.g. pp64,tg128")
    return kind, int(n)


def edgeprof_rate(row: dict, kind: str) -> tuple[float, list[float]]:
    m = row["metrics"]["prefill_tokens_per_s" if kind == "pp" else "decode_tokens_per_s"]
    return m["median"], m["samples"]


def resolve_settings(model: Path, threads: int | None, work: Path) -> dict:
    """What edgeprof's defaults resolve to on this machine (one tiny case)."""
    row = lb.run_edgeprof(model, work / "resolve", prompt=8, gen=0, threads=threads, reps=1, warmup=0)
    return row["runtime"]["placement"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=None, help="GGUF file (default: the default model, fetched like edgeprof does)")
    ap.add_argument("--pairs", type=int, default=5, help="interleaved llama-bench/edgeprof pairs per test (default 5)")
    ap.add_argument("--tests", default="pp64,tg64,pp512,tg128", help="comma list of pp<N>/tg<N> (default pp64,tg64,pp512,tg128)")
    ap.add_argument("--depths", default="0,512", help="comma list of KV depths (default 0,512)")
    ap.add_argument("--reps", type=int, default=3, help="repetitions inside each run, both tools (default 3)")
    ap.add_argument("-t", "--threads", type=int, default=None, help="threads (default: edgeprof's default, physical cores)")
    ap.add_argument("--cache", type=Path, default=None, help="where llama-bench is built (default: edgeprof cache dir)")
    ap.add_argument("--llama-bench", type=Path, default=None, help="use this llama-bench binary instead of building one")
    ap.add_argument("--nice", type=int, default=0,
                    help="nice value for both tools' processes (e.g. -10 on a shared machine; negative needs root)")
    ap.add_argument("--json", type=Path, default=None, help="also write every pair's raw figures here")
    args = ap.parse_args(argv)
    tests = [parse_test(t.strip()) for t in args.tests.split(",") if t.strip()]
    depths = [int(d) for d in args.depths.split(",") if d.strip()]
    if args.pairs < 1 or not tests or not depths:
        ap.error("need --pairs >= 1, at least one test and one depth")

    try:
        binary = args.llama_bench or lb.build(cache=args.cache)
    except lb.Unavailable as exc:
        print(f"SKIP: llama-bench is not available here: {exc}")
        return 0
    model = args.model or lb.default_model()
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    load0 = lb.loadavg()
    with tempfile.TemporaryDirectory(prefix="edgeprof-parity-") as tmp:
        work = Path(tmp)
        pl = resolve_settings(model, args.threads, work)
        threads = int(pl["threads"])
        fa, repack = pl["flash_attn"], pl["repack"]
        if fa not in ("on", "off"):
            print(f"edgeprof could not resolve flash attention ({fa!r}); cannot match llama-bench", file=sys.stderr)
            return 1
        print(f"llama-bench: {binary}")
        print(f"model: {model}")
        print(f"edgeprof resolved: threads={threads} flash_attn={fa} (requested {pl.get('flash_attn_requested')}) "
              f"n_batch={pl['n_batch']} n_ubatch={pl['n_ubatch']} kv_type={pl['kv_type']} repack={repack}"
              + (f" cpu_affinity={pl['cpu_affinity']}" if "cpu_affinity" in pl else ""))
        print(f"start {started}  load average {load0}  ({os.cpu_count()} logical CPUs)  nice {args.nice}\n", flush=True)

        results: list[dict] = []
        settings_checked = False
        for pair in range(args.pairs):
            for kind, n in tests:
                for depth in depths:
                    name = f"{kind}{n}" + (f" @ d{depth}" if depth else "")
                    p, g = (n, 0) if kind == "pp" else (0, n)
                    order = ("lb", "ep") if pair % 2 == 0 else ("ep", "lb")
                    got: dict[str, dict] = {}
                    for who in order:
                        if who == "lb":
                            got["lb"] = lb.run_llama_bench(binary, model, prompt=p, gen=g, depth=depth, threads=threads,
                                                           reps=args.reps, flash_attn=fa, repack=repack,
                                                           n_batch=pl["n_batch"], n_ubatch=pl["n_ubatch"],
                                                           kv_type=pl["kv_type"], nice=args.nice)
                        else:
                            got["ep"] = lb.run_edgeprof(model, work / "ep", prompt=p, gen=g, depth=depth,
                                                        threads=threads, reps=args.reps, nice=args.nice)
                    if not settings_checked:
                        check_settings(got["lb"], got["ep"]["runtime"]["placement"])
                        settings_checked = True
                    lb_rate = lb.median(got["lb"]["samples_ts"])
                    ep_rate, ep_samples = edgeprof_rate(got["ep"], kind)
                    r = {"pair": pair, "test": name, "kind": kind, "n": n, "depth": depth, "order": "-".join(order),
                         "llama_bench_ts": lb_rate, "llama_bench_samples": got["lb"]["samples_ts"],
                         "edgeprof_ts": ep_rate, "edgeprof_samples": ep_samples, "ratio": ep_rate / lb_rate,
                         "ratio_best": max(ep_samples) / max(got["lb"]["samples_ts"]),
                         "edgeprof_harness_cpu_s": got["ep"]["harness_cpu_s"], "edgeprof_case_wall_s": got["ep"]["case_wall_s"],
                         "loadavg": lb.loadavg()}
                    results.append(r)
                    print(f"pair {pair + 1}/{args.pairs} {name:<13} llama-bench {lb_rate:8.1f} t/s  edgeprof {ep_rate:8.1f} t/s"
                          f"  ratio {r['ratio']:.3f}  ({r['order']}, load {r['loadavg']})", flush=True)
        load1 = lb.loadavg()

    print(f"\nedgeprof / llama-bench, {args.pairs} interleaved pairs x {args.reps} reps each, threads={threads}, "
          f"nice {args.nice} (load average {load0} -> {load1})")
    print(f"| test | llama-bench t/s | edgeprof t/s | ratio median | min-max | IQR | best-rep ratio | in {LOW}-{HIGH} |")
    print("|---|---|---|---|---|---|---|---|")
    summary = []
    for kind, n in tests:
        for depth in depths:
            name = f"{kind}{n}" + (f" @ d{depth}" if depth else "")
            rs = [r for r in results if r["test"] == name]
            s = lb.spread([r["ratio"] for r in rs])
            lbm = lb.median([r["llama_bench_ts"] for r in rs])
            epm = lb.median([r["edgeprof_ts"] for r in rs])
            best = lb.median([r["ratio_best"] for r in rs])
            ok = LOW <= s["median"] <= HIGH
            summary.append({"test": name, "llama_bench_ts": lbm, "edgeprof_ts": epm, **s, "ratio_best_median": best,
                            "within_target": ok})
            print(f"| {name} | {lbm:.1f} | {epm:.1f} | {s['median']:.3f} | {s['min']:.3f}-{s['max']:.3f} "
                  f"| {s['q1']:.3f}-{s['q3']:.3f} | {best:.3f} | {'yes' if ok else 'NO'} |")
    print("\nratio = edgeprof median / llama-bench median of one pair; best-rep ratio = fastest repetition / "
          "fastest repetition (other load only ever slows a repetition down, so the fastest is the least disturbed)")
    if args.json:
        args.json.write_text(json.dumps({"started": started, "nice": args.nice, "loadavg_start": load0, "loadavg_end": load1,
                                         "binary": str(binary), "model": str(model), "settings": pl,
                                         "pairs": results, "summary": summary}, indent=1))
        print(f"\nraw figures: {args.json}")
    return 0


def check_settings(lbj: dict, pl: dict) -> None:
    """Print llama-bench's reported settings next to edgeprof's row; flag any mismatch."""
    pairs = [("n_threads", lbj.get("n_threads"), pl["threads"]),
             ("flash_attn", {1: "on", 0: "off", -1: "auto"}.get(lbj.get("flash_attn")), pl["flash_attn"]),
             ("n_batch", lbj.get("n_batch"), pl["n_batch"]), ("n_ubatch", lbj.get("n_ubatch"), pl["n_ubatch"]),
             ("type_k", lbj.get("type_k"), pl["kv_type"]), ("type_v", lbj.get("type_v"), pl["kv_type"]),
             ("repack", "on" if lbj.get("repack") else "off", pl["repack"])]
    print("settings  llama-bench | edgeprof row")
    bad = []
    for name, a, b in pairs:
        same = str(a) == str(b)
        if not same:
            bad.append(name)
        print(f"  {name:<12} {a!s:<12} | {b!s:<12}{'' if same else '   MISMATCH'}")
    # not settings edgeprof exposes; shown so a reader sees they are llama-bench's defaults
    print(f"  {'backends':<12} {lbj.get('backends')!s:<12} | gpu_layers={pl['gpu_layers']}")
    print(f"  {'cpu_mask':<12} {lbj.get('cpu_mask')!s:<12} | cpu_affinity={pl.get('cpu_affinity')} (0x0 = no mask)")
    print(f"  {'poll':<12} {lbj.get('poll')!s:<12} | (no ggml threadpool attached; this build uses OpenMP)")
    if bad:
        print(f"WARNING: settings differ: {', '.join(bad)}")
    print(flush=True)


if __name__ == "__main__":
    sys.exit(main())
