#!/usr/bin/env python
"""Attack edgeprof as a hostile user would (issue 12) and tally the outcome: 120 attempts.

    python benchmarks/attack.py --work /tmp/edgeprof-attack        # ~10 min on 2 cores
    python benchmarks/attack.py --only flags,onnx                   # some categories

Categories (count), those of the issue's 114 attempts and a few more: broken GGUFs (7), mutated
GGUFs (43: the real SmolLM2 with 1-4 header bytes changed, 8 of them benched in a list after the
good model), hostile ONNX (14), forged export manifests (4), hostile HF directories (12), kills
(10: kill -9 of worker and of parent, SIGTERM, Ctrl-C, each parent kill then --resume, two
resumes at once, a torn record), full disks (2), read-only or impossible outputs (5), vanished
sensors (2), absurd flags (21); ``issue21`` (attack_issue21.py) and ``scale`` (attack_scale.py: a
300,000-row reference import, then a bench whose time is bounded and which never opens the rows).

Every attempt is judged by the same rules: no traceback anywhere; the exit status CONTRACTS
allows; a refusal is exactly one ``edgeprof: error:`` line that names a fix, and a refused
command leaves no run directory; records.jsonl is valid JSONL with no case twice, and after a
resume every case of the plan exactly once. A canary folder beside the hostile models is watched
with inotify for the whole attack: any file opened there is a read outside a model directory.
Writes ``attack.json`` (every attempt, its command, verdict and problems) into ``--work``.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import attack_inputs as inputs  # noqa: E402
from attack_scenarios import SCENARIOS  # noqa: E402

FIXES = ("pass ", "re-export", "re-download", "drop ", "start a new run", "remove", "copy", "convert", "wait for",
         "free space", "check ", "update", "name a directory", "restore", "point it", "give ", "use ", "--help",
         "run:", "unset it", "re-create", "repair", "replace")


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod



def _terminal_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)

class Attack:
    def __init__(self, work: Path, gguf: Path):
        self.work, self.gguf = work, gguf
        self.home = work / "home"
        self.outside = work / "outside"
        self.results: list[dict] = []
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), EDGEPROF_HOME=str(self.home),
                        EDGEPROF_HISTORY=str(self.home / "history.sqlite"))
        self.fast = ["-p", "8", "-n", "4", "--reps", "1", "--warmup", "0", "--min-seconds", "0",
                     "--idle-seconds", "0.2", "-t", "1", "--timeout", "60"]
        self._n = 0

    def run_dir(self) -> Path:
        self._n += 1
        return self.work / "runs" / f"r{self._n:03d}"

    def cli(self, *args, env: dict | None = None, timeout: float = 300) -> dict:
        cmd = [sys.executable, "-m", "edgeprof", *map(str, args)]
        try:
            r = subprocess.run(cmd, env={**self.env, **(env or {})}, capture_output=True, text=True, timeout=timeout)
            return {"cmd": _show(args), "rc": r.returncode, "stdout": r.stdout, "stderr": r.stderr}
        except subprocess.TimeoutExpired as exc:
            return {"cmd": _show(args), "rc": "timeout", "stdout": str(exc.stdout or ""), "stderr": str(exc.stderr or "")}

    def popen(self, *args) -> subprocess.Popen:
        # a terminal's defaults for Ctrl-C and a hang-up: this script run in a background job or under
        # nohup would hand them down ignored, and edgeprof keeps a stop signal its caller ignores ignored
        return subprocess.Popen([sys.executable, "-m", "edgeprof", *map(str, args)], env=self.env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                                preexec_fn=_terminal_signals)

    # -- judging -----------------------------------------------------------------------------
    def judge(self, category: str, name: str, res: dict, rcs: tuple, run: Path | None = None,
              complete: bool = False, extra: list[str] | None = None) -> bool:
        problems = list(extra or [])
        text = res.get("stdout", "") + res.get("stderr", "")
        if "Traceback" in text:
            problems.append("traceback")
        if res.get("rc") not in rcs:
            problems.append(f"exit {res.get('rc')} not in {rcs}")
        errors = [x for x in res.get("stderr", "").splitlines() if re.match(r"edgeprof( [a-z]+)?: error:", x)]
        if res.get("rc") == 2 or (res.get("rc") == 1 and errors):
            if len(errors) != 1:
                problems.append(f"{len(errors)} error lines")
            elif not any(f in errors[0] for f in FIXES):
                problems.append("the error names no fix")
        if res.get("rc") == 2 and run is not None and run.exists():
            problems.append("a refused command created its run directory")
        if run is not None and (run / "records.jsonl").exists():
            problems += check_records(run, complete)
        self.results.append({"category": category, "name": name, "cmd": res.get("cmd"), "rc": res.get("rc"),
                             "ok": not problems, "problems": problems, "error": errors[0] if errors else None})
        mark = "ok  " if not problems else "FAIL"
        print(f"{mark} [{category}] {name}: exit {res.get('rc')}" + (f" — {'; '.join(problems)}" if problems else ""),
              flush=True)
        return not problems

    def bench_model(self, category: str, name: str, model: Path, rcs=(2,)) -> None:
        run = self.run_dir()
        self.judge(category, name, self.cli("bench", model, *self.fast, "--out", run), rcs, run)


def check_records(run: Path, complete: bool) -> list[str]:
    raw = (run / "records.jsonl").read_bytes()
    if raw and not raw.endswith(b"\n"):
        return ["records.jsonl ends in a torn line"]
    try:
        ids = [json.loads(x)["case_id"] for x in raw.splitlines() if x.strip()]
    except (ValueError, KeyError) as exc:
        return [f"records.jsonl invalid ({exc})"]
    out = [] if len(ids) == len(set(ids)) else ["a case recorded twice"]
    if complete:
        plan = {c["case_id"] for c in json.loads((run / "plan.json").read_text())["cases"]}
        if set(ids) != plan:
            out.append(f"{len(plan - set(ids))} case(s) of the plan missing")
    return out


def _show(args) -> str:
    return "edgeprof " + " ".join(str(a) for a in args)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/edgeprof-attack"))
    ap.add_argument("--only", default="", help="comma list of categories (default all)")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (mutated copies are 98 MB each)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from edgeprof.models import catalogue

    gguf = catalogue.ensure(catalogue.get("smollm2-135m-instruct"))
    if args.work.exists():
        shutil.rmtree(args.work)
    args.work.mkdir(parents=True)
    a = Attack(args.work, gguf)
    inputs.canary(a.outside)
    opens = _load("opens", ROOT / "tests" / "faults" / "opens.py")
    only = {x for x in args.only.split(",") if x}
    t0 = time.monotonic()
    with opens.OpenWatch(a.outside) as watch:
        for cat, fn in SCENARIOS.items():
            if not only or cat in only:
                fn(a)
        watch.drain()
    outside = sorted({p for p in watch.opened if p != str(a.outside)})
    total, ok = len(a.results), sum(r["ok"] for r in a.results)
    by_cat: dict[str, list[int]] = {}
    for r in a.results:
        by_cat.setdefault(r["category"], [0, 0])
        by_cat[r["category"]][0] += r["ok"]
        by_cat[r["category"]][1] += 1
    print("\n| category | passed |\n|---|---:|")
    for c, (p, n) in by_cat.items():
        print(f"| {c} | {p}/{n} |")
    tracebacks = sum("traceback" in r["problems"] for r in a.results)
    print(f"\n{ok}/{total} attempts held; tracebacks: {tracebacks}; files opened outside a model directory: "
          f"{len(outside)} {outside if outside else ''}; {time.monotonic() - t0:.0f} s")
    (args.work / "attack.json").write_text(json.dumps({"results": a.results, "outside_opened": outside,
                                                       "held": ok, "total": total}, indent=1))
    if not args.keep:
        for p in args.work.glob("mut-*.gguf"):
            p.unlink()
    return 0 if ok == total and not outside else 1


if __name__ == "__main__":
    sys.exit(main())
