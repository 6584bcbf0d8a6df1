"""``edgeprof agent``: the board's side of ``bench --host`` and ``fleet``. edgeprof starts it over
SSH with this constant command line and sends ONE JSON request on stdin (never a shell string);
it answers in JSON lines (``fleet/protocol.py``). Not meant to be typed by people."""
from __future__ import annotations

import argparse

HELP = "the board's side of 'bench --host' and 'fleet run' (started by edgeprof over SSH; not for typing)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(args) -> int:
    from edgeprof.fleet.agent import serve

    return serve()
