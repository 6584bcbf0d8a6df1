#!/usr/bin/env python
"""What benching over SSH costs: a remote bench over loopback SSH vs the same bench locally.

    python benchmarks/remote_overhead.py                       # 4 interleaved pairs, p64 n128, 3 reps
    python benchmarks/remote_overhead.py --pairs 2 --gen 64    # quick

Both sides run the SAME bench of the default GGUF on this machine: "local" is ``edgeprof bench``
as a user runs it; "remote" is the same bench on a loopback "board" — an ``sshd`` of its own
(tests/fleet/services.py: own host key, own EDGEPROF_HOME, this checkout's edgeprof) — driven
through ``fleet/remote.py`` with every event streamed back, sensor samples included (what the TUI's
live view asks for, at the default 20 Hz). The pairs alternate their order (local/remote,
remote/local, ...), so load from elsewhere hits both alike.

Two figures:
1. decode ratio = remote decode tok/s (median over the case's repetitions) / local, per pair; the
   median over pairs with the range. The remote side adds sshd, the agent writing JSON lines and
   the SSH channel to the machine's load. Target (issue 23): >= 0.98.
2. the event stream's size: bytes per second of the agent's stdout over the run (JSON lines of
   every event, samples included) and events per second.

Needs root (the loopback board logs in as root by key, as the tests do) and openssh-server. Run it
on a quiet machine: the ratio is a timing.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _services():
    spec = importlib.util.spec_from_file_location("services", ROOT / "tests" / "fleet" / "services.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["services"] = mod
    spec.loader.exec_module(mod)
    return mod


def bench_args(a) -> list[str]:
    return ["-p", str(a.prompt), "-n", str(a.gen), "--reps", str(a.reps), "--warmup", "1", "--min-seconds", "0",
            "-t", str(a.threads), "--idle-seconds", "1"]


def decode(run_dir: Path) -> float:
    rec = json.loads((run_dir / "records.jsonl").read_text().splitlines()[0])
    assert rec["status"] == "ok", rec.get("error")
    return float(rec["metrics"]["decode_tokens_per_s"]["median"])


def local(model: Path, a, out: Path, home: Path) -> float:
    env = dict(os.environ, EDGEPROF_HOME=str(home), PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "edgeprof", "bench", str(model), *bench_args(a), "--out", str(out), "-q",
                    "-o", "jsonl"], env=env, check=True, stdout=subprocess.DEVNULL)
    return decode(out)


def remote(model: Path, a, out: Path, board, laptop: Path) -> tuple[float, int, float, int]:
    """(decode tok/s, stream bytes, stream seconds, events) of one remote bench."""
    from edgeprof.engine.fanout import Fanout
    from edgeprof.fleet.remote import BoardSpec, RemoteRun
    from edgeprof.fleet.ssh import SshOptions, Target

    ssh = SshOptions(identity=(str(laptop / ".ssh" / "id_ed25519"),), known_hosts=str(laptop / ".ssh" / "known_hosts"))
    count = {"n": 0, "t0": None, "t1": None}

    def seen(e) -> None:
        count["n"] += 1
        now = time.monotonic()
        count["t0"] = count["t0"] or now
        count["t1"] = now

    run = RemoteRun(BoardSpec("loopback", Target.parse(board.target), ssh), out, argv=bench_args(a),
                    models=[str(model)], fanout=Fanout([seen]), samples=True)
    ended = asyncio.run(run.run())
    assert ended.state == "done", ended
    return decode(out), run.bytes_in, (count["t1"] or 0) - (count["t0"] or 0), count["n"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--prompt", type=int, default=64)
    p.add_argument("--gen", type=int, default=128)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--work", default=None, help="working directory (default: a temporary one)")
    a = p.parse_args()
    services = _services()
    from edgeprof.models import catalogue

    work = Path(a.work or tempfile.mkdtemp(prefix="edgeprof-remote-"))
    test_home = Path(os.environ.get("EDGEPROF_TEST_HOME", Path.home() / ".cache" / "edgeprof-test"))
    model = catalogue.ensure(catalogue.get("smollm2-135m-instruct"), test_home / "models")
    laptop = work / "laptop"
    (laptop / ".ssh").mkdir(parents=True, exist_ok=True)
    key = laptop / ".ssh" / "id_ed25519"
    if not key.exists():
        services.keygen(key, "laptop")
    board = services.Board("loopback", work / "board").setup(key.with_suffix(".pub"), test_home / "devices")
    services.laptop_home(laptop, [board])
    home = work / "local-home"
    if (test_home / "devices").is_dir():
        import shutil

        shutil.copytree(test_home / "devices", home / "devices", dirs_exist_ok=True)
    board.start()
    ratios, rates, eps = [], [], []
    try:
        # the model is sent to the board once, before any timed pair
        remote(model, argparse.Namespace(**{**vars(a), "reps": 1, "gen": 8, "prompt": 8}), work / "warm", board, laptop)
        for i in range(a.pairs):
            order = ("local", "remote") if i % 2 == 0 else ("remote", "local")
            got = {}
            for side in order:
                out = work / f"{side}-{i}"
                if side == "local":
                    got["local"] = local(model, a, out, home)
                else:
                    got["remote"], nbytes, secs, n = remote(model, a, out, board, laptop)
                    if secs > 0:
                        rates.append(nbytes / secs)
                        eps.append(n / secs)
            ratios.append(got["remote"] / got["local"])
            print(f"pair {i + 1} ({'/'.join(order)}): local {got['local']:.2f} tok/s, remote {got['remote']:.2f} "
                  f"tok/s, ratio {ratios[-1]:.3f}", flush=True)
    finally:
        board.stop()
    print(f"\ndecode ratio remote/local: median {statistics.median(ratios):.3f} over {len(ratios)} pairs "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f}); target >= 0.98")
    if rates:
        print(f"event stream (samples on, 20 Hz): median {statistics.median(rates) / 1024:.1f} KiB/s, "
              f"{statistics.median(eps):.0f} events/s")
    kept = f"work dir {work}" if a.work else "work dir removed (--work DIR keeps one)"
    print(f"machine: {os.cpu_count()} logical cores, load average {os.getloadavg()[0]:.2f}; {kept}")
    if not a.work:   # the board's store holds a copy of the model (~100 MB): not left in /tmp per run
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
