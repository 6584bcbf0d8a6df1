"""Roofline and compute-utilization cells name the probe they rest on (date, quiet or contended)
and flag a measured peak more than 2x below the published spec (issue 13, item 1)."""
from __future__ import annotations

from pathlib import Path

import pytest

from edgeprof.analysis import roofline, specs
from edgeprof.results.jsonl import read_records
from edgeprof.results.printers import roofline_text
from edgeprof.results.schema import DeviceRef

RUNS = Path(__file__).resolve().parents[1] / "fixtures" / "runs"
ROW = specs.SpecRow(id="test_cpu_30gbs", vendor="Test", name="Test CPU", kind="cpu", memory_gb=None,
                    peak_mem_bandwidth_gbs=30.0, peak_fp16_tflops=None, peak_fp32_tflops=0.5, peak_int8_tops=None,
                    tdp_w=None, match="test cpu")


def _probe(quality, bw_gbs, other_cores=1.21):
    load = {"during": {"other_cpu_cores": other_cores, "window_s": 2.0, "logical_cores": 2}}
    return {"measured_at": "2026-11-29T08:50:00+00:00", "quality": quality, "load": load,
            "quality_note": "other processes used 1.21 cores", "bandwidth": {"value": bw_gbs, "provenance": {}},
            "flops": {"value": 0.018, "provenance": {}}}


def _cell(probe):
    rec = read_records(RUNS / "same-A" / "records.jsonl")[0]
    spec = specs.device_spec(DeviceRef(id="cpu0:test", name="Test CPU", kind="cpu"),
                             probe=specs.ProbeResult.from_dict(probe), table=[ROW])
    return roofline_text(roofline.roofline_metrics(rec, spec)), spec


def test_a_contended_probe_far_below_spec_is_named_and_flagged():
    text, spec = _cell(_probe("contended", 2.68))
    prov = spec.provenance["peak_mem_bandwidth_gbs"]
    assert prov.quality == "contended" and "11.2x below the published" in prov.flag
    assert "probe 2026-11-29" in text and "11.2x below the published" in text
    assert text.count("probe 2026-11-29") == 2  # both cells: bandwidth roofline and peak FLOP/s
    assert "27.8x below the published" in text   # 0.018 TFLOP/s against 0.5


def test_a_quiet_probe_near_spec_is_named_without_a_flag():
    text, spec = _cell(_probe("quiet", 27.0))
    assert spec.provenance["peak_mem_bandwidth_gbs"].flag is None
    bw_cell = text.split(";")[0]
    assert "probe 2026-11-29" in bw_cell and "below" not in bw_cell


def test_a_probe_without_recorded_load_says_its_quality_is_unknown():
    old = {"measured_at": "2026-11-23T00:00:00+00:00", "bandwidth": {"value": 20.0, "provenance": {}}}
    spec = specs.device_spec(DeviceRef(id="cpu0:x", name="Unknown CPU", kind="cpu"),
                             probe=specs.ProbeResult.from_dict(old), table=[])
    assert spec.provenance["peak_mem_bandwidth_gbs"].quality == "unknown"
    assert "quality unknown" in spec.provenance["peak_mem_bandwidth_gbs"].label


def test_a_contended_probe_without_its_figures_is_still_labelled():
    """``devices.probe.probe_label`` is the one label: CONTENDED with the cores when recorded."""
    assert specs.probe_label(_probe("contended", 2.68)) == "probe 2026-11-29 (CONTENDED: others 1.21 cores)"
    bare = dict(_probe("contended", 2.68), load={"during": {"other_cpu_cores": None}})
    assert specs.probe_label(bare) == "probe 2026-11-29 (CONTENDED)"
    assert specs.probe_label(_probe("quiet", 27.0)) == "probe 2026-11-29 (quiet)"


def test_your_own_rows_come_first_and_a_broken_table_is_named(tmp_path, monkeypatch):
    """A CPU the packaged table lacks (it publishes no CPU bandwidth yet) gets its published figure
    from your ``$EDGEPROF_HOME/devices/devices.csv``; the flag names that row. A broken file is one
    line in the log, and the packaged rows still serve."""
    from edgeprof.engine.peaks import device_spec as enrich_spec

    env = {"EDGEPROF_HOME": str(tmp_path)}
    mine = specs.user_table(env)
    mine.parent.mkdir(parents=True)
    mine.write_text("id,name,kind,peak_mem_bandwidth_gbs,match\nmy_cpu,My CPU,cpu,30,test cpu\n")
    spec = specs.device_spec(DeviceRef(id="cpu0:test", name="Test CPU", kind="cpu"), env=env,
                             probe=specs.ProbeResult.from_dict(_probe("contended", 2.68)))
    prov = spec.provenance["peak_mem_bandwidth_gbs"]
    assert spec.spec_id == "my_cpu" and "11.2x below the published 30 GB/s" in prov.flag
    assert prov.flag.endswith(f"(published figure: your {mine} row my_cpu)")
    assert specs.load_table(env=env)[-1].origin == specs.PACKAGED
    mine.write_text("id,name,kind,peak_mem_bandwidth_gbs,match\nmy_cpu,My CPU,cpu,fast,test cpu\n")
    with pytest.raises(ValueError, match="row 'my_cpu': peak_mem_bandwidth_gbs 'fast' is not a number"):
        specs.load_table(env=env)
    logged = []
    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path))
    h100 = enrich_spec(DeviceRef(id="nvidia0", kind="nvidia", name="NVIDIA H100 80GB HBM3"), logged.append,
                       probe_if_missing=False)
    assert h100.spec_id == "nvidia_h100_sxm" and "using the packaged device table only" in logged[0]


def test_a_stored_probe_without_its_load_is_taken_again(tmp_path, monkeypatch):
    """A probe stored before the load was recorded may be the 2.7 GB/s of a busy machine: the next
    bench probes again (a real, quick probe here) and the roofline names the new one."""
    from edgeprof.devices.probe import probe
    from edgeprof.engine.peaks import device_spec as enrich_spec

    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path))
    dev = DeviceRef(id="cpu0:test", name="Unknown CPU", kind="cpu")
    specs.save_probe(dev.id, {"probe_version": 1, "measured_at": "2026-11-23T00:00:00+00:00",
                                 "bandwidth": {"value": 2.68, "provenance": {}}})
    logged = []
    spec = enrich_spec(dev, logged.append, run_probe=lambda: probe(8 << 20, 128, retries=0, load_window_s=0.1))
    assert "recorded no machine load" in logged[0] and "2026-11-23" in logged[0]
    prov = spec.provenance["peak_mem_bandwidth_gbs"]
    assert prov.quality in ("quiet", "contended") and prov.label.startswith("probe 20")
    assert specs.load_probe(dev.id).quality == prov.quality        # stored for the next run
    assert enrich_spec(dev, logged.append, run_probe=lambda: 1 / 0) == spec  # not again
