"""Each runtime owns its options (runtimes/knobs.py; STYLE.md rule 15, issue 22 item 4): a knob
declared in one runtime module is a bench flag listed in --help, validated like every flag (on
the command line and in a resumed plan), an axis of the sweep, and a key of the record's
placement — with no other file edited."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# One Knob added to llama.cpp's OPTIONS before anything else reads them: that is all a new knob is.
# The script then asks --help, the flag's validation, a real one-case bench and a tampered plan.
SCRIPT = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    from edgeprof.runtimes import llamacpp
    from edgeprof.runtimes.knobs import Knob

    llamacpp.OPTIONS += (Knob("spec_draft", ("--spec-draft",), "test knob: draft tokens per step",
                              default="off", choices=("off", "two", "four"), runtimes=("llama.cpp",)),)

    from edgeprof.cli import build_parser
    from edgeprof.engine.config import BenchOptions
    from edgeprof.engine.options import parse_value
    from edgeprof.engine.plan import read_plan
    from edgeprof.engine.session import RunSession
    from edgeprof.errors import UsageError

    out = {}
    parser = build_parser(["bench", "--help"])
    sub = parser._subparsers._group_actions[0].choices["bench"]
    out["help"] = sub.format_help()
    try:
        parse_value(BenchOptions, "spec_draft", "eight")
    except UsageError as exc:
        out["refused"] = str(exc)
    run_dir = Path(sys.argv[2])
    opts = BenchOptions(models=[sys.argv[1]], prompt=[8], gen=[4], reps=1, warmup=0, min_seconds=0.0,
                        idle_seconds=0.2, threads=[1], out=run_dir, spec_draft=["two"], quiet=True)
    session = RunSession.for_bench(opts)
    records = session.run(quiet_workers=True)
    out["status"] = [r.status for r in records]
    out["placement"] = records[0].runtime.placement.to_dict()
    plan = json.loads((run_dir / "plan.json").read_text())
    out["plan_case"] = dict(plan["cases"][0]["placement"])
    out["plan_axes"] = plan["axes"]
    plan["cases"][0]["placement"]["spec_draft"] = "eight"
    try:
        read_plan(plan)
    except UsageError as exc:
        out["plan_refused"] = str(exc)
    print(json.dumps(out))
''')


@pytest.mark.slow
def test_a_knob_declared_in_one_runtime_module_is_a_flag_an_axis_and_a_record_key(tmp_path, smollm2_gguf):
    env = dict(os.environ, PYTHONPATH=str(ROOT), EDGEPROF_HOME=str(tmp_path / "home"),
               EDGEPROF_HISTORY=str(tmp_path / "h.sqlite"))
    p = subprocess.run([sys.executable, "-c", SCRIPT, str(smollm2_gguf), str(tmp_path / "run")],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert "--spec-draft LIST" in got["help"] and "test knob: draft tokens per step" in got["help"]
    assert "llama.cpp options (declared by the runtime)" in got["help"]
    assert got["refused"].startswith("--spec-draft: expected one of off, two, four, got 'eight'")
    assert got["status"] == ["ok"]
    assert got["placement"]["spec_draft"] == "two"           # in the record, though llama.cpp never echoes it
    assert got["plan_case"]["spec_draft"] == "two" and got["plan_axes"]["spec_draft"] == ["two"]
    assert "placement.spec_draft expected one of off, two, four" in got["plan_refused"]


def test_every_runtime_option_is_declared_once_and_read_from_its_declaration():
    """The built-in knobs are declared in their runtime's module only: the bench flags, the plan
    checks and the axes are made from ``runtimes.options()``; the old per-knob lists are gone."""
    from dataclasses import fields

    from edgeprof.engine.config import BenchOptions
    from edgeprof.engine.options import read_option
    from edgeprof.engine.plan import Axes
    from edgeprof.runtimes import options

    names = [k.name for k in options()]
    assert names == ["flash_attn", "n_batch", "n_ubatch", "kv_type", "gpu_layers", "repack", "provider", "dtype"]
    by_field = {f.name: f for f in fields(BenchOptions)}
    for k in options():
        assert read_option(by_field[k.name]).knob is k and read_option(by_field[k.name]).flags == k.flags
    assert list(Axes().knobs) == names
    for path in ("edgeprof/engine/config.py", "edgeprof/engine/session.py", "edgeprof/engine/plan.py",
                 "edgeprof/engine/case_check.py"):
        text = (ROOT / path).read_text()
        assert "--kv-type" not in text and "\"kv_type\"" not in text and "--flash-attn" not in text, path
