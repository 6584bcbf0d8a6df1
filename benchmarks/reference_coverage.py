#!/usr/bin/env python
"""How many rows of each packaged reference set carry a server roofline, by accelerator.

    python benchmarks/reference_coverage.py            # LocalScore (the packaged sets)
    python benchmarks/reference_coverage.py --missing  # and the accelerators without a figure

A row's server roofline is its decode speed as a share of its accelerator's published memory
bandwidth limit (``compare.ratios.server_roofline``: bandwidth from ``assets/devices/devices.csv``,
bytes per token from the row's model file). A row whose accelerator has no published figure there
reads n/a with the reason; this counts both, so a new ``devices.csv`` row shows up here.
"""
from __future__ import annotations

import argparse
import collections
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--missing", action="store_true", help="list the accelerators without a published figure")
    ap.add_argument("--top", type=int, default=15, help="how many of them (default 15)")
    args = ap.parse_args()

    from edgeprof.compare.ratios import server_roofline
    from edgeprof.compare.refsets import load_sets

    with tempfile.TemporaryDirectory() as empty:       # the packaged sets only, not yours
        sets = [s for s in load_sets(empty) if s.origin == "packaged"]
    for s in sets:
        cache: dict = {}
        have, lack = collections.Counter(), collections.Counter()
        for r in s.records:
            if not r.ok or r.metric("decode_tokens_per_s") is None:
                continue
            name = r.device.extra.get("spec_name") or r.device.name or "(unnamed)"
            (have if server_roofline(r, cache).value is not None else lack)[name] += 1
        total = sum(have.values()) + sum(lack.values())
        if not total:
            continue
        print(f"{s.name}: {sum(have.values())} of {total} rows with a decode rate have a server roofline "
              f"({len(have)} accelerators); {sum(lack.values())} without ({len(lack)} accelerators)")
        if args.missing:
            for name, n in lack.most_common(args.top):
                print(f"  {n:4d}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
