"""``edgeprof`` command line. Subcommands live in ``edgeprof.commands.<name>`` and import only
the standard library at module level, so ``edgeprof --help`` stays as cheap as argparse.
Heavy libraries (llama_cpp, onnxruntime, torch, textual) are imported inside ``run``."""
from __future__ import annotations

import argparse
import importlib
import sys

from edgeprof import __version__

COMMANDS = ("bench", "export", "devices", "models", "compare", "predict", "reference", "report", "tui", "history",
            "fleet", "agent")


class ArgumentParser(argparse.ArgumentParser):
    """Usage errors exit 2 with one line naming the fix, not a page of usage."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser. With ``argv``, only the command it names gets its arguments: the others need
    just their one-line help, and building bench's options (a typed dataclass of ~40 validated
    fields) would cost ``edgeprof --help`` a third of its start-up time for nothing."""
    p = ArgumentParser(prog="edgeprof", description="How efficiently a model runs on this device, "
                       "and how that compares with a datacenter GPU.")
    p.add_argument("--version", action="version", version=f"edgeprof {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    wanted = None if argv is None else next((a for a in argv if a in COMMANDS), "")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"edgeprof.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"edgeprof.commands.{name}":
                continue  # a command that is not built yet
            raise
        sp = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        if wanted is None or wanted == name:
            mod.add_arguments(sp)
        sp.set_defaults(_run=mod.run)
    return p


def one_line(text: str) -> str:
    """An error is one line whatever it quotes: a path or name holding a newline or an escape
    sequence is shown with those characters escaped (``\\n``), never split or executed by the terminal."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)


def _warning(message, category, filename, lineno, file=None, line=None) -> None:
    print(f"edgeprof: warning: {one_line(str(message))}", file=sys.stderr)


def restore_power(home) -> None:
    """The first thing every command does: restore power settings a sweep changed and could not put
    back (its process was killed), from the journal in ``EDGEPROF_HOME``, saying so on stderr
    (devices/knobs/journal.py). One ``stat`` when there is nothing to do; a journal whose sweep is
    still running is left to it."""
    from edgeprof.devices.knobs.journal import NAME

    path = home.home() / NAME
    if not path.is_file():
        return
    from edgeprof.devices.errors import DeviceError
    from edgeprof.devices.knobs.commands import Commands
    from edgeprof.devices.knobs.journal import recover

    try:
        configured = home.config().get("commands") or {}
        lines = recover(path, lambda root: Commands.for_root(root, configured))
    except (DeviceError, ValueError) as exc:
        hint = getattr(exc, "hint", None)
        lines = [f"power settings left changed by an earlier run were not restored: {exc}" + (f"; {hint}" if hint else "")]
    for line in lines:
        print(f"edgeprof: {line}", file=sys.stderr)


def _stdout_closed() -> bool:
    """Whether stdout's reader went away (a pipe with no reader polls POLLERR); then stdout is
    pointed at /dev/null, so the interpreter's own flush at exit prints no "Exception ignored"."""
    import os
    import select

    try:
        fd = sys.stdout.fileno()
        poll = select.poll()
        poll.register(fd, select.POLLOUT)
        if not any(ev & select.POLLERR for _, ev in poll.poll(0)):
            return False
        os.dup2(os.open(os.devnull, os.O_WRONLY), fd)
        return True
    except (OSError, ValueError, AttributeError):
        return False


def main(argv: list[str] | None = None) -> int:
    from edgeprof.errors import EdgeprofError

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    import warnings

    warnings.showwarning = _warning  # our warnings are one line, like our errors
    from edgeprof import home

    try:
        home.check()
        restore_power(home)
        return int(args._run(args) or 0)
    except EdgeprofError as exc:
        print(f"edgeprof: {'' if exc.exit_code == 130 else 'error: '}{one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        if _stdout_closed():  # `edgeprof ... | head`: the reader has what it wanted; say nothing, like cat
            return 141
        print("edgeprof: error: a pipe closed while edgeprof was writing to it", file=sys.stderr)
        return 1
    except OSError as exc:  # a filesystem error no command foresaw: one line all the same
        from edgeprof.errors import unforeseen_os_error

        from edgeprof.home import home_fix

        line = one_line(str(unforeseen_os_error(exc, home_fix(exc.filename or "."))))
        print(f"edgeprof: error: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("edgeprof: interrupted; records already written are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
