"""Power knobs against fixture trees and fakes built from public documentation: the nvpmodel and
jetson_clocks stand-ins (tests/fixtures/jetson/standin.py) on the Orin Nano tree, the fake NVML with
settable power limits, cpufreq trees with governors; the run context read from them; the restore
journal after the process that changed the settings is gone."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fx_fake_nvml import FakeClock, FakeGpu, FakeNvml

from edgeprof.devices.context import is_power, read_context
from edgeprof.devices.errors import DeviceError, NoPermission, NotPresent
from edgeprof.devices.jetson import JetsonBoard
from edgeprof.devices.knobs import Commands, open_knob, open_knobs
from edgeprof.devices.knobs.journal import Journal, owner_alive, read, recover
from edgeprof.devices.nvidia import NvidiaGpu

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
sys.path.insert(0, str(FIXTURES / "jetson"))
import standin  # noqa: E402


@pytest.fixture
def orin(board):
    root = board("orin-nano-jp6")
    return root, JetsonBoard.open(root, nvpmodel=None)


def cmds(root, deny=False):
    return Commands({"nvpmodel": ["nvpmodel"], "jetson_clocks": ["jetson_clocks"]}, standin.runner(root, deny))


def test_power_mode_names_ids_switch_and_read_back(orin, tmp_path):
    root, dev = orin
    knob = open_knob("power_mode", [dev], root, cmds(root), tmp_path)
    assert knob.choices() == ["15W", "25W", "MAXN_SUPER", "7W"]           # ids 0, 1, 2, 3 (nvpmodel.conf)
    assert knob.resolve("1") == "25W" and knob.resolve("maxn_super") == "MAXN_SUPER"
    with pytest.raises(ValueError, match="0=15W, 1=25W, 2=MAXN_SUPER, 3=7W"):
        knob.resolve("40W")
    snap = knob.snapshot()
    assert snap == {"value": "MAXN_SUPER", "mode_id": 2}
    knob.apply("15W")
    assert knob.current() == "15W"                                        # read back through nvpmodel -q
    # the stand-in changed the tree as the mode does: ceilings, status file, board-input draw
    ctx = read_context([dev], root, cmds(root)).values
    assert (ctx["power_mode"], ctx["power_mode_id"], ctx["cpu_max_mhz"], ctx["gpu_max_mhz"]) == ("15W", 0, 1497.6, 612.0)
    assert (root / "var/lib/nvpmodel/status").read_text().startswith("pmode:0000")
    knob.restore(snap)
    assert read_context([dev], root, cmds(root)).values["gpu_max_mhz"] == 1020.0


def test_refusal_names_the_granting_command(orin, tmp_path):
    root, dev = orin
    knob = open_knob("power_mode", [dev], root, cmds(root, deny=True), tmp_path)
    with pytest.raises(NoPermission) as err:
        knob.apply("25W")
    assert "Permission denied" in str(err.value) and err.value.hint == "sudo nvpmodel -m 1"


def test_no_command_under_a_sysroot_says_how_to_name_one(orin, tmp_path):
    root, dev = orin
    knob = open_knob("power_mode", [dev], root, Commands.for_root(root), tmp_path)
    assert knob.current() == "MAXN_SUPER"                  # still read, from the status file + conf
    with pytest.raises(NotPresent, match="not run under a sysroot") as err:
        knob.apply("15W")
    assert "[commands]" in err.value.hint


def test_jetson_clocks_on_then_off_from_the_stored_state(orin, tmp_path):
    root, dev = orin
    knob = open_knob("jetson_clocks", [dev], root, cmds(root), tmp_path)
    snap = knob.snapshot()
    assert snap["value"] == "off" and (tmp_path / "jetson_clocks.conf").is_file()
    knob.apply("on")
    assert knob.current() == "on"
    knob.apply("off")
    assert knob.current() == "off"


def test_gpu_power_limit_through_fake_nvml(tmp_path):
    nvml = FakeNvml([FakeGpu()], FakeClock())
    (gpu,) = NvidiaGpu.open("/", nvml=nvml, clock=nvml.clock.monotonic, sleep=nvml.clock.sleep)
    knob = open_knob("gpu_power_limit", [gpu], "/", Commands(), tmp_path)
    assert knob.resolve("300W") == "300" and knob.resolve("default") == "default"
    with pytest.raises(ValueError, match="200-700 W"):
        knob.resolve("900")
    snap = knob.snapshot()
    knob.apply("300")
    assert knob.current() == "300" and nvml.gpus[0].power_limit_mw == 300_000
    assert read_context([gpu], tmp_path).values["nvidia0.power_limit_w"] == 300.0
    assert knob.matches("default", "700") and not knob.matches("default", "300")
    knob.restore(snap)
    assert nvml.gpus[0].power_limit_mw == 700_000
    nvml.gpus[0].may_set_limit = False
    with pytest.raises(NoPermission) as err:
        knob.apply("250")
    assert err.value.hint == "sudo nvidia-smi -i 0 -pl 250"


def test_governor_on_a_cpufreq_tree_and_a_refused_write(board, tmp_path):
    root = board("rapl-2socket")
    knob = open_knob("governor", [], root, Commands(), tmp_path)
    assert "performance" in knob.choices()
    with pytest.raises(ValueError, match="scaling_available_governors"):
        knob.resolve("turbo")
    snap = knob.snapshot()
    assert snap["value"] == "powersave" and len(snap["each"]) == 4
    knob.apply("performance")
    assert knob.current() == "performance"
    assert read_context([], root).values["cpu_governor"] == "performance"
    knob.restore(snap)
    assert knob.current() == "powersave"

    def refuse(path, text):  # CI runs as root: file modes prove nothing, so the write itself refuses
        raise PermissionError(13, "Permission denied", str(path))
    denied = open_knob("governor", [], root, Commands(), tmp_path, write=refuse)
    with pytest.raises(NoPermission) as err:
        denied.apply("performance")
    assert err.value.hint == "sudo cpupower frequency-set -g performance"


def test_knobs_that_do_not_exist_here_say_why(tmp_path):
    got = open_knobs(["power_mode", "gpu_power_limit", "governor"], [], tmp_path, Commands(), tmp_path)
    assert all(isinstance(v, DeviceError) for v in got.values())
    assert "needs a Jetson" in str(got["power_mode"]) and "cpufreq" in str(got["governor"])


def test_context_fields_and_which_are_power(board, tmp_path):
    root = board("rapl-2socket")
    d = "/sys/devices/virtual/powercap/intel-rapl/intel-rapl:0"
    from fx_boards import write
    write(root, f"{d}/constraint_0_power_limit_uw", "350000000")
    write(root, f"{d}/constraint_0_name", "long_term")
    write(root, "/sys/devices/system/cpu/intel_pstate/no_turbo", "1")
    write(root, "/sys/devices/system/cpu/cpu0/cpufreq/energy_performance_preference", "balance_power")
    write(root, "/sys/class/power_supply/AC/type", "Mains")
    write(root, "/sys/class/power_supply/AC/online", "0")
    write(root, "/sys/class/power_supply/BAT0/type", "Battery")
    write(root, "/sys/class/power_supply/BAT0/status", "Discharging")
    ctx = read_context([], root)
    v = ctx.values
    assert v["rapl.package-0.long_term_w"] == 350.0 and v["cpu_boost"] == "off" and v["cpu_epp"] == "balance_power"
    assert v["power_source"] == "battery" and v["cpu_max_mhz"] == 3800.0
    assert ctx.unknown["temp_c"].startswith("no thermal zones")
    assert is_power("cpu_governor") and is_power("nvidia0.power_limit_w") and not is_power("temp_c.cpu-thermal")


def test_journal_restores_after_the_owner_died(orin, tmp_path):
    root, dev = orin
    commands = cmds(root)
    knob = open_knob("power_mode", [dev], root, commands, tmp_path)
    path = tmp_path / "home" / "power-journal.json"
    # a child process changes the mode after journaling the original, then dies without restoring
    code = (f"import sys, os; sys.path.insert(0, {str(FIXTURES / 'jetson')!r}); import standin; "
            f"from pathlib import Path; from edgeprof.devices.knobs import Commands; "
            f"from edgeprof.devices.knobs.journal import Journal; "
            f"from edgeprof.devices.knobs.nvpmodel import PowerModeKnob; from edgeprof.devices.sysfs import FileReader; "
            f"root = Path({str(root)!r}); c = Commands({{'nvpmodel': ['nvpmodel']}}, standin.runner(root)); "
            f"k = PowerModeKnob('jetson0', FileReader(root), c); j = Journal(Path({str(path)!r}), root, 'run-x'); "
            f"j.add(k.journal_entry(k.snapshot())); k.apply('7W'); os._exit(9)")
    p = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": os.getcwd()}, timeout=60)
    assert p.returncode == 9 and knob.current() == "7W"
    data = read(path)
    assert data["entries"][0]["snapshot"]["value"] == "MAXN_SUPER" and not owner_alive(data)
    lines = recover(path, lambda r: commands)
    assert knob.current() == "MAXN_SUPER" and not path.exists()
    assert len(lines) == 1 and "restored power mode MAXN_SUPER" in lines[0] and "run run-x" in lines[0]
    assert recover(path, lambda r: commands) == []        # nothing left: silent


def test_journal_of_a_running_owner_is_left_alone(orin, tmp_path):
    root, dev = orin
    path = tmp_path / "power-journal.json"
    j = Journal(path, root)
    j.add({"axis": "power_mode", "device_id": "jetson0", "snapshot": {"value": "15W"}})
    assert owner_alive(json.loads(path.read_text()))
    assert recover(path, lambda r: cmds(root)) == [] and path.exists()   # this process still owns it
    j.drop("power_mode", "jetson0")
    assert not path.exists()


def test_macos_low_power_mode_and_power_source_from_pmset(tmp_path):
    """``pmset -g`` / ``pmset -g batt`` output in the format of pmset(1) as printed by macOS 14
    (``lowpowermode 1``; ``Now drawing from 'Battery Power'``)."""
    from edgeprof.devices.knobs import Done

    out = {("pmset", "-g"): "System-wide power settings:\nCurrently in use:\n standby 1\n lowpowermode 1\n sleep 1\n",
           ("pmset", "-g", "batt"): "Now drawing from 'Battery Power'\n -InternalBattery-0 (id=1)\t81%; discharging\n"}
    commands = Commands({"pmset": ["pmset"]}, lambda argv: Done(tuple(argv), 0, out[tuple(argv)], ""))
    v = read_context([], tmp_path, commands).values
    assert v["low_power_mode"] == "on" and v["power_source"] == "battery"
    assert "low_power_mode" not in read_context([], tmp_path, Commands()).values   # not a Mac: not asked
