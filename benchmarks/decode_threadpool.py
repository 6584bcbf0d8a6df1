#!/usr/bin/env python
"""The decode step with the attached ggml threadpool (what edgeprof does now, as llama-bench does)
against ggml's disposable pool per graph (what llama-cpp-python does by itself), in ONE process on
one context, in alternating blocks (A B, B A, ...), so load and cache state hit both alike.

    python benchmarks/decode_threadpool.py -t $(nproc) --blocks 20 --tokens 64

Prints per block tokens/s and the median of the per-round ratios attached / disposable with its
IQR. On a ggml built with OpenMP (Linux wheels: ``OPENMP = 1`` in the system info printed first)
both run the graph in an OpenMP team and the ratio is expected near 1; without OpenMP (macOS,
many ARM builds) the disposable pool starts and joins ``threads - 1`` OS threads per token.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import _llamabench as lb  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=None, help="GGUF (default: the default model)")
    ap.add_argument("-t", "--threads", type=int, default=2)
    ap.add_argument("--blocks", type=int, default=20, help="rounds; each times both modes once (default 20)")
    ap.add_argument("--tokens", type=int, default=64, help="decode steps per block (default 64)")
    args = ap.parse_args(argv)
    from edgeprof.runtimes.base import Placement
    from edgeprof.runtimes.llamacpp import LlamaCppEngine

    model = args.model or lb.default_model()
    e = LlamaCppEngine(str(model), Placement(threads=args.threads), args.tokens + 64)
    if not e.pool.attached:
        print(f"SKIP: {e.pool.note}")
        return 0
    print(e.info.extra["system_info"].splitlines()[0][:200])
    print(f"model {model}, threads {args.threads}, {args.blocks} rounds x {args.tokens} tokens, load {lb.loadavg()}")
    ctx = e.ctx.ctx

    def block(attached: bool) -> float:
        (e.pool.attach if attached else e.pool.detach)(ctx)
        e.reset()
        tok = e.prefill(e.tokenize("The quick brown fox"))
        t0 = time.perf_counter_ns()
        for _ in range(args.tokens):
            tok = e.decode(tok)
        return args.tokens / ((time.perf_counter_ns() - t0) / 1e9)

    block(True), block(False)  # warm both
    ratios = []
    for r in range(args.blocks):
        order = (True, False) if r % 2 == 0 else (False, True)
        got = {mode: block(mode) for mode in order}
        ratios.append(got[True] / got[False])
        print(f"round {r + 1:2d}: attached {got[True]:7.1f} t/s  disposable {got[False]:7.1f} t/s  "
              f"ratio {ratios[-1]:.3f}", flush=True)
    e.pool.attach(ctx)
    e.close()
    s = lb.spread(ratios)
    print(f"\nattached / disposable: median {s['median']:.3f}  IQR {s['q1']:.3f}-{s['q3']:.3f}  "
          f"min-max {s['min']:.3f}-{s['max']:.3f}  ({args.blocks} rounds, load {lb.loadavg()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
