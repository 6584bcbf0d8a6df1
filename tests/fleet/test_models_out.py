"""Models sent to a board are not only GGUF files: an export directory (manifest.json, ONNX with
external data, several artifacts), one artifact of it, and an HF directory (safetensors, config,
tokenizer) go over the test sshd by content — each file checked by sha256 and size, never sent
twice, a partial or corrupt upload never taken for complete — and are benched there under the
same identity as here. Containment on both sides: a link out of a model's folder is refused on
the laptop; on the board a path with ``..``, an absolute path or a link planted in the store
never makes the agent write outside it."""
from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from edgeprof.engine import events as ev
from edgeprof.engine.fanout import Fanout
from edgeprof.errors import UsageError
from edgeprof.fleet import bundle, staging
from edgeprof.fleet.remote import BoardSpec, RemoteRun
from edgeprof.fleet.ssh import SshOptions, Target, connect, request
from edgeprof.models.trust import ArtifactError

TINY = ["-p", "8", "-n", "4", "--reps", "1", "--warmup", "0", "--min-seconds", "0", "--idle-seconds", "0.2", "-t", "1"]


def _ssh(laptop: Path) -> SshOptions:
    return SshOptions(identity=(str(laptop / ".ssh" / "id_ed25519"),), known_hosts=str(laptop / ".ssh" / "known_hosts"))


def _run(board, laptop, out: Path, models: list) -> tuple[object, list[str], RemoteRun]:
    notes: list[str] = []
    fan = Fanout([lambda e: notes.append(e.message) if isinstance(e, ev.RunNotice) else None])
    run = RemoteRun(BoardSpec(board.name, Target.parse(board.target), _ssh(laptop)), out, argv=TINY,
                    models=[str(m) for m in models], fanout=fan)
    return asyncio.run(run.run()), notes, run


def _tree_of(board, arg_path: str) -> Path:
    """The board's ``by-tree/<id>`` folder a benched path sits in."""
    trees = board.edgeprof_home / "models" / "by-tree"
    rel = Path(arg_path).relative_to(trees)
    return trees / rel.parts[0]


def test_an_export_and_an_hf_directory_are_sent_by_content_once_and_benched_as_here(shelf, tmp_path, home, tiny,
                                                                                    tiny_export):
    from edgeprof.models.artifacts import resolve

    laptop, (a, _) = shelf
    if a.proc is None:
        a.start()
    ended, notes, run = _run(a, laptop, tmp_path / "r1", [tiny_export, tiny["hf"]])
    assert ended.state == "done" and ended.exit_code == 0, (ended, notes)
    recs = run.records()
    # the board benched what a local bench would: the same artifacts, by content (sha256), same model ids
    here = resolve(str(tiny_export)) + resolve(str(tiny["hf"]))
    assert sorted((r.artifact.format, r.artifact.quant, r.artifact.sha256, r.model.id) for r in recs) == \
        sorted((x.format, x.quant, x.sha256, x.model.id) for x in here)
    assert all(r.status == "ok" for r in recs), [(r.artifact.quant, r.error) for r in recs]
    fp32 = next(r for r in recs if r.artifact.format == "onnx" and r.artifact.quant == "fp32")
    assert "model.onnx.data" in fp32.artifact.files      # the external data went with it
    sent = [m for m in notes if m.startswith("sending ")]
    assert len(sent) == 2 and "tiny-export (" in sent[0] and "files" in sent[0] and "hf (" in sent[1], notes
    # on the board: the export's files as regular files, each the laptop's bytes; no link, no .part left
    tree = _tree_of(a, fp32.artifact.path)
    local = {f.rel: f for f in bundle.of(tiny_export).files}
    board_files = {p.relative_to(tree).as_posix(): p for p in tree.rglob("*") if p.is_file() or p.is_symlink()}
    assert set(board_files) == set(local)
    for rel, p in board_files.items():
        assert not p.is_symlink() and p.read_bytes() == local[rel].local.read_bytes(), rel
    assert not list((a.edgeprof_home / "models").rglob("*.part"))
    # again: nothing is sent; one artifact of the export (a subset) and a file of it need no upload either
    int8_dir = Path(next(r for r in recs if r.artifact.quant == "int8").artifact.path).parent.name
    ended, notes, run = _run(a, laptop, tmp_path / "r2", [tiny_export, tiny["hf"], tiny_export / int8_dir,
                                                           tiny_export / "onnx-fp32" / "model.onnx"])
    assert ended.state == "done", (ended, notes)
    assert not [m for m in notes if m.startswith("sending ")], notes
    again = run.records()
    assert len(again) == 5 and all(r.status == "ok" for r in again)     # 2 + 1 + 1 + 1
    # the artifact named alone keeps the export's identity (the manifest travelled with it)
    alone = [r for r in again if r.artifact.quant == "int8"]
    assert len(alone) == 2 and {(r.model.id, r.artifact.sha256) for r in alone} == \
        {(x.model.id, x.sha256) for x in here if x.quant == "int8"}


def test_a_partial_or_corrupt_upload_is_never_taken_for_complete(shelf, tmp_path, home, tiny):
    laptop, (a, _) = shelf
    if a.proc is None:
        a.start()
    model = tmp_path / "tiny-hf-copy"
    shutil.copytree(tiny["hf"], model)
    (model / "generation_config.json").write_text(json.dumps({"note": f"unique to {tmp_path.name}"}))
    b = bundle.of(model)
    wire = {"files": [f.to_wire() for f in b.files]}
    ssh = _ssh(laptop)
    fresh = next(f for f in b.files if f.rel.endswith("generation_config.json"))

    by_sha = {f.sha256: f for f in b.files}

    async def send(conn, uploads: dict, bad: bytes) -> None:
        """Every missing content as it is, but ``fresh``'s as ``bad``."""
        async with conn.start_sftp_client() as sftp:
            for sha, part in uploads.items():
                async with sftp.open(part, "wb") as f:
                    await f.write(bad if sha == fresh.sha256 else by_sha[sha].local.read_bytes())

    async def go() -> None:
        async with await connect(Target.parse(a.target), ssh) as conn:
            staged = await request(conn, ssh, {"op": "stage", **wire}, "stage")
            assert not staged.get("present") and fresh.sha256 in staged.get("uploads")
            data = fresh.local.read_bytes()
            await send(conn, staged.get("uploads"), data[: len(data) // 2])     # cut off after half the bytes
            with pytest.raises(UsageError, match="generation_config.json' is partial"):
                await request(conn, ssh, {"op": "commit", "token": staged.get("token"), **wire}, "commit")
            again = await request(conn, ssh, {"op": "stage", **wire}, "stage")
            assert not again.get("present") and list(again.get("uploads")) == [fresh.sha256]   # only it is missing
            await send(conn, again.get("uploads"), bytes(len(data)))             # the right size, other bytes
            with pytest.raises(UsageError, match="does not hash"):
                await request(conn, ssh, {"op": "commit", "token": again.get("token"), **wire}, "commit")
            assert not Path(again.get("uploads")[fresh.sha256]).exists()   # the corrupt part is removed
            assert not (a.edgeprof_home / "models" / "by-tree" / staging.tree_id(
                staging.entries(wire))).exists()                              # no tree was made of it
    asyncio.run(go())
    # the real bench sends it properly afterwards
    ended, notes, run = _run(a, laptop, tmp_path / "r", [model])
    assert ended.state == "done" and [r.status for r in run.records()] == ["ok"], (ended, notes)


def test_a_link_out_of_a_model_folder_is_refused_on_the_laptop(shelf, tmp_path, home, tiny):
    laptop, (a, _) = shelf
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the board")
    model = tmp_path / "linked-hf"
    shutil.copytree(tiny["hf"], model)
    (model / "notes.txt").symlink_to(secret)
    with pytest.raises(ArtifactError, match="leads outside"):
        bundle.of(model)
    ended, notes, _ = _run(a, laptop, tmp_path / "r", [model])
    assert ended.state in ("failed", "refused") and "leads outside" in ended.message, ended
    assert not list((a.edgeprof_home / "models").rglob("notes.txt"))
    # a link that stays inside the folder is sent as the file it names (the board gets no link)
    (model / "notes.txt").unlink()
    (model / "notes.txt").symlink_to(model / "config.json")
    b = bundle.of(model)
    assert next(f for f in b.files if f.rel == "linked-hf/notes.txt").local == (model / "config.json").resolve()


def test_a_hub_snapshot_is_sent_as_the_files_its_links_name(tmp_path, tiny):
    """huggingface_hub keeps a snapshot as links into ``blobs/``: allowed, sent as regular files."""
    repo = tmp_path / "models--org--tiny"
    snap = repo / "snapshots" / "0123abcd"
    (repo / "blobs").mkdir(parents=True)
    snap.mkdir(parents=True)
    for f in tiny["hf"].iterdir():
        blob = repo / "blobs" / f"blob-{f.name}"
        shutil.copy(f, blob)
        (snap / f.name).symlink_to(os.path.relpath(blob, snap))
    b = bundle.of(snap)
    assert b.arg == "0123abcd" and {f.rel.split("/", 1)[1] for f in b.files} == {f.name for f in tiny["hf"].iterdir()}
    assert all(f.local.parent == repo / "blobs" for f in b.files)


@pytest.mark.parametrize("path", ["../x", "/etc/passwd", "a/../../b", "a/./b", "a//b", ".hidden/x", "a/.git/x",
                                  "a\\..\\b", "a/b\x00c", ""])
def test_the_board_refuses_a_path_that_is_not_plain(path):
    with pytest.raises(UsageError, match="not a plain relative path"):
        staging.entries({"files": [{"path": path, "size_bytes": 1, "sha256": "0" * 64}]})


def test_the_board_never_writes_through_a_link_planted_in_its_store(tmp_path, monkeypatch):
    """The agent's side in this process (a real file system, EDGEPROF_HOME in tmp): a link at a
    blob's folder is refused; a link at a tree's place is replaced, its target untouched."""
    import hashlib

    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path / "board"))
    outside = tmp_path / "outside"
    outside.mkdir()
    data = b"weights"
    sha = hashlib.sha256(data).hexdigest()
    req = {"files": [{"path": "m/config.json", "size_bytes": len(data), "sha256": sha}]}
    store = tmp_path / "board" / "models"
    (store / "by-sha256").mkdir(parents=True)
    (store / "by-sha256" / sha).symlink_to(outside)
    with pytest.raises(UsageError, match="is a link or a file"):
        staging.stage(req)
    assert not list(outside.iterdir())
    (store / "by-sha256" / sha).unlink()
    staged = staging.stage(req)
    Path(staged["uploads"][sha]).write_bytes(data)                 # what SFTP would have written
    (store / "by-tree").mkdir()
    root = store / "by-tree" / staging.tree_id(staging.entries(req))
    root.symlink_to(outside)                                       # planted where the tree goes
    done = staging.commit({**req, "token": staged["token"]})
    assert Path(done["root"]) == root and not root.is_symlink() and (root / "m" / "config.json").read_bytes() == data
    assert not list(outside.iterdir())
    # an extra file slipped into a finished tree makes it incomplete: rebuilt from the blobs, not used
    (root / "m" / "extra.safetensors").write_bytes(b"x")
    assert not staging.stage(req)["present"]
    assert staging.commit(req)["root"] == str(root) and sorted(p.name for p in (root / "m").iterdir()) == \
        ["config.json"]
