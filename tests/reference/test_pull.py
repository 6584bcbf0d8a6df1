"""``edgeprof models pull``: huggingface_hub against a local server with the hub's URL layout
(HF_ENDPOINT): sha256 recorded at first download and shown, verified on later pulls, a wrong
catalogue sha256 refused, an interrupted download resumed with a Range request."""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hubserver import HubServer
from refdata import write_gguf

from edgeprof.models import catalogue, hub

ROOT = Path(__file__).resolve().parents[2]
ENTRY_ID = "llama-3.2-1b-instruct-q4_k_m"


@pytest.fixture
def gguf_bytes(tmp_path) -> bytes:
    path = write_gguf(tmp_path / "src.gguf", {"general.architecture": "llama", "general.name": "Llama 3.2 1B Instruct",
                                              "general.file_type": 15}, n=200_000)
    return path.read_bytes()


@pytest.fixture(autouse=True)
def hub_env(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # never the user's hub cache or token
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _served(entry: catalogue.Entry, body: bytes) -> dict[str, bytes]:
    return {f"{entry.raw['repo']}/resolve/{entry.raw['revision']}/{entry.raw['file']}": body}


def _unpublished(e: catalogue.Entry) -> catalogue.Entry:
    """The entry as a hub model that publishes no size, file type or parameter count: what the
    mechanics tests (records, resume, progress) pull, since the small test bodies are not Llama."""
    return replace(e, raw=dict(e.raw, size_published=None, params_approx=None, quant=None))


@pytest.fixture
def unpublished_catalogue(monkeypatch):
    """``catalogue.load`` with the Llama entry unpublished (for the in-process CLI tests)."""
    default, entries = catalogue.load()
    entries = [_unpublished(e) if e.id == ENTRY_ID else e for e in entries]
    monkeypatch.setattr(catalogue, "load", lambda: (default, entries))


def test_catalogue_has_localscores_three_gguf():
    ids = {e.id: e for e in catalogue.load()[1]}
    for mid, repo, file in (
            (ENTRY_ID, "bartowski/Llama-3.2-1B-Instruct-GGUF", "Llama-3.2-1B-Instruct-Q4_K_M.gguf"),
            ("meta-llama-3.1-8b-instruct-q4_k_m", "bartowski/Meta-Llama-3.1-8B-Instruct-GGUF",
             "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"),
            ("qwen2.5-14b-instruct-q4_k_m", "bartowski/Qwen2.5-14B-Instruct-GGUF", "Qwen2.5-14B-Instruct-Q4_K_M.gguf")):
        e = ids[mid]
        assert (e.raw["repo"], e.raw["file"], e.raw["quant"], e.raw["source"]) == (repo, file, "q4_k_m", "huggingface")
        assert e.raw["sha256"] is None and "recorded at first download" in e.raw["sha256_note"]


def test_bench_of_an_unpulled_hub_model_says_how_to_pull(tmp_path):
    e = catalogue.get(ENTRY_ID)
    with pytest.raises(catalogue.CatalogueError, match=f"edgeprof models pull {ENTRY_ID}"):
        catalogue.ensure(e, tmp_path / "models")


def test_first_pull_records_sha256_then_verifies_it(tmp_path, gguf_bytes):
    e = _unpublished(catalogue.get(ENTRY_ID))
    root = tmp_path / "models"
    with HubServer(_served(e, gguf_bytes)) as srv:
        info = hub.pull(e, root, endpoint=srv.url)
        assert info["sha256"] == hashlib.sha256(gguf_bytes).hexdigest()
        assert info["sha256_basis"].startswith("recorded at first download") and info["size_bytes"] == len(gguf_bytes)
        assert json.loads(hub.record_path(e, root).read_text())["sha256"] == info["sha256"]
        assert catalogue.ensure(e, root) == Path(info["path"])  # bench finds it now
        again = hub.pull(e, root, endpoint=srv.url)
        assert again["sha256_basis"].startswith("verified against the sha256 recorded at first download")
        srv.files = _served(e, gguf_bytes[:-8] + b"tampered")  # the upstream file changes
        with pytest.raises(hub.PullError, match="expected") as err:
            hub.pull(e, root, endpoint=srv.url)
        assert "first download" in str(err.value) and not Path(info["path"]).exists()


def test_wrong_catalogue_sha256_is_refused(tmp_path, gguf_bytes):
    e = _unpublished(catalogue.get(ENTRY_ID))
    bad = replace(e, raw=dict(e.raw, sha256="0" * 64))
    with HubServer(_served(bad, gguf_bytes)) as srv:
        with pytest.raises(hub.PullError, match="expected 0000000000000000") as err:
            hub.pull(bad, tmp_path / "models", endpoint=srv.url)
    assert "catalogue" in str(err.value) and not (tmp_path / "models" / ENTRY_ID / e.raw["file"]).exists()


def test_interrupted_download_resumes_with_a_range_request(tmp_path):
    """The hub client writes in 10 MiB chunks: a connection lost at 11 MB leaves 10 MiB on disk,
    and the next pull asks for the rest only."""
    body = write_gguf(tmp_path / "big.gguf", {"general.name": "Llama 3.2 1B Instruct", "general.file_type": 15},
                      n=3_000_000).read_bytes()
    e = _unpublished(catalogue.get(ENTRY_ID))
    root = tmp_path / "models"
    with HubServer(_served(e, body)) as srv:
        srv.cut, srv.cut_at = 1, 11_000_000
        with pytest.raises(hub.PullError, match=r"interrupted after 10485760 bytes.*again to resume"):
            hub.pull(e, root, endpoint=srv.url)
        info = hub.pull(e, root, endpoint=srv.url)
    ranges = [r for m, _, r in srv.requests if m == "GET"]
    assert ranges[0] is None and ranges[-1] == "bytes=10485760-"  # the second pull continued, not restarted
    assert info["sha256"] == hashlib.sha256(body).hexdigest() and info["size_bytes"] == len(body)


def test_cli_pull_shows_the_sha256(tmp_path, gguf_bytes, unpublished_catalogue, monkeypatch, capsys):
    from edgeprof.cli import main

    e = catalogue.get(ENTRY_ID)
    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path / "home"))
    with HubServer(_served(e, gguf_bytes)) as srv:
        monkeypatch.setenv("HF_ENDPOINT", srv.url)
        assert main(["models", "pull", ENTRY_ID]) == 0
        assert f"sha256 {hashlib.sha256(gguf_bytes).hexdigest()} (recorded at first download" in capsys.readouterr().out
    assert main(["models", "pull", "smollm2-135m-instruct"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a hub model" in err


def test_a_pull_served_another_model_is_refused_and_nothing_counts_as_downloaded(tmp_path, smollm2_gguf):
    """The hub serves the 98 MB SmolLM2 under Llama 3.2 1B's name: the announced size already
    contradicts the catalogue's 0.81 GB, so nothing is downloaded; a server that announces no size
    gets the whole body checked (size, tensors' file type, parameter count) and removed. Either
    way no file, no pull.json: ``bench`` still says the model is not downloaded."""
    e = catalogue.get(ENTRY_ID)
    body = smollm2_gguf.read_bytes()
    root = tmp_path / "models"
    with HubServer(_served(e, body)) as srv:
        with pytest.raises(hub.PullError, match=r"announces size 98 MB is not llama-3.2-1b-instruct-q4_k_m's 810 MB"):
            hub.pull(e, root, endpoint=srv.url)
        assert not [r for r in srv.requests if r[0] == "GET"]
        # a hub whose HEAD gives no size: the content is checked after the download
        no_size = replace(e, raw=dict(e.raw, size_published=None))
        with pytest.raises(hub.PullError) as err:
            hub.pull(no_size, root, endpoint=srv.url)
    msg = str(err.value)
    assert "its tensors are q4_1, not llama-3.2-1b-instruct-q4_k_m's q4_k_m" in msg and "134.5 M parameters" in msg
    assert "nothing counts as downloaded" in msg and msg.count("\n") == 0
    assert not list(root.rglob("*.gguf")) and not hub.record_path(e, root).exists()
    with pytest.raises(catalogue.CatalogueError, match="is not downloaded"):
        catalogue.ensure(e, root)


def test_bench_pull_refuses_another_model_in_one_line(tmp_path, smollm2_gguf):
    """``bench ID --pull`` served the packaged SmolLM2 under Llama's name: one line naming the
    contradiction, exit 1, no run directory, nothing kept as the model."""
    e = catalogue.get(ENTRY_ID)
    with HubServer(_served(e, smollm2_gguf.read_bytes())) as srv:
        env = dict(os.environ, EDGEPROF_HOME=str(tmp_path / "home"), HF_ENDPOINT=srv.url, PYTHONPATH=str(ROOT),
                   EDGEPROF_HISTORY=str(tmp_path / "h.sqlite"))
        args = [sys.executable, "-m", "edgeprof", "bench", ENTRY_ID, "-p", "8", "-n", "4", "--reps", "1", "-t", "1",
                "--pull", "--out", str(tmp_path / "r1")]
        res = subprocess.run(args, capture_output=True, text=True, env=env, timeout=300)
    errors = [x for x in res.stderr.splitlines() if x.startswith("edgeprof: error:")]
    assert res.returncode == 1 and len(errors) == 1 and "it is not llama-3.2-1b-instruct-q4_k_m" in errors[0], res.stderr
    assert not (tmp_path / "r1").exists() and not list((tmp_path / "home" / "models").rglob("*.gguf"))


def test_bench_pull_downloads_then_benches_and_without_it_says_how(tmp_path, smollm2_gguf, unpublished_catalogue,
                                                                  monkeypatch, capsys, seeded):
    """``bench ID --pull`` (what the live view's "downloaded on start" does): the hub GGUF is
    pulled, recorded and benched in one command; without ``--pull`` nothing is downloaded and the
    one-line refusal names both ways. The served bytes are the packaged SmolLM2 under an entry that
    publishes no facts to contradict (the test is of the path, not of Llama's speed); it is benched
    under its own identity."""
    seeded(tmp_path / "home")  # the machine's probe: the bench measures at once
    from edgeprof.cli import main

    e = catalogue.get(ENTRY_ID)
    body = smollm2_gguf.read_bytes()
    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("EDGEPROF_HISTORY", str(tmp_path / "h.sqlite"))
    with HubServer(_served(e, body)) as srv:
        monkeypatch.setenv("HF_ENDPOINT", srv.url)
        args = ["bench", ENTRY_ID, "-p", "8", "-n", "4", "--reps", "1", "--warmup", "0", "--min-seconds", "0",
                "--idle-seconds", "0.2", "-t", "1", "-o", "json"]
        assert main(args + ["--out", str(tmp_path / "r0")]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"edgeprof models pull {ENTRY_ID}" in err and "--pull" in err
        assert not [r for r in srv.requests if r[0] == "GET"]
        assert main(args + ["--pull", "--out", str(tmp_path / "r1")]) == 0
    out = capsys.readouterr()
    assert "pulling bartowski/Llama-3.2-1B-Instruct-GGUF/" in out.err
    assert "it/s" not in out.err and "█" not in out.err   # no terminal bar drawn into the log
    (row,) = json.loads(out.out)
    assert row["status"] == "ok" and row["artifact"]["sha256"] == hashlib.sha256(body).hexdigest()
    assert row["model"]["id"] == "smollm2-135m-instruct"   # its sha256 is the catalogue's SmolLM2: named by content
    assert json.loads(hub.record_path(e, tmp_path / "home" / "models").read_text())["size_bytes"] == len(body)


def test_pull_progress_is_ten_lines_at_most(tmp_path):
    """The progress a bench or the live view shows: each tenth once, in order, from the size of the
    hub client's ``.incomplete`` file."""
    import time

    part = tmp_path / ".cache" / "huggingface" / "download" / "x.gguf.incomplete"
    part.parent.mkdir(parents=True)
    lines: list[str] = []
    with hub._Progress(tmp_path, 1_000_000, lines.append, every_s=0.01):
        for size in range(0, 1_000_001, 50_000):
            part.write_bytes(b"\0" * size)
            time.sleep(0.03)
    pcts = [int(x.split(": ")[1].split(" %")[0]) for x in lines]
    assert pcts == sorted(set(pcts)) and len(pcts) <= 10 and pcts[-1] == 90 and "of 1 MB" in lines[-1], lines


def test_bench_pull_offline_is_one_line_without_the_clients_retry_noise(tmp_path):
    """No network (a port nothing listens on): the hub client's own retries run (~23 s) but their
    warnings stay off the terminal; the user reads one line saying what to check, and nothing is
    left that looks like a model."""
    import socket

    with socket.socket() as s:          # a free port, closed again: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, EDGEPROF_HOME=str(tmp_path / "home"), HF_ENDPOINT=f"http://127.0.0.1:{port}",
               PYTHONPATH=str(ROOT))
    res = subprocess.run([sys.executable, "-m", "edgeprof", "bench", ENTRY_ID, "--pull", "-p", "8", "-n", "4",
                          "--out", str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 1, res.stderr[-2000:]
    assert "Retrying" not in res.stderr and "MaxRetryError" not in res.stderr, res.stderr[-2000:]
    errors = [x for x in res.stderr.splitlines() if x.startswith("edgeprof: error:")]
    assert len(errors) == 1 and f"could not reach http://127.0.0.1:{port}" in errors[0] and "HF_ENDPOINT" in errors[0]
    assert len(res.stderr.strip().splitlines()) == 2          # the "pulling ..." note, then the error
    assert not (tmp_path / "run").exists()
    assert not list((tmp_path / "home" / "models").rglob("*.gguf"))


def _pull_cli(tmp_path, srv) -> subprocess.CompletedProcess:
    env = dict(os.environ, EDGEPROF_HOME=str(tmp_path / "home"), HF_ENDPOINT=srv.url, PYTHONPATH=str(ROOT),
               HF_HOME=str(tmp_path / "hf-home"))
    return subprocess.run([sys.executable, "-m", "edgeprof", "models", "pull", ENTRY_ID], capture_output=True,
                          text=True, env=env, timeout=300)


def test_a_body_announced_larger_than_the_free_disk_is_refused_before_any_download(tmp_path, gguf_bytes):
    """Issue 21 item 5: a hub announcing 10 TB is refused on the free space, with the sizes and
    the fix, before a byte is fetched; nothing is left in the models folder."""
    e = catalogue.get(ENTRY_ID)
    with HubServer(_served(e, gguf_bytes)) as srv:
        srv.announce = 10 * 10**12
        res = _pull_cli(tmp_path, srv)
        gets = [r for r in srv.requests if r[0] == "GET"]
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-2000:]
    (line,) = [x for x in res.stderr.splitlines() if x.startswith("edgeprof: error:")]
    assert "10,000,000 MB announced" in line and "free space" in line and "EDGEPROF_HOME" in line
    assert not gets and not (tmp_path / "home" / "models" / ENTRY_ID).exists()


def test_a_redirect_to_a_local_file_is_one_line_and_reads_nothing(tmp_path, gguf_bytes):
    """Issue 21 item 5: a mirror answering 302 file://... is one line; the file is never opened
    (inotify on its folder) and no model folder is left behind."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("opens_pull", ROOT / "tests" / "faults" / "opens.py")
    opens = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(opens)
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "secret").write_text("root:x:0:0")
    e = catalogue.get(ENTRY_ID)
    with HubServer(_served(e, gguf_bytes)) as srv, opens.OpenWatch(canary) as watch:
        srv.redirect = f"file://{canary / 'secret'}"
        srv.announce = 810_000_000   # the size the catalogue publishes: the pull goes on to the redirect
        res = _pull_cli(tmp_path, srv)
        watch.drain()
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stderr[-2000:]
    (line,) = [x for x in res.stderr.splitlines() if x.startswith("edgeprof: error:")]
    assert "cannot be downloaded" in line and "nothing was read" in line and "HF_ENDPOINT" in line
    assert not [p for p in watch.opened if p != str(canary)]
    assert not (tmp_path / "home" / "models" / ENTRY_ID).exists()
