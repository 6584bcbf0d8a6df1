"""``edgeprof bench --power-mode`` on the Jetson fixture, as a user would run it: one row per mode
with its context, the trade-off and its knee named, the original mode restored after success,
after SIGTERM and — by the next command — after SIGKILL; a refused mode is a failed row naming the
command that grants it; ``compare`` of two modes names the difference first and gives no verdict."""
from __future__ import annotations

import json
import signal
import time

import pytest
from powerkit import orin_board, tiny

pytestmark = pytest.mark.slow


def rows(run) -> list[dict]:
    return [json.loads(line) for line in (run / "records.jsonl").read_text().splitlines()]


def test_two_mode_sweep_context_knee_restore_and_compare(orin, smollm2_gguf):
    run = orin.tmp / "run"
    p = orin.edgeprof("bench", str(smollm2_gguf), "--power-mode", "15W,1", "--out", str(run), *tiny())
    assert p.returncode == 0, p.stderr[-2000:]
    recs = rows(run)
    assert [r["power"] for r in recs] == [{"power_mode": "15W"}, {"power_mode": "25W"}]   # "1" is 25W's id
    for r, (mode, gpu_mhz) in zip(recs, (("15W", 612.0), ("25W", 918.0))):
        f = r["context"]["fields"]
        assert (f["power_mode"], f["gpu_max_mhz"], f["jetson_clocks"]) == (mode, gpu_mhz, "off")
        assert f["temp_c.cpu-thermal"] == 48.5 and r["context"]["changed"] == {}
        assert r["context"]["runtime_build"]["runtime"] == "llama.cpp"
        assert "THROTTLED" not in json.dumps(r.get("throttled"))   # a lower mode is not a throttled higher one
        assert r["throttled"] is not True
    # the idle power is measured again under each mode (the stand-in's rail draw differs per mode)
    assert recs[0]["idle_power_w"] < recs[1]["idle_power_w"]
    out = p.stdout
    assert "| power_mode=15W |" in out and "| power_mode=25W |" in out
    assert "run context (" in out and "power mode 15W" in out and "GPU max MHz 918.0" in out
    assert "power trade-off" in out and "pick for efficiency:" in out and "knee (most tok/J within 10 %" in out
    # restored at the end, and said so; nothing left in the journal
    assert orin.mode() == "pmode:0002" and not orin.journal().exists()
    assert "restored power mode MAXN_SUPER" in p.stderr
    # each change is a log line before that setting's idle baseline (stderr is not a terminal here)
    err = p.stderr
    assert err.index("set power_mode 15W (read back); cool-down") < err.index("set power_mode 25W (read back)"), err
    assert "idle baseline" in err.split("set power_mode 25W (read back)", 1)[1]

    c = orin.edgeprof("compare", str(run), "--a-where", "power_mode=15W", "--b-where", "power_mode=25W")
    assert c.returncode == 0, c.stderr
    first = c.stdout.splitlines()[0]
    assert first.startswith("power context differs:") and "setting power_mode 15W -> 25W" in first
    assert "GPU max MHz 612.0 -> 918.0" in first
    table = [ln for ln in c.stdout.splitlines() if ln.startswith("| smollm2")]
    assert table and all("no verdict: measured under another power context" in ln for ln in table)
    assert not any(w in " ".join(table) for w in ("faster", "slower", "better", "worse"))
    allowed = orin.edgeprof("compare", str(run), "--a-where", "power_mode=15W", "--b-where", "power_mode=25W",
                            "--allow-context-mismatch")
    assert "verdicts are given anyway" in allowed.stdout and "no verdict: measured" not in allowed.stdout


def test_refused_mode_is_a_failed_row_and_the_sweep_goes_on(tmp_path, smollm2_gguf):
    board = orin_board(tmp_path, deny=True)
    run = tmp_path / "run"
    p = board.edgeprof("bench", str(smollm2_gguf), "--power-mode", "15W,MAXN_SUPER", "--out", str(run), *tiny())
    assert p.returncode == 1
    refused, kept = rows(run)
    assert refused["status"] == "failed" and refused["error"]["kind"] == "power_setting"
    assert "Permission denied" in refused["error"]["message"]
    assert refused["error"]["grant"].endswith("nvpmodel -m 0") and refused["error"]["grant"].startswith("sudo ")
    assert kept["status"] == "ok" and kept["power"] == {"power_mode": "MAXN_SUPER"}   # already in force: runs
    assert "grant it with: sudo " in p.stderr                                # one line says which command
    assert board.mode() == "pmode:0002" and not board.journal().exists()


def _wait_for_change(board, proc, limit_s: float = 300) -> None:
    t0 = time.monotonic()
    while board.mode() == "pmode:0002":
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() - t0 < limit_s, "the sweep never changed the mode"
        time.sleep(0.2)
    time.sleep(1.0)  # into the case


def test_sigterm_mid_sweep_restores_the_mode(orin, smollm2_gguf):
    proc = orin.start("bench", str(smollm2_gguf), "--power-mode", "7W,15W,25W", "--out", str(orin.tmp / "run"),
                      *tiny(min_seconds=30))
    _wait_for_change(orin, proc)
    assert orin.journal().exists()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert orin.mode() == "pmode:0002" and not orin.journal().exists()
    assert "restored power mode MAXN_SUPER" in err


def test_sigkill_mid_sweep_the_next_command_restores_and_says_so(orin, smollm2_gguf):
    proc = orin.start("bench", str(smollm2_gguf), "--power-mode", "7W,15W", "--out", str(orin.tmp / "run"),
                      *tiny(min_seconds=30))
    _wait_for_change(orin, proc)
    proc.kill()
    proc.communicate(timeout=60)
    assert orin.mode() != "pmode:0002"                       # nothing ran in the parent: left changed
    data = json.loads(orin.journal().read_text())
    assert data["entries"][0]["snapshot"]["value"] == "MAXN_SUPER" and data["pid"] == proc.pid
    d = orin.edgeprof("devices", "--json", timeout=120)
    assert d.returncode == 0, d.stderr
    assert "restored power mode MAXN_SUPER" in d.stderr and f"edgeprof pid {proc.pid}" in d.stderr
    assert orin.mode() == "pmode:0002" and not orin.journal().exists()
    again = orin.edgeprof("devices", "--json", timeout=120)
    assert "restored" not in again.stderr                      # said once: nothing left to restore
