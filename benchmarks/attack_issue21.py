"""The attempts of issue 21 for ``benchmarks/attack.py`` (one category per item of the issue): the
42 that did not hold when it was filed, and their neighbours. Each calls ``a.judge`` once per
attempt, by the rules attack.py states, plus the item's own check in ``extra``.

Categories: identity spoof (1), case ids (2), stopped worker (3), pasted commands (4), model pull
(5), broken reference sets (6), worker output (7), tampered plan (8), hostile data (9), formats and
scale (10).
"""
from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRY = "llama-3.2-1b-instruct-q4_k_m"
SPOOF = {"general.name": "Llama 3.2 1B Instruct", "general.basename": "Llama-3.2", "general.size_label": "1B",
         "general.finetune": "Instruct", "general.file_type": 15}
TSV = ROOT / "assets" / "reference" / "localscore" / "localscore_results.tsv"


def _load(name: str, path: Path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def _refdata():
    return _load("refdata", ROOT / "tests" / "reference" / "refdata.py")


def _hub():
    return _load("hubserver", ROOT / "tests" / "reference" / "hubserver.py").HubServer


def _records(run: Path) -> list[dict]:
    f = run / "records.jsonl"
    return [json.loads(x) for x in f.read_text().splitlines() if x.strip()] if f.is_file() else []


def _worker(p: subprocess.Popen, cpu_s: float = 0.0, timeout: float = 240):
    """The bench's worker process once it has used ``cpu_s`` of CPU (loaded and measuring)."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        try:
            kids = [c for c in psutil.Process(p.pid).children() if "spawn" in " ".join(c.cmdline())]
            if kids and sum(kids[0].cpu_times()[:2]) >= cpu_s:
                return kids[0]
        except psutil.Error:
            pass
        time.sleep(0.05)
    return None


def _pasted(line: str, cwd: Path) -> list[str] | None:
    """What bash hands ``edgeprof`` when the printed command is pasted in ``cwd`` (edgeprof: a
    function printing argv); a hint that breaks out of its quotes would run ``touch PWNED`` there."""
    shell = f"edgeprof() {{ {sys.executable} -c 'import json, sys; print(json.dumps(sys.argv[1:]))' \"$@\"; }}\n{line}\n"
    res = subprocess.run(["bash", "--norc", "--noprofile"], input=shell, capture_output=True, text=True, timeout=30,
                         cwd=cwd)
    try:
        return json.loads(res.stdout)
    except ValueError:
        return None


# -- 1. identity ---------------------------------------------------------------------------------
def identity(a) -> None:
    spoof = _refdata().respoof(a.gguf, a.work / "Llama-3.2-1B-Instruct-Q4_K_M.gguf", SPOOF)
    res = a.cli("reference", "show", "localscore", "--model", spoof)
    a.judge("identity spoof", "reference show localscore --model <SmolLM2 claiming Llama 3.2 1B Q4_K_M>", res, (0,),
            extra=[] if "| exact |" not in res["stdout"] and "Llama 3.2 1B Instruct q4_k_m" not in res["stdout"]
            else ["the spoof is shown Llama's rows as its own"])
    run = a.run_dir()
    res = a.cli("bench", spoof, *a.fast, "--out", run, "-o", "json")
    rows = _records(run)
    extra = []
    if not rows or abs((rows[0]["model"].get("params") or 0) - 134515008) > 0.05 * 134515008:
        extra.append("the row's parameter count is not the tensors' 134.5 M")
    elif (rows[0].get("reference") or {}).get("kind") == "exact":
        extra.append("an exact server match for a spoofed name")
    a.judge("identity spoof", "bench the spoofed GGUF", res, (0,), run, complete=True, extra=extra)


# -- 2. case ids ---------------------------------------------------------------------------------
def case_ids(a) -> Path:
    twin = a.work / "twin" / a.gguf.name
    twin.parent.mkdir(exist_ok=True)
    shutil.copyfile(a.gguf, twin)
    run = a.run_dir()
    res = a.cli("bench", a.gguf, twin, *a.fast, "--out", run)
    ids = [c["case_id"] for c in json.loads((run / "plan.json").read_text())["cases"]] if run.exists() else []
    a.judge("case ids", "two byte-identical files in one sweep", res, (0,), run, complete=True,
            extra=[] if len(ids) == 2 and len(set(ids)) == 2 and all(
                (run / "samples" / f"{i}.csv").is_file() for i in ids) else ["the two cases share an id or samples"])
    cut = a.work / "runs" / "twins-cut"
    shutil.copytree(run, cut)
    (cut / "records.jsonl").write_text((run / "records.jsonl").read_text().splitlines()[0] + "\n")
    rep = a.cli("report", cut, "--terminal", "--width", "80")
    a.judge("formats and scale", "report on an interrupted run says cases are missing", rep, (0,),
            extra=[] if "INCOMPLETE: 1 of 2 planned case(s)" in rep["stdout"] else ["no word of the missing case"])
    res = a.cli("bench", "--resume", cut)
    a.judge("case ids", "... killed after the first, then --resume", res, (0,), cut, complete=True,
            extra=[] if "1 of 2 case(s) left" in res["stderr"] else ["resume does not see the second case"])
    return run


# -- 3. a stopped worker -------------------------------------------------------------------------
def stopped(a) -> None:
    run = a.run_dir()
    p = a.popen("bench", a.gguf, *a.fast, "-n", "400", "--reps", "2", "--out", run, "-o", "json")
    w = _worker(p, cpu_s=1.0)
    if w is not None:
        w.suspend()
        time.sleep(30)
        w.resume()
    out, err = p.communicate(timeout=600)
    rows, extra = _records(run), []
    if w is None:
        extra.append("no worker found to stop")
    for r in rows:
        stalled = [x for x in r.get("reps") or [] if x.get("stalls") and not x.get("dropped")]
        if r["status"] == "ok" and (stalled or not any("dropped" in x for x in r.get("reps") or [])):
            extra.append("a plain ok row with the 30 s stop inside its timings")
    a.judge("stopped worker", "SIGSTOP the worker for 30 s mid-repetition", {"cmd": "bench ... (SIGSTOP 30 s)",
            "rc": p.returncode, "stdout": out, "stderr": err}, (0, 1), run, complete=True, extra=extra)


# -- 4. pasted commands ----------------------------------------------------------------------------
def pasted(a) -> None:
    hostile = a.work / "runs" / "it's; touch PWNED $(id) `id`\nnext line"
    p = a.popen("bench", a.gguf, *a.fast, "-n", "64,65,66", "--reps", "2", "--out", hostile)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not _records(hostile):
        time.sleep(0.1)
    os.kill(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=120)
    want = ["bench", "--resume", str(hostile)]
    line = next((x.split("finish the run with: ", 1)[1] for x in err.splitlines() if "finish the run with: " in x), "")
    a.judge("pasted commands", "the resume hint of a run named with ' ; $() ` and a newline",
            {"cmd": "bench --out <hostile> (Ctrl-C)", "rc": p.returncode, "stdout": out, "stderr": err}, (130,),
            extra=[] if _pasted(line, a.work) == want else [f"pasted, not one path: {line!r}"])
    res = a.cli("bench", a.gguf, *a.fast, "--out", hostile)
    hint = res["stderr"].split("finish it with: ", 1)[-1].strip()
    a.judge("pasted commands", "... 'already holds a run' hint for the same --out", res, (2,),
            extra=[] if _pasted(hint, a.work) == want else [f"pasted, not one path: {hint!r}"])
    done = a.cli("bench", "--resume", hostile)
    a.judge("pasted commands", "... the resumed run finishes, and no pasted hint ran a command", done, (0,), hostile,
            complete=True, extra=["a pasted hint ran 'touch PWNED'"] if (a.work / "PWNED").exists() else [])


# -- 5. model pull -------------------------------------------------------------------------------
def pull(a) -> None:
    from edgeprof.models import catalogue

    e = catalogue.get(ENTRY)
    key = f"{e.raw['repo']}/resolve/{e.raw['revision']}/{e.raw['file']}"
    body = a.gguf.read_bytes()
    folder = a.home / "models" / ENTRY
    for label, setup, rcs in (
            ("a 10 TB body announced (more than the free disk)", {"announce": 10 * 10**12}, (2,)),
            (f"a redirect to file://{a.outside}/secret.gguf", {"redirect": f"file://{a.outside}/secret.gguf"}, (1,)),
            ("an ETag of zeros with another model's body", {"etag": "0" * 64}, (1, 2))):
        shutil.rmtree(folder, ignore_errors=True)
        with _hub()({key: body}) as srv:
            for k, v in setup.items():
                setattr(srv, k, v)
            res = a.cli("models", "pull", ENTRY, env={"HF_ENDPOINT": srv.url, "HF_HOME": str(a.work / "hf-home")})
        kept = [p.name for p in folder.rglob("*") if p.is_file() and p.suffix in (".gguf", ".json", ".incomplete")] \
            if folder.exists() else []
        a.judge("model pull", label, res, rcs, extra=[f"left behind: {kept}"] if kept else [])


# -- 6. broken reference sets ----------------------------------------------------------------------
def broken_sets(a) -> None:
    ref = a.home / "reference"
    bad = ref / "broken"
    bad.mkdir(parents=True, exist_ok=True)
    (bad / "reference.json").write_text(json.dumps({"name": "broken"}))
    (bad / "records.jsonl").write_text("{not json\n{\"case_id\": 1}\n")  # invalid before its last line
    res = a.cli("reference", "list", "-o", "json")
    try:
        names = {r["name"] for r in json.loads(res["stdout"])["rows"]}
    except (ValueError, KeyError, TypeError):
        names = set()
    warned = [x for x in res["stderr"].splitlines() if "broken" in x]
    a.judge("broken reference sets", "one malformed user set among the packaged ones", res, (0,),
            extra=([] if {"localscore", "efficientllm-gh200"} <= names and "broken" not in names else
                   ["the packaged sets were switched off"]) + ([] if len(warned) == 1 else ["not one warning naming it"]))
    nl = ref / "newline"
    nl.mkdir(exist_ok=True)
    shutil.copy(ROOT / "tests" / "fixtures" / "report" / "matrix" / "records.jsonl", nl / "records.jsonl")
    (nl / "reference.json").write_text(json.dumps({"name": "two\nlines | and a pipe"}))
    res = a.cli("reference", "list", "-o", "md")
    body = [x for x in res["stdout"].splitlines() if x.startswith("| ") and "---" not in x][1:]
    a.judge("formats and scale", "a newline in a set name (-o md)", res, (0,),
            extra=[] if all(x.rstrip().endswith("|") for x in body) and not any(
                x.startswith("| lines") or x.startswith("lines") for x in res["stdout"].splitlines())
            else ["the set's row is split"])
    shutil.rmtree(bad)
    shutil.rmtree(nl)


# -- 7. worker output ------------------------------------------------------------------------------
def worker_output(a) -> None:
    run = a.run_dir()
    p = a.popen("bench", a.gguf, *a.fast, "-n", "2000", "--out", run, "-o", "json")
    w = _worker(p, cpu_s=2.0)  # loaded and decoding: faulthandler is armed
    if w is not None:
        w.send_signal(signal.SIGSEGV)
    out, err = p.communicate(timeout=300)
    extra = []
    try:
        (row,) = json.loads(out)
        if "Segmentation fault" not in ((row.get("error") or {}).get("worker_log") or {}).get("tail", ""):
            extra.append("the failed row does not quote the worker's log")
    except ValueError:
        extra.append("-o json on stdout is not JSON")
    if "Fatal Python error" in err:
        extra.append("the worker's crash output reached the terminal")
    a.judge("worker output", "a native crash in the worker under -o json", {"cmd": "bench -o json (SIGSEGV worker)",
            "rc": p.returncode, "stdout": out, "stderr": err}, (1,), run, complete=True, extra=extra)


# -- 8. tampered plan ------------------------------------------------------------------------------
def tampered(a, done: Path) -> None:
    for label, path, value in (("threads 100,000", ("placement", "threads"), 100_000),
                               ("depth -1", ("workload", "depth"), -1),
                               ("a case id that is a path", ("case_id",), "../../escape"),
                               ("gen 10^30", ("workload", "gen_tokens"), 10**30)):
        run = a.work / "runs" / f"tampered-{len(a.results)}"
        shutil.copytree(done, run)
        (run / "records.jsonl").unlink()
        plan = json.loads((run / "plan.json").read_text())
        node = plan["cases"][0]
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
        (run / "plan.json").write_text(json.dumps(plan))
        res = a.cli("bench", "--resume", run)
        a.judge("tampered plan", f"--resume a plan.json case with {label}", res, (2,),
                extra=[] if not (run / "records.jsonl").exists() else ["the tampered case ran"])


# -- 9. hostile data -------------------------------------------------------------------------------
def hostile_data(a, done: Path) -> None:
    head, good = TSV.read_bytes().split(b"\n")[:2]
    cols = head.decode().split("\t")
    for label, col, value in (("test_num '²'", "test_num", "²".encode()), ("a 5,000-digit id", "test_num", b"9" * 5000),
                              ("accel_ram 1e300", "accel_ram", b"1e300"),
                              ("a 200 KB field", "model_name", b"x" * 200_000),
                              ("invalid UTF-8", "accel_name", b"\xff\xfe(")):
        fields = good.split(b"\t")
        fields[cols.index(col)] = value
        f = a.work / f"ls-{len(a.results)}.tsv"
        f.write_bytes(head + b"\n" + b"\t".join(fields) + b"\n")
        a.judge("hostile data", f"reference import localscore: {label}",
                a.cli("reference", "import", "localscore", f, "--name", f"hostile{len(a.results)}"), (2,))
    for label, damage in (("samples/*.columns.json -> /dev/zero", "zero"), ("env.json nested 10^5 deep", "deep"),
                          ("a record holding NaN", "nan")):
        run = a.work / "runs" / f"hostile-{damage}"
        shutil.copytree(done, run)
        if damage == "zero":
            for p in (run / "samples").glob("*.columns.json"):
                p.unlink()
                p.symlink_to("/dev/zero")
        elif damage == "deep":
            (run / "env.json").write_text("[" * 100_000 + "]" * 100_000)
        else:
            recs = _records(run)
            for m in recs[0]["metrics"].values():
                m.update(value=float("nan"), median=float("nan"))
            (run / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
        for cmd in (("report", run, "--out", a.work / f"report-{damage}"), ("compare", run, done)):
            a.judge("hostile data", f"{cmd[0]} with {label}", a.cli(*cmd), (0, 1, 2))
        load = subprocess.run([sys.executable, "-c", "import sys, edgeprof\ntry:\n    edgeprof.load(sys.argv[1])\n"
                               "except edgeprof.errors.EdgeprofError as e:\n    print(e, file=sys.stderr)",
                               str(run)], capture_output=True, text=True, env=a.env, timeout=300)
        a.judge("hostile data", f"edgeprof.load() with {label}", {"cmd": "edgeprof.load(run)", "rc": load.returncode,
                                                                 "stdout": load.stdout, "stderr": load.stderr}, (0,))
    run = a.run_dir()
    a.judge("hostile data", "-p 99999999999999999999", a.cli("bench", a.gguf, *a.fast, "-p", "9" * 20, "--out", run),
            (2,), run)
    homefile = a.work / "home-is-a-file"
    homefile.write_text("x")
    for label, home in (("EDGEPROF_HOME is a file", homefile), ("EDGEPROF_HOME cannot be made", "/proc/edgeprof-home")):
        run = a.run_dir()
        a.judge("hostile data", label, a.cli("bench", a.gguf, *a.fast, "--out", run,
                                             env={"EDGEPROF_HOME": str(home), "EDGEPROF_HISTORY": ""}), (2,), run)


# -- 10. formats and scale -------------------------------------------------------------------------
def formats(a, done: Path) -> None:
    run = a.work / "runs" / "formula"
    shutil.copytree(done, run)
    recs = _records(run)
    for r in recs:
        r["model"]["id"] = r["model"]["name"] = "=cmd|' /C calc'!A0"
        r["host"] = "@SUM(1+1)*cmd|' /C calc'!A0"
    (run / "records.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    res = a.cli("bench", "--resume", run, "-o", "csv")
    cells = [c for row in csv.reader(io.StringIO(res["stdout"])) for c in row]
    a.judge("formats and scale", "-o csv of a model named =cmd|' /C calc'!A0", res, (0,),
            extra=[] if cells and not [c for c in cells if c and (c[0] in "=+@" or c[0] == "-" and not _number(c))]
            else ["a cell a spreadsheet would run as a formula"])
    a.judge("formats and scale", "reference add --name LocalScore (reserved, another case)",
            a.cli("reference", "add", done, "--name", "LocalScore"), (2,))
    _big_import(a)


def _number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _big_import(a, rows: int = 30_000) -> None:
    """A 30,000-row LocalScore import, then ``reference list``: its peak RSS and whether it opens the rows."""
    lines = TSV.read_text().splitlines()
    body = ["\t".join([str(10**7 + i)] + lines[1 + i % (len(lines) - 1)].split("\t")[1:]) for i in range(rows)]
    f = a.work / "big.tsv"
    f.write_text("\n".join([lines[0], *body]) + "\n")
    imp = a.cli("reference", "import", "localscore", f, "--name", "big", timeout=900)
    opens = _load("opens", ROOT / "tests" / "faults" / "opens.py")
    folder = a.home / "reference" / "big"
    t0 = time.monotonic()
    with opens.OpenWatch(folder) as w:
        p = subprocess.Popen([sys.executable, "-m", "edgeprof", "reference", "list", "-o", "csv"], env=a.env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        out, err = p.communicate(timeout=300)
        w.drain()
    wall = time.monotonic() - t0
    extra = [] if imp["rc"] == 0 else ["the import failed"]
    if any(x.endswith("big.tsv") for x in w.opened):
        extra.append("reference list read the imported rows again")
    if f",{rows}," not in out:
        extra.append("the set's row count is not listed")
    a.judge("formats and scale", f"reference list after a {rows:,}-row import ({wall:.1f} s)",
            {"cmd": "reference list -o csv", "rc": p.returncode, "stdout": out, "stderr": err}, (0,), extra=extra)
    shutil.rmtree(folder, ignore_errors=True)


def issue21(a) -> None:
    identity(a)
    done = case_ids(a)
    stopped(a)
    pasted(a)
    pull(a)
    broken_sets(a)
    worker_output(a)
    tampered(a, done)
    hostile_data(a, done)
    formats(a, done)
