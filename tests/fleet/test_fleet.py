"""``edgeprof fleet`` against two real sshd boards: a 2×2 matrix on both at once with the history in
a real PostgreSQL; one board cut off mid-run (its listener AND its session processes killed): its
finished rows kept, its missing cases pending, ``--resume`` finishing them once with no duplicate;
the merged table; ``compare`` across boards reading PostgreSQL; ``fleet status``."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import services
from services import cli, laptop_env

def fleet_file(path: Path, boards, model: Path, extra_host: str = "") -> Path:
    hosts = "".join(f'[[host]]\nname = "{b.name}"\ntarget = "{b.target}"\nkind = "loopback {b.name}"\n\n'
                    for b in boards)
    path.write_text(f'name = "loopback"\n\n{hosts}{extra_host}[bench]\nmodels = ["{model}"]\nprompt = [8, 16]\n'
                    f'gen = [4, 8]\nthreads = [1]\nreps = 2\nwarmup = 0\nmin_seconds = 0\nidle_seconds = 0.2\n')
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.is_file() else []


def test_a_fleet_cut_off_mid_run_keeps_what_it_measured_and_resume_finishes_it_once(
        shelf, tmp_path, smollm2_gguf, home, pg_url):
    laptop, (a, b) = shelf
    env = laptop_env(laptop, home, EDGEPROF_HISTORY=pg_url)
    fleet = fleet_file(tmp_path / "FLEET.toml", (a, b), smollm2_gguf)
    out = tmp_path / "fleet"
    proc = subprocess.Popen([sys.executable, "-m", "edgeprof", "fleet", "run", str(fleet), "--out", str(out), "-o",
                             "json"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    a_records = out / "boards" / "a" / "records.jsonl"
    try:
        end = time.monotonic() + 240
        while not lines(a_records) and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.05)
        kept = lines(a_records)
        assert kept, "board a finished no case in time"
        killed = a.cut_off()        # the listener and every session process: no goodbye reaches the laptop
        assert len(killed) >= 2
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1 and "Traceback" not in stderr, stderr[-3000:]
    assert "a: cut-off" in stderr and "fleet run --resume" in stderr
    rows = json.loads(stdout)
    by = {h: [r for r in rows if r["board"]["name"] == h] for h in "ab"}
    assert len(by["b"]) == 4 and all(r["status"] == "ok" for r in by["b"])          # the other board went on
    done_a = [r for r in by["a"] if r["status"] == "ok"]
    pending_a = [r for r in by["a"] if r["status"] == "pending"]
    assert len(done_a) + len(pending_a) == 4 and pending_a and "cut-off" in pending_a[0]["reason"]
    kept_ids = {r["case_id"]: r["started_at"] for r in lines(a_records) if r["status"] == "ok"}
    assert {r["case_id"] for r in done_a} == set(kept_ids) and len(kept_ids) >= len(kept)
    # the board is back (same host key, same port): --resume runs exactly the missing cases, once
    a.start()
    res = cli("fleet", "run", "--resume", str(out), "-o", "json", env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "b: nothing left" in res.stderr
    final = json.loads(res.stdout)
    assert len(final) == 8 and all(r["status"] == "ok" for r in final)
    recs_a = lines(a_records)
    assert sorted(r["case_id"] for r in recs_a) == sorted({r["case_id"] for r in recs_a}) and len(recs_a) == 4
    assert {r["case_id"]: r["started_at"] for r in recs_a if r["case_id"] in kept_ids} == kept_ids  # not re-run
    assert sum("[a] [" in x and x.endswith(": starting") for x in res.stderr.splitlines()) == 4 - len(kept_ids)
    assert {tuple(sorted((r["workload"]["prompt_tokens"], r["workload"]["gen_tokens"]) for r in final
                          if r["board"]["name"] == h)) for h in "ab"} == {((8, 4), (8, 8), (16, 4), (16, 8))}
    # the markdown table: one row per board x case, a host column
    md = cli("fleet", "run", "--resume", str(out), env=env).stdout
    assert md.splitlines()[0].startswith("| host | model") and sum(x.startswith("| a |") for x in md.splitlines()) == 4
    # its legend names each warning's rows by case and board: both boards' rows, none twice
    warned = [x for x in md.splitlines() if x.startswith("- warning (")]
    assert warned and all(" on a" in x or " on b" in x for x in warned), warned
    for x in warned:
        names = x.split(" (", 1)[1].split("): ", 1)[0].split(": ", 1)[-1].split(", ")
        assert len(names) == len(set(names)), x
    # both boards' runs are in PostgreSQL, with where they were measured; compare reads them from there
    listed = json.loads(cli("history", "-o", "json", env=env).stdout)
    assert sorted(r["origin"] for r in listed) == sorted([a.target, b.target]), listed
    ids = {r["origin"]: r["run_id"] for r in listed}
    res = cli("compare", ids[a.target], ids[b.target], "-o", "json", env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    cmp = json.loads(res.stdout)
    assert len({r["workload"] for r in cmp["rows"] if r["metric"] == "decode_tokens_per_s"}) == 4
    # one machine, one hostname, one machine id: the boards differ by what the fleet calls them
    assert cmp["axes"] == "board: a -> b", cmp["axes"]
    assert {r["board"].split(" [")[0] for r in listed} == {"a", "b"}


def test_fleet_status_checks_every_board_in_seconds(shelf, tmp_path, smollm2_gguf, home):
    """Three boards: a real one, one whose device files come from a Jetson Orin Nano fixture tree
    (FLEET.toml ``sysroot``, CONTRACTS: a remote run uses the board's root unless the fleet sets
    one), and a port nothing listens on."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("fx_boards_fleet", services.ROOT / "tests/fixtures/boards.py")
    fx = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fx)
    orin = fx.build(tmp_path / "orin-root", "orin-nano-jp6")
    laptop, (a, b) = shelf
    if a.proc is None:
        a.start()
    closed = services.free_port()
    fleet = fleet_file(tmp_path / "FLEET.toml", (a, b), smollm2_gguf,
                       extra_host=f'[[host]]\nname = "gone"\ntarget = "root@127.0.0.1:{closed}"\n\n'
                                  f'[[host]]\nname = "orin"\ntarget = "{b.target}"\nsysroot = "{orin}"\n\n')
    res = cli("fleet", "status", str(fleet), "-o", "json", env=laptop_env(laptop, home), timeout=120)
    rows = {r["board"]: r for r in json.loads(res.stdout)}
    assert res.returncode == 1   # one board is unreachable
    assert rows["a"]["state"] == rows["b"]["state"] == "ok" and rows["a"]["edgeprof"] and rows["a"]["free_disk_bytes"]
    assert rows["a"]["device"].startswith("cpu: ") and rows["a"]["labels"]["kind"] == "loopback a"
    assert rows["gone"]["state"] == "unreachable" and "cannot connect" in rows["gone"]["message"]
    assert rows["orin"]["device"].startswith("jetson: NVIDIA Jetson Orin Nano") and rows["orin"]["power_mode"]
    assert rows["b"]["device"].startswith("cpu: ")   # the same sshd, its own root: the fleet's root is per host
    assert max(r["seconds"] for r in rows.values()) < 60


@pytest.mark.parametrize("body, message", [
    ('[[host]]\nname = "a"\ntarget = "x@y"\npassword = "hunter2"\n', "passwords are not accepted"),
    ('[[host]]\nname = "../a"\ntarget = "x@y"\n', "must be letters, digits"),
    ('[[host]]\nname = "a"\ntarget = "x@y"\n[bench]\nprompt = [8]\nsuite = ["localscore"]\n', "--suite"),
    ('[[host]]\nname = "a"\ntarget = "x@y"\n[bench]\nout = "/tmp/x"\n', "not a bench option a fleet takes"),
    ('[[host]]\nname = "a"\ntarget = "x@y"\n[bench]\nreps = 0\n', "--reps"),
    ('name = "x"\n', "no [[host]] entries"),
])
def test_a_bad_fleet_file_is_one_line_before_any_board_is_contacted(tmp_path, home, body, message):
    from services import ROOT
    import os

    fleet = tmp_path / "FLEET.toml"
    fleet.write_text(body)
    env = dict(os.environ, EDGEPROF_HOME=str(home), PYTHONPATH=str(ROOT))
    res = cli("fleet", "run", str(fleet), "--out", str(tmp_path / "out"), env=env)
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert not (tmp_path / "out").exists()
