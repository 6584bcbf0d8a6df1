"""User directories (CONTRACTS.md "User directories"): one root, ``EDGEPROF_HOME``.

Nothing is ever written into the installed package.
"""
from __future__ import annotations

import os
from pathlib import Path


def home(env: dict | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("EDGEPROF_HOME"):
        return Path(env["EDGEPROF_HOME"]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("edgeprof", appauthor=False))


def check(env: dict | None = None) -> None:
    """``EDGEPROF_HOME``, when set, names a directory that exists or can be made (read once at the
    CLI boundary, like ``EDGEPROF_SYSROOT``): a file or an impossible path is one line, not a
    traceback from the first cache write deep inside a command."""
    from edgeprof.errors import UsageError

    env = os.environ if env is None else env
    if not env.get("EDGEPROF_HOME"):
        return
    root = home(env)
    if root.exists() and not root.is_dir():
        raise UsageError(f"EDGEPROF_HOME={root} is a file; point it at a directory or unset it")
    # checked, not made: a command that ends before it writes (a refusal, --help, a TUI without a
    # terminal) leaves no folder behind; the first write makes it
    if root.is_dir():
        return
    ancestor = root
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    why = "Not a directory" if not ancestor.is_dir() else _cannot_make_in(ancestor)
    if why:
        raise UsageError(f"EDGEPROF_HOME={root} cannot be created ({why}); point it at a writable "
                         f"directory or unset it")


def _cannot_make_in(folder: Path) -> str | None:
    """Why no folder can be made in ``folder`` (tried with a temporary one, removed at once: a
    permission check says yes to root on /proc or a read-only mount), or None."""
    import tempfile

    try:
        os.rmdir(tempfile.mkdtemp(prefix=".edgeprof-check-", dir=folder))
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def cache_dir(env: dict | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("EDGEPROF_HOME"):
        return home(env) / "cache"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("edgeprof", appauthor=False))


def downloads_dir() -> Path:
    """The machine-wide download cache (archives such as llama.cpp's converter sdist, sha256-verified):
    the platform cache dir EVEN when ``EDGEPROF_HOME`` is set, so a second home extracts from it
    instead of downloading again; each home keeps its own extracted copy under ``cache/``."""
    from edgeprof.exporters.downloads import machine_cache_dir

    return machine_cache_dir()


def models_dir(env: dict | None = None) -> Path:
    return home(env) / "models"


def reference_dir(env: dict | None = None) -> Path:
    return home(env) / "reference"


def history_path(env: dict | None = None) -> Path:
    return home(env) / "history.sqlite"


def history_target(env: dict | None = None) -> str:
    """The history store: ``EDGEPROF_HISTORY`` (a file path or a postgresql:// URL), else the
    ``history`` entry of ``$EDGEPROF_HOME/config.toml``, else ``history.sqlite`` in the home."""
    env = os.environ if env is None else env
    if env.get("EDGEPROF_HISTORY"):
        return env["EDGEPROF_HISTORY"]
    entry = config(env).get("history")
    return str(entry) if entry else str(history_path(env))


def pending_path(env: dict | None = None) -> Path:
    """Runs written while their history store was unreachable, indexed by the next command."""
    return home(env) / "history-pending.jsonl"


def config(env: dict | None = None) -> dict:
    """``$EDGEPROF_HOME/config.toml`` (absent: empty). A damaged file is one line naming it."""
    path = home(env) / "config.toml"
    if not path.is_file():
        return {}
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    from edgeprof.errors import UsageError

    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise UsageError(f"{path}: not valid TOML ({exc}); fix or remove it") from None


def sysroot(env: dict | None = None) -> Path:
    """``EDGEPROF_SYSROOT`` — read here, once, at the CLI boundary; adapters get ``root``. It must
    be a directory (CONTRACTS "CLI conventions")."""
    from edgeprof.errors import UsageError

    env = os.environ if env is None else env
    root = Path(env.get("EDGEPROF_SYSROOT") or "/")
    if not root.is_dir():
        raise UsageError(f"EDGEPROF_SYSROOT={root} is not a directory; point it at a fixture root (a folder "
                         f"holding sys/ and proc/) or unset it")
    return root


HOME_FIX = "set EDGEPROF_HOME to a directory on a writable disk"


def home_fix(path) -> str:
    """The fix for a path that cannot be written: under $EDGEPROF_HOME, point the home elsewhere;
    anywhere else, another --out."""
    from edgeprof.errors import OUT_FIX

    try:
        Path(path).absolute().relative_to(home().absolute())
    except (ValueError, TypeError):
        return OUT_FIX
    return HOME_FIX
