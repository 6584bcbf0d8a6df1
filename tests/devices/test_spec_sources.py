"""Every published figure in the device tables names where it came from (issue 25, "a number
without provenance is a bug").

The packaged tables (``assets/devices/devices.csv``, ``cpus.csv``, ``power_modes.csv``) and the
LocalScore model file sizes feed predictions and rooflines; a cell is filled only when a source
that was read states it (or its arithmetic from stated inputs), otherwise it is empty and the
prediction says it lacks the figure. These tests keep that so: a numeric cell without a source,
or a note admitting the figure was remembered rather than read, fails.
"""
from __future__ import annotations

import csv
import json
import re

import pytest

from edgeprof.analysis import specs
from edgeprof.assets_access import asset

# Phrases the rows entered without a network carried; a checked row says what it read instead.
UNREAD = re.compile(r"from memory|not fetched|without a network|no network there", re.I)


def _rows(name: str) -> list[dict]:
    with open(asset("devices", name), newline="") as fh:
        return list(csv.DictReader(fh))


def _numeric(row: dict, columns) -> list[str]:
    return [c for c in columns if (row.get(c) or "").strip()]


def test_every_device_figure_has_a_source_and_none_is_remembered():
    rows = _rows("devices.csv")
    assert len(rows) >= 100
    for r in rows:
        filled = _numeric(r, specs.NUMERIC)
        if filled:
            assert r["source_url"].strip() and r["source_note"].strip(), (r["id"], filled)
        assert not UNREAD.search(r["source_note"]), (r["id"], UNREAD.search(r["source_note"])[0])
        for c in filled:  # a figure is a number, never a guess in words
            float(r[c])


def test_every_cpu_tdp_and_power_mode_has_a_source():
    for r in _rows("cpus.csv"):
        if _numeric(r, ("tdp_w", "socket_cores", "idle_fraction")):
            assert r["source"].strip(), r["name"]
        assert not UNREAD.search(r["source"]), r["name"]
    modes = _rows("power_modes.csv")
    assert len(modes) >= 30
    for r in modes:
        assert r["source_url"].startswith("https://") and r["source_note"].strip(), (r["device_id"], r["mode"])
        assert not UNREAD.search(r["source_note"]), (r["device_id"], r["mode"])
        # an uncapped clock is a module maximum, and the note names where that maximum comes from
        if "uncapped" in r["source_note"]:
            assert re.search(r"data sheet|DS-\d|compare table|TechPowerUp|NVIDIA's own files", r["source_note"]), r


def test_every_model_file_size_names_its_source():
    data = json.loads(asset("reference", "localscore", "reference.json").read_text())
    sizes = [(m, q, f) for m, v in data["models"].items() for q, f in (v.get("files") or {}).items()
             if f.get("size_bytes")]
    assert len(sizes) >= 3
    for model, quant, f in sizes:
        assert f.get("basis", "").strip() and not UNREAD.search(f["basis"]), (model, quant)


@pytest.mark.parametrize("note, bad", [
    ("Entered 2026-11-29 from the vendor's published figures (not fetched in that session).", True),
    ("FP32 entered from memory.", True),
    ("TechPowerUp GPU Database https://www.techpowerup.com/gpu-specs/l4.c4091: 300.1 GB/s.", False),
])
def test_the_unread_phrases_are_caught(note, bad):
    assert bool(UNREAD.search(note)) is bad
