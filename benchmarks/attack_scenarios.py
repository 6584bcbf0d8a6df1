"""The attempts of ``benchmarks/attack.py``, one function per category; each calls ``a.judge``
once per attempt. See attack.py for the rules every attempt is judged by."""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import attack_inputs as inputs
from attack_issue21 import issue21
from attack_scale import scale

ROOT = Path(__file__).resolve().parents[1]


def _wait_records(run: Path, n: int, timeout: float = 180) -> None:
    rec, deadline = run / "records.jsonl", time.monotonic() + timeout
    while time.monotonic() < deadline and not (rec.exists() and rec.read_bytes().count(b"\n") >= n):
        time.sleep(0.05)


def broken_gguf(a) -> None:
    for name in inputs.BROKEN_GGUF:
        a.bench_model("broken GGUF", name, inputs.BAD / name)


def mutated_gguf(a) -> None:
    for seed in range(43):
        m = inputs.mutated_gguf(a.gguf, a.work / f"mut-{seed:02d}.gguf", seed)
        run = a.run_dir()
        if seed < 35:  # -o json: a native abort's output ([New LWP ...]) must not land on stdout (issue 21)
            res = a.cli("bench", m, *a.fast, "--out", run, "-o", "json")
            bad = _json_stdout(res)  # valid JSON: its rows' own 'traceback' fields are data, not a crash of ours
            a.judge("mutated GGUF", f"seed {seed}", res if bad else {**res, "stdout": ""}, (0, 1, 2), run, extra=bad)
        else:  # in a list after the good model: the good row must survive whatever the mutant does
            res = a.cli("bench", a.gguf, m, *a.fast, "--out", run)
            extra = []
            if (run / "records.jsonl").exists():
                first = json.loads((run / "records.jsonl").read_text().splitlines()[0])
                extra = [] if first["status"] == "ok" else ["the good model's row is not ok"]
            else:
                extra = ["the good model was not benched"]
            a.judge("mutated GGUF", f"seed {seed} in a list", res, (0, 1), run, complete=True, extra=extra)
        m.unlink()


def _json_stdout(res: dict) -> list[str]:
    if res.get("rc") not in (0, 1):
        return []
    try:
        json.loads(res.get("stdout") or "")
        return []
    except ValueError:
        return ["-o json on stdout is not JSON (the worker's output reached it?)"]


def onnx(a) -> None:
    for name, make in inputs.onnx_attacks(a.work, a.outside).items():
        a.bench_model("hostile ONNX", name, make())


def manifests(a) -> None:
    for name, make in inputs.manifest_attacks(a.work, a.outside).items():
        a.bench_model("forged manifest", name, make())


def hf_dirs(a) -> None:
    for name, make in inputs.hf_attacks(a.work, a.outside).items():
        a.bench_model("hostile HF dir", name, make())


def kills(a) -> None:
    args = [a.gguf, *a.fast, "-n", "16,17,18", "--reps", "2"]
    # 1. SIGKILL the worker in the middle of case 2: a failed row, and the sweep goes on
    run = a.run_dir()
    p = a.popen("bench", *args, "--out", run)
    _wait_records(run, 1)
    import psutil

    kids = []
    while p.poll() is None and not kids:
        kids = [c for c in psutil.Process(p.pid).children() if "spawn" in " ".join(c.cmdline())]
        time.sleep(0.02)
    time.sleep(0.3)
    for c in kids:
        c.kill()
    out, err = p.communicate(timeout=300)
    recs = [json.loads(x) for x in (run / "records.jsonl").read_text().splitlines()]
    killed = [r for r in recs if r["status"] == "failed" and (r["error"] or {}).get("signal") == "SIGKILL"]
    a.judge("kills", "kill -9 the worker", {"cmd": "bench ... (kill -9 worker)", "rc": p.returncode, "stdout": out,
                                             "stderr": err}, (1,), run, complete=True,
            extra=[] if len(killed) == 1 else ["the killed case is not a SIGKILL failed row"])
    # 2-4. SIGKILL / SIGTERM the parent, SIGINT the process group; then resume. SIGTERM stops like
    # Ctrl-C (exit 130, the rows and the resume command); SIGKILL cannot be caught.
    for sig, label, rcs in ((signal.SIGKILL, "kill -9 the parent", (-9,)), (signal.SIGTERM, "SIGTERM the parent", (130,)),
                            (signal.SIGINT, "Ctrl-C (SIGINT to the group)", (130,))):
        run = a.run_dir()
        p = a.popen("bench", *args, "--out", run)
        _wait_records(run, 1)
        time.sleep(0.3)
        (os.killpg if sig == signal.SIGINT else os.kill)(p.pid, sig)
        out, err = p.communicate(timeout=120)
        extra = []
        if sig != signal.SIGKILL and f"edgeprof bench --resume {run}" not in err:
            extra.append("no resume command shown")
        a.judge("kills", label, {"cmd": f"bench ... ({label})", "rc": p.returncode, "stdout": out, "stderr": err},
                rcs, run, extra=extra + _orphans())
        a.judge("kills", label + ", then --resume", a.cli("bench", "--resume", run), (0,), run, complete=True)
    # 5. two resumes at once
    run = a.run_dir()
    p = a.popen("bench", *args, "--out", run)
    _wait_records(run, 1)
    os.kill(p.pid, signal.SIGKILL)
    p.communicate()
    first = a.popen("bench", "--resume", run)
    lock = run / ".edgeprof.lock"
    while first.poll() is None and not (lock.exists() and lock.read_text().startswith(f"{first.pid} ")):
        time.sleep(0.02)
    second = a.cli("bench", "--resume", run)
    first.communicate(timeout=300)
    a.judge("kills", "two --resume at once", second, (1,), run,
            extra=[] if f"pid {first.pid}" in second["stderr"] else ["the refusal does not name the holder"])
    a.judge("kills", "... and the first resume finishes", {"rc": first.returncode, "cmd": "bench --resume"}, (0,),
            run, complete=True)
    # 6. a torn last record, then resume
    run = a.run_dir()
    res = a.cli("bench", *args, "--out", run)
    raw = (run / "records.jsonl").read_bytes()
    (run / "records.jsonl").write_bytes(raw[:-3000])
    a.judge("kills", "torn last record, then --resume", a.cli("bench", "--resume", run), (0,), run, complete=True,
            extra=[] if res["rc"] == 0 and (run / "records.jsonl.torn").exists() else ["torn tail not kept aside"])


def _orphans() -> list[str]:
    import psutil

    time.sleep(1.5)
    found = [p.pid for p in psutil.process_iter(["cmdline"])
             if "multiprocessing.spawn" in " ".join(p.info["cmdline"] or []) and p.ppid() == 1]
    return [f"orphan workers {found}"] if found else []


def disks(a) -> None:
    """Full and read-only disks need a private mount namespace (tests/faults/fullfs_driver.py)."""
    base = a.work / "mnt"
    base.mkdir()
    probe = "d=$(mktemp -d) && mount -t tmpfs -o size=4k tmpfs $d && umount $d"
    prefix = next((p for p in (["unshare", "-m"], ["unshare", "-Urm"])
                   if shutil.which("unshare") and subprocess.run([*p, "sh", "-c", probe]).returncode == 0), None)
    if prefix is None:
        print("skip [full disks] no mount namespace here", flush=True)
        return
    r = subprocess.run([*prefix, sys.executable, str(ROOT / "tests/faults/fullfs_driver.py"), str(base), str(a.gguf)],
                       env=a.env, capture_output=True, text=True, timeout=900)
    res = json.loads(r.stdout)
    for where in ("records", "samples"):
        x = res[where]
        kept = [json.loads(line) for line in x["kept"].splitlines()]
        a.judge("full disk", f"ENOSPC while writing {where}", {**x, "cmd": f"bench on a full tmpfs ({where})"}, (1,),
                extra=[] if kept and "--resume" in x["stderr"] else ["nothing kept or no resume command"])
        final = {json.loads(line)["case_id"] for line in x["final"].splitlines()}
        if final != {c["case_id"] for c in x["plan"]["cases"]} or x["final"].count("\n") != len(final):
            a.results[-1]["ok"] = False
            a.results[-1]["problems"].append("resume after freeing space did not give every case once")
    a.judge("read-only output", "--out on a read-only tmpfs", {**res["readonly"], "cmd": "bench --out RO/run"}, (2,),
            extra=["run directory created"] if res["readonly"]["created"] else [])


def outputs(a) -> None:
    f = a.work / "a-file"
    f.write_text("x")
    for label, out in (("--out under /proc", "/proc/edgeprof-x"), ("--out under /sys", "/sys/edgeprof-x"),
                       ("--out naming a file", f), ("--out below a file", f / "run")):
        a.judge("read-only output", label, a.cli("bench", a.gguf, *a.fast, "--out", out), (2,))


def sensors(a) -> None:
    spec = importlib.util.spec_from_file_location("fx_boards", ROOT / "tests/fixtures/boards.py")
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    for label, when in (("RAPL energy_uj removed mid-case", "mid"), ("RAPL energy_uj removed between cases", "between")):
        root = fx.build(a.work / f"sys-{when}", "rapl-2socket")
        energy = root / "sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/energy_uj"
        run, stop = a.run_dir(), threading.Event()

        def advance(root=root, energy=energy, run=run, when=when) -> None:
            """RAPL counters move (20 W + 10 W); the file goes 1.5 s into the first case ("mid") or
            once the first record is written ("between")."""
            t0 = time.monotonic()
            while not stop.wait(0.01):
                gone = _after(run / "baseline.json", 1.5) if when == "mid" else (run / "records.jsonl").exists()
                if gone:
                    energy.unlink(missing_ok=True)
                    return
                el = time.monotonic() - t0
                fx.set_energy(root, "intel-rapl:0", int(5e6 + 20e6 * el))
                fx.set_energy(root, "intel-rapl:1", int(7e6 + 10e6 * el))

        th = threading.Thread(target=advance, daemon=True)
        th.start()
        res = a.cli("bench", a.gguf, *a.fast, "-n", "48,49", "--reps", "3", "--out", run,
                    env={"EDGEPROF_SYSROOT": str(root)})
        stop.set()
        recs = [json.loads(x) for x in (run / "records.jsonl").read_text().splitlines()] if run.exists() else []
        silent = [r["case_id"][:8] for r in recs if "energy_per_token_j" not in r["metrics"]
                  and not any("vanished" in w or "no reading" in w for w in r["warnings"])]
        told = any("vanished" in w or "no reading" in w for r in recs for w in r["warnings"])
        a.judge("vanished sensor", label, res, (0,), run, complete=True,
                extra=([f"energy silently missing in {silent}"] if silent else []) + ([] if told else ["no warning"]))


def _after(path: Path, seconds: float) -> bool:
    """True once ``path`` exists and was written more than ``seconds`` ago."""
    try:
        return time.time() - path.stat().st_mtime > seconds
    except OSError:
        return False


def flags(a) -> None:
    m = a.gguf
    done = a.work / "done-run"
    a.cli("bench", m, *a.fast, "--out", done)
    cases = [("-p -1", [m, "-p", "-1"]), ("-n -5", [m, "-n", "-5"]), ("--reps 0", [m, "--reps", "0"]),
             ("-t 0", [m, "-t", "0"]), ("--sample-hz nan", [m, "--sample-hz", "nan"]),
             ("--sample-hz inf", [m, "--sample-hz", "inf"]), ("--max-rss 0", [m, "--max-rss", "0"]),
             ("--max-rss lots", [m, "--max-rss", "lots"]), ("--timeout 0", [m, "--timeout", "0"]),
             ("--min-seconds nan", [m, "--min-seconds", "nan"]), ("-p 0 -n 0", [m, "-p", "0", "-n", "0"]),
             ("--retry-failed alone", [m, "--retry-failed"]), ("--resume with a MODEL", ["--resume", done, m]),
             ("--resume a missing dir", ["--resume", a.work / "nowhere"]), ("--n-batch 0", [m, "--n-batch", "0"]),
             ("--cooldown inf", [m, "--cooldown", "inf"]), ("--idle-seconds -1", [m, "--idle-seconds", "-1"]),
             ("--max-rss with --sample-hz 0", [m, "--max-rss", "1G", "--sample-hz", "0"])]
    for label, args in cases:
        run = a.run_dir()
        a.judge("absurd flags", label, a.cli("bench", *args, "--out", run) if "--resume" not in map(str, args)
                else a.cli("bench", *args), (2,), run)
    run = a.run_dir()
    a.judge("absurd flags", "EDGEPROF_SYSROOT=/nonexistent",
            a.cli("bench", m, *a.fast, "--out", run, env={"EDGEPROF_SYSROOT": "/nonexistent"}), (2,), run)
    run = a.run_dir()
    res = a.cli("bench", m, *a.fast, "--depth", "100000", "--timeout", "15", "--out", run)
    a.judge("absurd flags", "--depth 100000 --timeout 15 (a failed row, not a hang)", res, (1,), run, complete=True,
            extra=[] if "--timeout 15" in (run / "records.jsonl").read_text() else ["not a timeout row"])
    run = a.run_dir()
    res = a.cli("bench", m, *a.fast, "--sample-hz", "1e6", "--out", run)
    a.judge("absurd flags", "--sample-hz 1e6 (capped, with a warning)", res, (0,), run, complete=True,
            extra=[] if "capped at 200" in res["stdout"] + res["stderr"] else ["no warning about the cap"])


SCENARIOS = {"broken": broken_gguf, "mutated": mutated_gguf, "onnx": onnx, "manifests": manifests, "hf": hf_dirs,
             "kills": kills, "disks": disks, "outputs": outputs, "sensors": sensors, "flags": flags,
             "issue21": issue21, "scale": scale}
