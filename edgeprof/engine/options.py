"""Typed options that carry their own flags, help, default and validation (optimum-benchmark's
``field(metadata={"help": ...})`` + ``__post_init__`` pattern), and the argparse parser built from them.

Why: a rule written once on the field holds for every front-end (``bench``, ``tui``,
``compare --interleave``, ``reference build``) and a bad value is a one-line error with exit 2
before any file is written. Standard library only: ``edgeprof --help`` builds these parsers.
"""
from __future__ import annotations

import argparse
import math
import re
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, Callable

from edgeprof.errors import UsageError

_SUFFIX = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


@dataclass(frozen=True)
class Option:
    """What makes a dataclass field a command-line option (its field's ``metadata["option"]``)."""

    flags: tuple[str, ...]
    help: str
    parse: Callable[[str], Any] | None = None
    sweep: bool = False                                 # a comma list whose values become an axis
    choices: tuple[str, ...] | None = None
    check: Callable[[Any], str | None] | None = None    # one value -> why it is refused, or None
    metavar: str | None = None
    action: str | None = None
    positional: bool = False
    group: str | None = None                            # the --help section it is listed in
    knob: Any = None                                    # the runtime option it comes from (runtimes/knobs.py)


def read_option(f: Field) -> Option | None:
    """The option a field declares, or None for a field that is no command-line option."""
    return f.metadata.get("option")


def opt(default: Any, *flags: str, help: str, parse: Callable[[str], Any] | None = None, sweep: bool = False,
        choices: tuple[str, ...] | None = None, check: Callable[[Any], str | None] | None = None,
        metavar: str | None = None, action: str | None = None, positional: bool = False,
        group: str | None = None, knob: Any = None) -> Any:
    """A dataclass field that is also a command-line option (``Option``)."""
    meta = {"option": Option(flags, help, parse, sweep, choices, check, metavar, action, positional, group, knob)}
    if isinstance(default, list):
        return field(default_factory=lambda d=default: list(d), metadata=meta)
    return field(default=default, metadata=meta)


# -- value parsers and checks (one value; sweeps apply them per element) -----------------------
def integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected comma-separated integers, got {_short(text)!r}") from None


def number(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {_short(text)!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"expected a finite number, got {text!r}")
    return v


_SECONDS = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600}


def duration(text: str) -> float:
    """Seconds from ``90``, ``90s``, ``2m``, ``1.5h`` (CONTRACTS: durations are seconds; a unit may follow)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*", text, re.I)
    if not m:
        raise ValueError(f"expected a duration such as 90, 90s, 2m or 1h, got {_short(text)!r}")
    return float(m.group(1)) * _SECONDS[(m.group(2) or "").lower()]


def byte_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.I)
    if not m:
        raise ValueError(f"expected a size in bytes with an optional K/M/G suffix, got {text!r}")
    return int(float(m.group(1)) * _SUFFIX[m.group(2).upper()])


def at_least(lo: float, what: str = "") -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v is None or v >= lo else f"must be at least {lo:g}{what}, got {v:g}"
    return check


def between(lo: int, hi: int) -> Callable[[Any], str | None]:
    """An integer bound on both sides: a flag's value is also a count the runtime and SQLite hold."""
    def check(v: Any) -> str | None:
        if v is None or lo <= v <= hi:
            return None
        return f"must be at least {lo}, got {v}" if v < lo else f"must be at most {hi:,}, got {_short(v)}"
    return check


def _short(v: Any) -> str:
    """A value as an error message quotes it: a 5,000-digit number is not echoed whole."""
    text = str(v)
    return text if len(text) <= 24 else f"{text[:12]}... ({len(text)} characters)"


def above(lo: float) -> Callable[[Any], str | None]:
    def check(v: Any) -> str | None:
        return None if v is None or v > lo else f"must be greater than {lo:g}, got {v:g}"
    return check


def knob_field(k: Any) -> Any:
    """A runtime's option (``runtimes.knobs.Knob``) as a sweep field: its flags, help, choices or
    integer range, and its default as a one-value list."""
    return opt([k.default], *k.flags, help=k.help, sweep=True, choices=k.choices,
               parse=integer if k.integer else None, check=between(*k.integer) if k.integer else None,
               group=f"{' / '.join(k.runtimes) or 'runtime'} options (declared by the runtime)", knob=k)


# -- argparse from the fields --------------------------------------------------------------
def flag_of(f: Field) -> str:
    """The field's first flag (``--name`` when it declares none)."""
    o = read_option(f)
    return o.flags[0] if o and o.flags else f"--{f.name.replace('_', '-')}"


_flag = flag_of


def _converter(f: Field) -> Callable[[str], Any]:
    """argparse ``type=``: parse, then check, each element of a sweep; errors name the flag."""
    m = read_option(f)
    parse = m.parse or str

    def one(text: str) -> Any:
        text = text.strip()
        if m.choices and text not in m.choices:
            raise ValueError(f"expected one of {', '.join(m.choices)}, got {text!r}")
        v = parse(text)
        msg = m.check(v) if m.check else None
        if msg:
            raise ValueError(msg)
        return v

    def conv(text: str) -> Any:
        try:
            if m.sweep:
                vals = [one(x) for x in text.split(",") if x.strip()]
                if not vals:
                    raise ValueError(f"expected a comma list, got {text!r}")
                return vals
            return one(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return conv


def add_arguments(parser: argparse.ArgumentParser, cls: type, skip: tuple[str, ...] = ()) -> None:
    groups: dict[str, Any] = {}
    for f in fields(cls):
        m = read_option(f)
        if m is None or f.name in skip:
            continue
        group = m.group
        if group and group not in groups:
            groups[group] = parser.add_argument_group(group)
        where = groups[group] if group else parser
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        if m.positional:
            where.add_argument(f.name, nargs="*", metavar=m.metavar, help=m.help, default=default)
            continue
        names = m.flags or (_flag(f),)
        kw: dict[str, Any] = {"dest": f.name, "help": m.help, "default": default}
        if m.action:
            kw["action"] = m.action
        else:
            kw["type"] = _converter(f)
            kw["metavar"] = m.metavar or ("LIST" if m.sweep else "{" + ",".join(m.choices) + "}" if m.choices else None)
        where.add_argument(*names, **kw)


def parse_value(cls: type, name: str, text: str) -> Any:
    """One field of ``cls`` from text, with its flag's parser and checks (a form in a front-end
    validates exactly as the command line does); a bad value is a ``UsageError`` naming the flag."""
    f = next(x for x in fields(cls) if x.name == name)
    try:
        return _converter(f)(text)
    except argparse.ArgumentTypeError as exc:
        raise fail(_flag(f), str(exc)) from None


def from_namespace(cls: type, ns: argparse.Namespace, **override: Any):
    """The validated options of ``cls`` from parsed arguments (``__post_init__`` checks the rest)."""
    kw = {f.name: getattr(ns, f.name) for f in fields(cls) if hasattr(ns, f.name)}
    kw.update(override)
    return cls(**kw)


def fail(flag: str, message: str) -> UsageError:
    return UsageError(f"{flag}: {message}")


def to_argv(cls: type, ns: argparse.Namespace | Any, skip: tuple[str, ...] = ()) -> list[str]:
    """The options of ``ns`` (parsed arguments or an instance of ``cls``) that differ from their
    defaults, as an argument list that parses back to them: what a remote run or a fleet sends to
    the other end's parser (an argument list, never a shell string). Positionals are left out."""
    out: list[str] = []
    for f in fields(cls):
        m = read_option(f)
        if m is None or f.name in skip or m.positional or not hasattr(ns, f.name):
            continue
        v = getattr(ns, f.name)
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        if v == default:
            continue
        flag = _flag(f)
        if m.action == "store_true":
            out += [flag] if v else []
        elif m.action == "append":
            for x in v or []:
                out += [flag, str(x)]
        elif m.sweep:
            out += [flag, ",".join("" if x is None else str(x) for x in v)]
        elif v is not None:
            out += [flag, str(v)]
    return out
