"""``FLEET.toml``: the boards of a shelf and the bench matrix they all run.

```toml
name = "shelf"                              # optional
[defaults]                                  # optional: applies to every host
identity = "~/.ssh/id_ed25519"              # key file(s); default ~/.ssh/id_* and the SSH agent
known_hosts = "~/.ssh/known_hosts"
command = ["edgeprof"]                      # how the board runs edgeprof (e.g. ["/opt/venv/bin/edgeprof"])
# sysroot = "/"                             # EDGEPROF_SYSROOT on the boards (default: each board's own)

[[host]]
name = "orin-1"                             # a label: letters, digits, . _ -
target = "ubuntu@orin1.lab"                 # user@host[:port]
kind = "Jetson Orin Nano 8GB"               # free-text labels, copied into the run
power_mode = "15W"
notes = "fan at 100 %"

[bench]                                     # bench's own options, by name: the matrix
models = ["models/SmolLM2-135M-Instruct.Q4_1.gguf"]   # local files and folders are sent; other names as they are
prompt = [128, 512]                         # -p (a list sweeps)
gen = [128]                                 # -n
threads = [4]
# suite = ["localscore"]                    # or a suite instead of prompt/gen/depth
```

Why bench's names: the matrix is validated by bench's own parser (``BenchOptions``), so a value
a bench would refuse is refused here, before any board is contacted. No password can be given:
there is no field for one (login is by key or agent only).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from edgeprof.errors import UsageError
from edgeprof.fleet.remote import BoardSpec
from edgeprof.fleet.ssh import SshOptions, Target

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
HOST_KEYS = {"name", "target", "kind", "power_mode", "notes", "identity", "known_hosts", "command", "config",
             "sysroot"}
LABELS = ("kind", "power_mode", "notes")
#: bench options a fleet decides itself (where runs go, what is printed, which store)
NOT_IN_BENCH = ("out", "resume", "overwrite", "retry_failed", "quiet", "format", "history", "list_suites")


@dataclass(frozen=True)
class Fleet:
    name: str
    boards: tuple[BoardSpec, ...]
    argv: tuple[str, ...]              # bench flags every board runs (validated here)
    models: tuple[str, ...]            # local paths made absolute; other names as written
    source: str = ""
    text: str = field(default="", repr=False)   # the file as read (copied into the fleet directory)

    def board(self, name: str) -> BoardSpec:
        return next(b for b in self.boards if b.name == name)

    def accepting_new_host_keys(self) -> "Fleet":
        """This fleet with ``--accept-new-host-key`` on every board (an unknown key is recorded; a
        changed one is still refused)."""
        import dataclasses

        return dataclasses.replace(self, boards=tuple(dataclasses.replace(
            b, ssh=dataclasses.replace(b.ssh, accept_new_host_key=True)) for b in self.boards))


def load(path: str | Path) -> Fleet:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"{path}: cannot read it ({exc.strerror}); give a FLEET.toml (see 'edgeprof fleet --help')")
    return parse(text, path)


def parse(text: str, path: Path) -> Fleet:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(data) - {"name", "defaults", "host", "bench"}
    if unknown:
        raise UsageError(f"{path}: unknown table or key {sorted(unknown)[0]!r}; a fleet file has name, [defaults], "
                         f"[[host]] and [bench]")
    defaults = _table(data.get("defaults", {}), f"{path} [defaults]")
    hosts = data.get("host")
    if not isinstance(hosts, list) or not hosts:
        raise UsageError(f"{path}: no [[host]] entries; add one per board (name, target)")
    boards = tuple(_board(_table(h, f"{path} [[host]] #{i + 1}"), defaults, path, i) for i, h in enumerate(hosts))
    names = [b.name for b in boards]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise UsageError(f"{path}: two hosts are named {dup!r}; every board needs its own name")
    argv, models = _bench(_table(data.get("bench", {}), f"{path} [bench]"), path)
    return Fleet(str(data.get("name") or path.stem), boards, tuple(argv), tuple(models), str(path), text)


def _table(v: Any, where: str) -> dict:
    if not isinstance(v, dict):
        raise UsageError(f"{where}: expected a table")
    return v


def _strings(v: Any, where: str) -> tuple[str, ...]:
    vals = [v] if isinstance(v, str) else v
    if not isinstance(vals, list) or not all(isinstance(x, str) and x for x in vals):
        raise UsageError(f"{where}: expected a string or a list of strings")
    return tuple(vals)


def _board(h: dict, defaults: dict, path: Path, i: int) -> BoardSpec:
    where = f"{path} [[host]] #{i + 1}"
    if "password" in h or "password" in defaults:
        raise UsageError(f"{where}: passwords are not accepted; log in by key or SSH agent (identity = KEYFILE)")
    unknown = (set(h) | set(defaults)) - HOST_KEYS
    if unknown:
        raise UsageError(f"{where}: unknown key {sorted(unknown)[0]!r}; a host has {', '.join(sorted(HOST_KEYS))}")
    name = h.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise UsageError(f"{where}: name {name!r} must be letters, digits, '.', '_' or '-' (it names a folder)")
    if not isinstance(h.get("target"), str):
        raise UsageError(f"{where} ({name}): target = \"user@host[:port]\" is missing")
    merged = {**defaults, **h}
    ssh = SshOptions(identity=_strings(merged["identity"], f"{where}: identity") if "identity" in merged else (),
                     known_hosts=str(merged["known_hosts"]) if merged.get("known_hosts") else None,
                     config=str(merged["config"]) if merged.get("config") else None,
                     command=_strings(merged.get("command", ["edgeprof"]), f"{where}: command"))
    labels = {k: str(merged[k]) for k in LABELS if k in merged}
    sysroot = str(merged["sysroot"]) if merged.get("sysroot") else None
    return BoardSpec(name=name, target=Target.parse(h["target"]), ssh=ssh, labels=labels, sysroot=sysroot)


def _bench(b: dict, path: Path) -> tuple[list[str], list[str]]:
    """(bench flags, models) of the [bench] table, checked by bench's own parser."""
    import argparse

    from edgeprof.engine.config import BenchOptions
    from edgeprof.engine.options import add_arguments, from_namespace, read_option, to_argv

    models = [_model(m, path) for m in _strings(b.get("models", []), f"{path} [bench] models")] if "models" in b else []
    by_name = {f.name: f for f in fields(BenchOptions) if read_option(f) is not None}
    argv: list[str] = []
    for key, value in b.items():
        name = key.replace("-", "_")
        if key == "models":
            continue
        if name not in by_name or name in NOT_IN_BENCH or read_option(by_name[name]).positional:
            raise UsageError(f"{path} [bench]: {key!r} is not a bench option a fleet takes; use bench's option names "
                             f"(prompt, gen, depth, threads, reps, suite, ...: 'edgeprof bench --help')")
        argv += _flag(by_name[name], value, f"{path} [bench] {key}")

    class P(argparse.ArgumentParser):
        def error(self, message: str):  # type: ignore[override]
            raise UsageError(f"{path} [bench]: {message}")

    p = P(prog="[bench]", add_help=False)
    add_arguments(p, BenchOptions)
    ns = p.parse_args(argv)
    from_namespace(BenchOptions, ns)   # the rest of bench's checks (suite with -p, -p 0 with -n 0, ...)
    return to_argv(BenchOptions, ns, skip=NOT_IN_BENCH), models


def _flag(f, value: Any, where: str) -> list[str]:
    from edgeprof.engine.options import flag_of, read_option

    flag, m = flag_of(f), read_option(f)
    if m.action == "store_true":
        if not isinstance(value, bool):
            raise UsageError(f"{where}: expected true or false")
        return [flag] if value else []
    if m.action == "append":
        return [x for v in _strings(value, where) for x in (flag, v)]
    vals = value if isinstance(value, list) else [value]
    if not vals or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in vals):
        raise UsageError(f"{where}: expected a value or a list of values")
    if len(vals) > 1 and not m.sweep:
        raise UsageError(f"{where}: takes one value, not a list")
    return [flag, ",".join(str(v) for v in vals)]


def _model(m: str, path: Path) -> str:
    """A model named relative to the fleet file is that file or folder (a GGUF, an export, an HF
    directory: sent to the boards), made absolute without resolving links (a hub snapshot's file
    keeps its name); anything else (a catalogue id, a path on the boards) is kept as written."""
    local = (path.parent / Path(m).expanduser())
    return os.path.abspath(local) if local.exists() else m
