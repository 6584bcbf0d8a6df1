"""Harness overhead: decode tok/s reported by ``edgeprof bench`` vs a bare llama-cpp-python loop on
the same GGUF with the same settings, alternated A/B in one run (target >= 0.99).

The bare loop is the least a Python user can write: llama-cpp-python's low-level API, the same
context settings edgeprof resolves (threads, flash attention, batch sizes, repack), a KV clear,
prefill, then a greedy decode loop timed with perf_counter. It runs in a fresh process per
repetition, as edgeprof's worker does.

    python benchmarks/harness_overhead.py [MODEL.gguf] [--pairs 5] [-p 128] [-n 128] [-t 2]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BARE = r'''
import sys, time, json, numpy as np, llama_cpp
from llama_cpp import _internals as I
path, p, n, t, fa, repack, reps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "on", int(sys.argv[7])
_quiet = llama_cpp.llama_log_callback(lambda *a: None)  # keep a reference: C holds the pointer
llama_cpp.llama_log_set(_quiet, None)
mp = llama_cpp.llama_model_default_params(); mp.use_extra_bufts = repack
m = I.LlamaModel(path_model=path, params=mp, verbose=False)
cp = llama_cpp.llama_context_default_params()
cp.n_ctx = p + n + 16; cp.n_batch = 2048; cp.n_ubatch = 512; cp.n_threads = cp.n_threads_batch = t; cp.flash_attn_type = fa
ctx = I.LlamaContext(model=m, params=cp, verbose=False)
b = I.LlamaBatch(n_tokens=2048, embd=0, n_seq_max=1, verbose=False)
text = open(sys.argv[8]).read()
toks = m.tokenize(text.encode(), add_bos=False, special=False)[:p]
nv = llama_cpp.llama_vocab_n_tokens(m.vocab)
rates = []
for r in range(reps + 1):
    ctx.kv_cache_clear()
    b.set_batch(batch=toks, n_past=0, logits_all=False); ctx.decode(b)
    tok = int(np.ctypeslib.as_array(ctx.get_logits_ith(-1), shape=(nv,)).argmax())
    t0 = time.perf_counter()
    for i in range(n - 1):
        b.set_batch(batch=[tok], n_past=p + i, logits_all=False); ctx.decode(b)
        tok = int(np.ctypeslib.as_array(ctx.get_logits_ith(-1), shape=(nv,)).argmax())
    if r:  # the first pass is the warm-up, as edgeprof's --warmup 1
        rates.append((n - 1) / (time.perf_counter() - t0))
print(json.dumps(rates))
'''


def edgeprof_run(model: str, p: int, n: int, t: int, reps: int, hz: float, home: Path) -> tuple[list[float], dict]:
    out = Path(tempfile.mkdtemp(prefix="ep-overhead-"))
    env = dict(os.environ, EDGEPROF_HOME=str(home))
    cmd = [sys.executable, "-m", "edgeprof", "bench", model, "-p", str(p), "-n", str(n), "-t", str(t),
           "--reps", str(reps), "--warmup", "1", "--min-seconds", "0", "--idle-seconds", "0.5",
           "--sample-hz", str(hz), "--out", str(out / "r"), "-o", "json", "-q"]
    rec = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout)[0]
    return rec["metrics"]["decode_tokens_per_s"]["samples"], rec


def bare_run(model: str, p: int, n: int, t: int, reps: int, fa: int, repack: str, text: Path) -> list[float]:
    out = subprocess.run([sys.executable, "-c", BARE, model, str(p), str(n), str(t), str(fa), repack, str(reps), str(text)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=None, help="GGUF path (default: the catalogue default model)")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("-p", type=int, default=128)
    ap.add_argument("-n", type=int, default=128)
    ap.add_argument("-t", type=int, default=None)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sample-hz", type=float, default=20.0)
    a = ap.parse_args()
    from edgeprof.models import catalogue
    from edgeprof.assets_access import asset
    from edgeprof.home import home

    import psutil

    t = a.t or psutil.cpu_count(logical=False) or 1
    model = a.model or str(catalogue.ensure(catalogue.get(catalogue.load()[0])))
    text = asset("prompts", "bench.txt")
    ratios = []
    _, first = edgeprof_run(model, a.p, a.n, t, 1, a.sample_hz, home())  # resolve fa/repack as edgeprof does
    pl = first["runtime"]["placement"]
    fa = {"on": 1, "off": 0}.get(pl["flash_attn"], -1)
    print(f"settings: threads {t}, flash_attn {pl['flash_attn']}, repack {pl['repack']}, "
          f"n_batch {pl['n_batch']}, n_ubatch {pl['n_ubatch']}, -p {a.p} -n {a.n}; load {os.getloadavg()[0]:.2f}")
    for i in range(a.pairs):
        bare = statistics.median(bare_run(model, a.p, a.n, t, a.reps, fa, pl["repack"], text))
        ep = statistics.median(edgeprof_run(model, a.p, a.n, t, a.reps, a.sample_hz, home())[0])
        ratios.append(ep / bare)
        print(f"pair {i + 1}: bare {bare:.1f} tok/s, edgeprof {ep:.1f} tok/s, ratio {ep / bare:.3f}")
    print(f"harness overhead: edgeprof/bare decode tok/s median {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}, {a.pairs} interleaved pairs; target >= 0.99)")


if __name__ == "__main__":
    main()
