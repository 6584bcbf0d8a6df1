"""Argument helpers shared by commands (standard library only)."""
from __future__ import annotations

import argparse
import re
import sys

FORMATS = ("md", "csv", "json", "jsonl")
_SUFFIX = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def int_list(text: str) -> list[int]:
    try:
        vals = [int(x) for x in text.split(",") if x.strip() != ""]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not vals or any(v < 0 for v in vals):
        raise argparse.ArgumentTypeError(f"expected non-negative integers, got {text!r}")
    return vals


def str_list(choices: tuple[str, ...] | None = None):
    def parse(text: str) -> list[str]:
        vals = [x.strip() for x in text.split(",") if x.strip()]
        bad = [v for v in vals if choices and v not in choices]
        if bad or not vals:
            raise argparse.ArgumentTypeError(f"expected a comma list of {', '.join(choices or ())}, got {text!r}")
        return vals
    return parse


def byte_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"expected a size in bytes with an optional K/M/G suffix, got {text!r}")
    return int(float(m.group(1)) * _SUFFIX[m.group(2).upper()])


def add_format(p: argparse.ArgumentParser, formats: tuple[str, ...] = FORMATS, default: str = "md") -> None:
    p.add_argument("-o", "--format", choices=formats, default=default, help=f"what is printed on stdout (default {default})")


def error(msg: str) -> None:
    print(f"edgeprof: error: {msg}", file=sys.stderr)


def physical_cores() -> int:
    try:
        import psutil

        return psutil.cpu_count(logical=False) or psutil.cpu_count() or 1
    except ImportError:  # pragma: no cover
        import os

        return os.cpu_count() or 1
