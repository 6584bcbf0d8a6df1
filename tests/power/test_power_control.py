"""engine/power_axes.PowerControl without a worker: a governor sweep on a cpufreq tree, an NVML power
limit through the fake NVML (set, refused), the temperature-gated cool-down (reached, timed out)
and the restore journal it keeps while settings are changed."""
from __future__ import annotations

import json
import sys
import threading
import time

from powerkit import FIXTURES, boards

from edgeprof.devices.knobs import Commands
from edgeprof.devices.knobs.journal import Journal
from edgeprof.devices.nvidia import NvidiaGpu
from edgeprof.engine.config import Settings
from edgeprof.engine.power_axes import PowerControl

sys.path.insert(0, str(FIXTURES / "nvidia"))
import fake_nvml  # noqa: E402  (tests/fixtures/nvidia/fake_nvml.py)


def control(tmp_path, root, devices=(), **settings) -> PowerControl:
    notes: list[str] = []
    c = PowerControl(list(devices), root, Settings(**settings), Commands(), Journal(tmp_path / "j.json", root),
                     tmp_path / "state", notes.append)
    c.notes = notes  # type: ignore[attr-defined]
    return c


def test_governor_sweep_journal_and_restore(tmp_path):
    root = boards.build(tmp_path / "root", "rapl-2socket")
    c = control(tmp_path, root, power_cooldown_s=0)
    first = c.apply({"governor": "performance"})
    assert first.failure is None and first.changed == ["governor"]
    assert json.loads((tmp_path / "j.json").read_text())["entries"][0]["snapshot"]["value"] == "powersave"
    assert first.cooldown == {"waited_s": 0.0, "ended": "no thermal zone to gate on: no wait"}
    again = c.apply({"governor": "performance"})
    assert again.changed == [] and again.cooldown is None          # already in force: nothing to do
    assert c.read().values["cpu_governor"] == "performance"
    assert c.restore() == ["restored CPU governor powersave on 4 core(s)"]
    assert c.read().values["cpu_governor"] == "powersave" and not (tmp_path / "j.json").exists()


def test_gpu_power_limit_set_and_refused(tmp_path):
    nvml = fake_nvml.FakeNvml([fake_nvml.FakeGpu()], fake_nvml.FakeClock())
    gpus = NvidiaGpu.open("/", nvml=nvml, clock=nvml.clock.monotonic, sleep=nvml.clock.sleep)
    c = control(tmp_path, tmp_path, gpus, power_cooldown_s=0)
    assert c.apply({"gpu_power_limit": "300"}).failure is None and nvml.gpus[0].power_limit_mw == 300_000
    nvml.gpus[0].may_set_limit = False
    refused = c.apply({"gpu_power_limit": "250"}).failure
    assert refused.error.kind == "power_setting" and refused.error.extra["grant"] == "sudo nvidia-smi -i 0 -pl 250"
    assert c.notes[0].startswith("set gpu_power_limit 300 (read back)")   # the change, logged
    refusals = [n for n in c.notes if " not set: " in n]
    assert len(refusals) == 1 and "grant it with: sudo nvidia-smi -i 0 -pl 250" in refusals[0]
    nvml.gpus[0].may_set_limit = True
    assert c.restore() == ["restored GPU power limit 700 W"] and nvml.gpus[0].power_limit_mw == 700_000


def test_cool_down_waits_for_the_start_temperature_or_times_out(tmp_path):
    root = boards.build(tmp_path / "root", "orin-nano-jp6")
    c = control(tmp_path, root, power_cooldown_s=10, power_cooldown_c=2)
    c.read()                                                   # the run's start: hottest zone 48.5 C
    boards.write(root, "/sys/class/thermal/thermal_zone4/temp", "60000")

    def cool() -> None:
        time.sleep(1.5)
        boards.write(root, "/sys/class/thermal/thermal_zone4/temp", "50000")
    threading.Thread(target=cool, daemon=True).start()
    done = c.cool_down(lambda: False)
    assert 1.0 <= done["waited_s"] < 10 and "back within 2 C" in done["ended"] and "timed_out" not in done
    boards.write(root, "/sys/class/thermal/thermal_zone4/temp", "70000")
    quick = control(tmp_path, root, power_cooldown_s=0.5, power_cooldown_c=2)
    quick.start_c = 48.5
    late = quick.cool_down(lambda: False)
    assert late["timed_out"] and "timeout at 70.0 C" in late["ended"] and late["waited_s"] >= 0.5
