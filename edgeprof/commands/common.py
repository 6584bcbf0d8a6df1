"""Argument helpers shared by the small commands (standard library only)."""
from __future__ import annotations

import argparse


def add_format(p: argparse.ArgumentParser, formats: tuple[str, ...], default: str = "md") -> None:
    p.add_argument("-o", "--format", choices=formats, default=default, help=f"what is printed on stdout (default {default})")
