"""One rule for "quiet" (issue 20, item 5): a probe taken on a busy machine is used only while no
quiet one is stored, and the cell says so; ``edgeprof devices`` judges the very window its table
shows, and its probe's first attempt is judged on it (it printed "quiet" beside 85 % busy)."""
from __future__ import annotations

import pytest

from edgeprof.analysis import specs
from edgeprof.devices.load import LoadMeter
from edgeprof.devices.probe import probe
from edgeprof.results.schema import DeviceRef

DEV = DeviceRef(id="cpu0:test", name="Unknown CPU", kind="cpu")


def _probe(quality: str, bw: float, day: str) -> dict:
    return {"probe_version": 2, "measured_at": f"2026-11-{day}T00:00:00+00:00", "quality": quality,
            "quality_note": "x", "load": {"during": {"other_cpu_cores": 1.5 if quality != "quiet" else 0.0}},
            "bandwidth": {"value": bw, "provenance": {}}, "flops": {"value": 0.1, "provenance": {}}}


def test_a_contended_probe_never_displaces_a_quiet_one(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path))
    specs.save_probe(DEV.id, _probe("quiet", 20.0, "20"))
    path = specs.save_probe(DEV.id, _probe("contended", 3.0, "29"))
    assert path.name.endswith(".contended.json") and path.is_file()
    assert specs.load_probe(DEV.id).bandwidth.value == 20.0
    spec = specs.device_spec(DEV, table=[])
    assert spec.peak_mem_bandwidth_gbs == 20.0 and spec.provenance["peak_mem_bandwidth_gbs"].quality == "quiet"
    # a newer quiet probe replaces the quiet one
    specs.save_probe(DEV.id, _probe("quiet", 22.0, "30"))
    assert specs.load_probe(DEV.id).bandwidth.value == 22.0


def test_a_contended_probe_is_used_only_without_a_quiet_one_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path))
    specs.save_probe(DEV.id, _probe("contended", 3.0, "28"))
    specs.save_probe(DEV.id, _probe("contended", 4.0, "29"))  # the latest of two busy ones
    prov = specs.device_spec(DEV, table=[]).provenance["peak_mem_bandwidth_gbs"]
    assert prov.quality == "contended" and "CONTENDED" in prov.label and "no quiet probe yet" in prov.label
    assert specs.load_probe(DEV.id).bandwidth.value == 4.0


def test_a_busy_re_probe_at_bench_time_keeps_the_quiet_figure(tmp_path, monkeypatch):
    """A quiet probe stored: no probe at all; an unlabelled one is re-probed, and a busy result is labelled."""
    from edgeprof.engine.peaks import device_spec

    monkeypatch.setenv("EDGEPROF_HOME", str(tmp_path))
    specs.save_probe(DEV.id, _probe("quiet", 20.0, "20"))
    spec = device_spec(DEV, run_probe=lambda: 1 / 0)  # quiet stored: no probe at all
    assert spec.peak_mem_bandwidth_gbs == 20.0
    specs.probe_path(DEV.id).unlink()
    specs.save_probe(DEV.id, {k: v for k, v in _probe("contended", 3.0, "28").items() if k != "quality"})
    spec = device_spec(DEV, run_probe=lambda: _probe("contended", 2.0, "30"))  # unlabelled: probed again
    assert spec.peak_mem_bandwidth_gbs == 2.0  # contended replaces an unlabelled one, labelled
    assert "no quiet probe yet" in spec.provenance["peak_mem_bandwidth_gbs"].label


def test_a_busy_table_window_makes_the_first_attempt_contended():
    busy = {"window_s": 0.3, "busy_fraction": 0.85, "other_cpu_cores": 1.7, "own_cpu_cores": 0.0,
            "steal_fraction": 0.0, "loadavg_1m": 3.0, "logical_cores": 2}
    r = probe(8 << 20, 64, retries=0, load_window_s=0.05, before=busy)
    assert r["quality"] == "contended" and r["load"]["before"] == busy and "1.70 cores" in r["quality_note"]


def test_the_devices_table_and_its_verdict_read_one_window(tmp_path):
    """The utilization row and the machine-load line cover the same window (the row held
    edgeprof's own start-up before), and the line judges it by the bench's rule."""
    from edgeprof.commands.devices import describe, markdown
    from edgeprof.devices.cpu import HostCpu
    from tests.fixtures.boards import cpuinfo, meminfo

    cpuinfo(tmp_path, "Test CPU", 2)
    meminfo(tmp_path, 8_000_000, 6_000_000)
    dev = HostCpu.open(tmp_path)
    try:
        (entry,) = describe([dev], meter=LoadMeter())
    finally:
        dev.close()
    as_json = entry.to_dict()
    util = next(r["value"] for s in as_json["sensors"] for r in s.get("readings", []) if r["sensor"] == "cpu:utilization")
    load = as_json["load"]
    assert util == pytest.approx(load["window"]["busy_fraction"], abs=0.12), (util, load)
    assert load["status"] in ("quiet", "contended")
    if load["status"] == "quiet":
        assert util < 0.3
    line = [ln for ln in markdown([entry]).splitlines() if ln.startswith("machine load over these")]
    assert line and (("quiet" in line[0]) == (load["status"] == "quiet"))
