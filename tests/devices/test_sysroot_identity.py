"""A fixture tree describes its board, never the machine running the test (issue 20, item 6): on
an Orin tree ``devices`` reported this host's ``arch: x86_64``, ``physical_cores: 2``,
``jetson_clocks: None`` and a 48 W CPU TDP estimate as a second "total" beside VDD_IN. Every
figure is read through the sysroot or is ``unknown`` with why; a board's measured total wins."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from edgeprof import devices
from edgeprof.devices.cpu import HostCpu, TdpSpec
from edgeprof.devices.topology import cpu_identity, parse_cpuinfo
from edgeprof.devices.sysfs import FileReader
from tests.fixtures.boards import build, cpuinfo, meminfo

ROOT = Path(__file__).resolve().parents[2]
TDP = TdpSpec(tdp_w=48.0, socket_cores=None, idle_fraction=0.1, basis="test")


def _cpu(found):
    return next(d for d in found if d.info().kind == "cpu")


def test_a_jetson_tree_names_no_host_figure(tmp_path):
    root = build(tmp_path, "orin-nano-jp6")  # no /proc/cpuinfo in this tree; sysfs has 6 CPUs
    found = devices.detect(root, cpu_tdp=TDP)
    try:
        info = _cpu(found).info()
        specs = info.specs
        assert specs["arch"] == "aarch64"              # from the tree's nv_tegra_release, not uname
        assert specs["logical_cores"] == 6              # sysfs cpu0..cpu5 of the tree
        assert specs["physical_cores"] is None and "sysroot" in specs["unknown"]["physical_cores"]
        assert info.name == "unknown CPU" and "sysroot" in specs["unknown"]["model"]
        jetson = next(d for d in found if d.info().kind == "jetson")
        totals = [(d.info().kind, s.info.name) for d in found for s in d.sensors() if s.info.total and s.available]
        assert totals == [("jetson", "ina3221:VDD_IN")]  # the estimate is no second total
        est = next(s for s in _cpu(found).sensors() if s.info.name == "cpu:power_estimate")
        assert not est.available and "ina3221:VDD_IN" in est.info.reason
        assert specs["energy_source"] == "the board's measured total (ina3221:VDD_IN)"
        assert jetson.info().specs["jetson_clocks"] in ("on", "off")
    finally:
        for d in found:
            d.close()


def test_missing_board_files_are_unknown_with_why(tmp_path):
    root = build(tmp_path, "thor-jp7")  # no cpufreq, no GPU devfreq, no nvpmodel status in this tree
    found = devices.detect(root, cpu_tdp=TDP)
    try:
        specs = next(d for d in found if d.info().kind == "jetson").info().specs
        assert specs["jetson_clocks"] is None and "scaling_min_freq" in specs["unknown"]["jetson_clocks"]
        assert specs["cpu_governor"] is None and "scaling_governor" in specs["unknown"]["cpu_governor"]
        assert specs["power_mode"] is None and "nvpmodel" in specs["unknown"]["power_mode"]
    finally:
        for d in found:
            d.close()


def test_cpuinfo_of_the_tree_gives_the_architecture():
    arm = "processor\t: 0\nBogoMIPS\t: 62.50\nFeatures\t: fp asimd\nCPU implementer\t: 0x41\nCPU architecture: 8\n"
    assert parse_cpuinfo(arm)["arch"] == "aarch64"
    assert parse_cpuinfo("processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse4_2 avx\n")["arch"] == "x86_64"
    assert parse_cpuinfo("")["arch"] is None


def test_an_x86_tree_counts_its_own_cores(tmp_path):
    cpuinfo(tmp_path, "Intel(R) Xeon(R) Platinum 8481C CPU @ 2.70GHz", 8)
    meminfo(tmp_path, 16_000_000, 12_000_000)
    ci = cpu_identity(FileReader(tmp_path), tmp_path)
    assert (ci["logical"], ci["physical"], ci["arch"]) == (8, 8, "x86_64") and not ci["unknown"]
    dev = HostCpu.open(tmp_path, tdp=TDP)
    try:
        est = next(s for s in dev.sensors() if s.info.name == "cpu:power_estimate")
        assert est.available and est.info.total          # alone, the estimate is the (labelled) total
        util = next(s for s in dev.sensors() if s.info.name == "cpu:utilization")
        assert "never re-rooted" in util.info.note      # live CPU time, and it says so
    finally:
        dev.close()


def test_the_devices_command_prints_unknown_not_none(tmp_path):
    root = build(tmp_path / "tree", "thor-jp7")
    env = dict(os.environ, EDGEPROF_SYSROOT=str(root), EDGEPROF_HOME=str(tmp_path / "home"), PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "edgeprof", "devices"], capture_output=True, text=True, env=env,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    specs_lines = [ln for ln in proc.stdout.splitlines() if ":" in ln and not ln.startswith(("|", "#", "machine"))]
    assert specs_lines and not any("None" in ln for ln in specs_lines), specs_lines
    assert "jetson_clocks: unknown (no cpufreq" in proc.stdout
    if os.uname().machine != "aarch64":
        assert f"arch: {os.uname().machine}" not in proc.stdout
    assert "(total)" in proc.stdout and proc.stdout.count("(total)") == 1
