"""The system commands a knob runs (``nvpmodel``, ``jetson_clocks``), as injectable argv prefixes.

Why injectable (CONTRACTS ``EDGEPROF_SYSROOT``): a command is never faked through the root. On
``/`` the real tools are run by name; under a sysroot nothing is run unless the caller names a
command for it (``[commands]`` in ``$EDGEPROF_HOME/config.toml``, e.g. a stand-in that edits the
tree, or ``["sudo", "-n", "nvpmodel"]`` on a board with a sudoers rule): the local tool would
change THIS machine, not the tree. Tests inject a ``run`` function instead of spawning.
"""
from __future__ import annotations

import os
import shlex
import sys
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from ..errors import DeviceError, NoPermission, NotPresent

#: the real tools, by name (JetPack puts them on PATH: /usr/sbin/nvpmodel, /usr/bin/jetson_clocks)
DEFAULTS = {"nvpmodel": ["nvpmodel"], "jetson_clocks": ["jetson_clocks"]}
#: words of a tool's complaint that mean "not allowed" rather than "failed"
DENIED = ("permission denied", "operation not permitted", "must be run as root", "run as root", "are you root",
          "insufficient permissions", "sudo")


@dataclass(frozen=True, slots=True)
class Done:
    """What a command did: its exit status and output."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str = ""
    stderr: str = ""

    @property
    def text(self) -> str:
        return (self.stdout + self.stderr).strip()


Run = Callable[[Sequence[str]], Done]


def _run(argv: Sequence[str]) -> Done:
    try:
        p = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError as exc:
        raise NotPresent(f"{argv[0]}: command not found", hint="install it or name it under [commands] in "
                                                               "$EDGEPROF_HOME/config.toml") from exc
    except (OSError, subprocess.SubprocessError) as exc:
        raise NotPresent(f"{shlex.join(argv)} could not run: {exc}") from exc
    return Done(tuple(argv), p.returncode, p.stdout or "", p.stderr or "")


class Commands:
    """Named commands (name -> argv prefix) and how to run them."""

    def __init__(self, argv: Mapping[str, Sequence[str]] | None = None, run: Run | None = None):
        self.argv = {k: list(v) for k, v in (argv or {}).items() if v}
        self._run = run or _run

    @classmethod
    def for_root(cls, root: Path | str, configured: Mapping[str, Any] | None = None,
                 run: Run | None = None) -> "Commands":
        """The real tools on ``/``; under a sysroot only what ``configured`` names (the
        ``[commands]`` table of config.toml: a list of arguments, or one string split as a shell would)."""
        base = dict(DEFAULTS) if Path(root) == Path("/") else {}
        if Path(root) == Path("/") and sys.platform == "darwin":
            base["pmset"] = ["pmset"]  # macOS: low-power mode and power source (read only)
        for name, value in (configured or {}).items():
            argv = shlex.split(value) if isinstance(value, str) else value
            if not isinstance(argv, (list, tuple)) or not argv or not all(isinstance(a, str) for a in argv):
                raise ValueError(f"[commands] {name} in config.toml must be a list of strings or a command line, "
                                 f"got {str(value)[:60]!r}")
            base[str(name)] = list(argv)
        return cls(base, run)

    def has(self, name: str) -> bool:
        return name in self.argv

    def line(self, name: str, *args: str) -> list[str]:
        return [*self.argv.get(name, DEFAULTS.get(name, [name])), *args]

    def shown(self, name: str, *args: str, sudo: bool = False) -> str:
        """The command as a user would paste it (shlex.join), with ``sudo`` in front when asked."""
        argv = self.line(name, *args)
        return shlex.join((["sudo"] if sudo and argv[:1] != ["sudo"] else []) + argv)

    def run(self, name: str, *args: str, why: str = "") -> Done:
        """Run ``name args``: NotPresent when it is not named here (a sysroot), NoPermission when it
        exits non-zero saying it is not allowed (the hint is the command with sudo), DeviceError for
        any other failure; the Done of a command that succeeded."""
        if name not in self.argv:
            raise NotPresent(f"'{name}' is not run under a sysroot (it would act on this machine, not the tree)",
                             hint=f"name a command for it under [commands] {name} = [...] in "
                                  f"$EDGEPROF_HOME/config.toml")
        done = self._run(self.line(name, *args))
        if done.returncode != 0:
            what = f"{shlex.join(done.argv)} failed ({done.text[:160] or 'exit ' + str(done.returncode)})"
            if any(w in done.text.lower() for w in DENIED):
                raise NoPermission(what + (f" {why}" if why else ""), hint=self.shown(name, *args, sudo=True))
            raise DeviceError(what, hint=None if _is_root() else f"if it needs root: {self.shown(name, *args, sudo=True)}")
        return done


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
