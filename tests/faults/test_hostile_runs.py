"""Issue 21 item 9: a hostile run directory (anyone can hand one over) never gives a traceback in
``report``, ``compare``, ``edgeprof.load()`` or ``reference add``: a side file symlinked to /dev/zero
or a FIFO, JSON nested 100,000 deep, NaN or absurd numbers in a record are one line naming the file
and the fix, or are shown as n/a. Hypothesis draws the damage over the recorded fixture run: a
random value of a random record replaced, a random side file swapped for a device, a FIFO or deep
JSON, and the STRUCTURE damaged — an object replaced by a number, text or a list, a key dropped, a
wrong type at any level of a record (artifact.quality, metrics.X, reference, runtime.placement,
extra...) or of a side file; an unusable ``EDGEPROF_HOME`` is one line too. Item 10: a report of an
interrupted run says cases are missing."""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from faultkit import ROOT

from edgeprof.errors import EdgeprofError

MATRIX = ROOT / "tests" / "fixtures" / "report" / "matrix"
DEEP = "[" * 100_000 + "]" * 100_000


def _copy(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(MATRIX, run)
    return run


def _ids(run: Path) -> list[str]:
    return [json.loads(x)["case_id"] for x in (run / "records.jsonl").read_text().splitlines()]


def _dev_zero(run: Path, name: str) -> None:
    (run / name).unlink(missing_ok=True)
    (run / name).symlink_to("/dev/zero")


def _fifo(run: Path, name: str) -> None:
    (run / name).unlink(missing_ok=True)
    os.mkfifo(run / name)


def _damage(run: Path, how: str) -> None:
    cid = _ids(run)[0]
    if how == "columns.json -> /dev/zero":
        _dev_zero(run, f"samples/{cid}.columns.json")
    elif how == "samples csv -> /dev/zero":
        _dev_zero(run, f"samples/{cid}.csv")
    elif how == "samples csv is a FIFO":
        _fifo(run, f"samples/{cid}.csv")
    elif how == "records.jsonl is a FIFO":
        _fifo(run, "records.jsonl")
    elif how in ("env.json nested 1e5 deep", "plan.json nested 1e5 deep"):
        (run / how.split()[0]).write_text(DEEP)
    elif how == "a record holding NaN":
        lines = (run / "records.jsonl").read_text().splitlines()
        rec = json.loads(lines[0])
        for m in rec["metrics"].values():
            m.update(value=float("nan"), median=float("nan"), samples=[float("nan"), float("inf")])
        rec["extra_nan"] = float("nan")
        (run / "records.jsonl").write_text("\n".join([json.dumps(rec)] + lines[1:]) + "\n")


HOW = ["columns.json -> /dev/zero", "samples csv -> /dev/zero", "samples csv is a FIFO", "records.jsonl is a FIFO",
       "env.json nested 1e5 deep", "plan.json nested 1e5 deep", "a record holding NaN"]


def _cli(*args, home: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), EDGEPROF_HOME=str(home), EDGEPROF_HISTORY=str(home / "h.sqlite"))
    return subprocess.run([sys.executable, "-m", "edgeprof", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("how", HOW)
def test_report_compare_and_load_on_a_hostile_run(tmp_path, how):
    run = _copy(tmp_path)
    _damage(run, how)
    for args in (("report", run, "--terminal", "--width", "80"), ("compare", run, MATRIX)):
        res = _cli(*args, home=tmp_path / "home")
        assert "Traceback" not in res.stderr, (how, args, res.stderr[-2000:])
        assert res.returncode in (0, 1, 2)
        if res.returncode == 2:
            (line,) = [x for x in res.stderr.splitlines() if x.startswith("edgeprof: error:")]
            assert any(w in line for w in ("remove", "restore", "re-run", "give ")), line
    import edgeprof

    try:
        frame = edgeprof.load(run)
    except EdgeprofError as exc:
        assert "\n" not in str(exc)
    else:
        assert len(frame) >= 1


def test_a_nan_record_is_shown_as_not_measured(tmp_path):
    from edgeprof.results.jsonl import read_records

    run = _copy(tmp_path)
    _damage(run, "a record holding NaN")
    first = read_records(run / "records.jsonl")[0]
    assert first.metrics == {}  # no figure of NaN; the row stays, every figure n/a


def test_an_interrupted_run_is_reported_incomplete(tmp_path):
    run = _copy(tmp_path)
    lines = (run / "records.jsonl").read_text().splitlines()
    (run / "records.jsonl").write_text("\n".join(lines[:2]) + "\n")
    res = _cli("report", run, "--terminal", "--width", "80", home=tmp_path / "home")
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"INCOMPLETE: {len(lines) - 2} of {len(lines)} planned case(s)" in res.stdout
    assert "finish it with: edgeprof bench --resume" in res.stdout


@pytest.mark.parametrize("home", ["file", "/proc/edgeprof-home"])
def test_an_unusable_edgeprof_home_is_one_line(tmp_path, home):
    if home == "file":
        home = tmp_path / "home-file"
        home.write_text("x")
    res = _cli("reference", "list", home=Path(home))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    (line,) = [x for x in res.stderr.splitlines() if x.startswith("edgeprof: error:")]
    assert f"EDGEPROF_HOME={home}" in line and "unset it" in line


# -- hypothesis: a random field of a random record, or a random side file, made hostile ----------
_VALUES = st.sampled_from([float("nan"), float("inf"), float("-inf"), -1e308, 10**30, -(10**30), "", "x" * 5000,
                           None, True, "=cmd|' /C calc'!A0", "\n|\n", "nan", -1, 0, 2**63, "\x1b[2J"])
_SIDE = st.sampled_from(["env.json", "plan.json", "baseline.json", "suite.json"])


def _paths(obj, prefix=()):
    """Paths to the scalar leaves of a record (a number, text, null or flag: what a hand-edited or
    foreign file changes); containers keep their shape."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj[:3]) if isinstance(obj, list) else ()
    for k, v in items:
        if isinstance(v, (dict, list)):
            yield from _paths(v, prefix + (k,))
        else:
            yield prefix + (k,)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_any_hostile_run_loads_or_is_one_line(tmp_path_factory, data):
    from edgeprof.results.printers import markdown, to_csv
    from edgeprof.views.report.data import case_views, open_run

    run = _copy(tmp_path_factory.mktemp("hyp"))
    lines = (run / "records.jsonl").read_text().splitlines()
    i = data.draw(st.integers(0, len(lines) - 1))
    rec = json.loads(lines[i])
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(sorted(_paths(rec), key=str)))
        node = rec
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = data.draw(_VALUES)
    lines[i] = json.dumps(rec)
    (run / "records.jsonl").write_text("\n".join(lines) + "\n")
    side = data.draw(st.one_of(st.none(), _SIDE))
    if side:
        kind = data.draw(st.sampled_from(["zero", "deep", "garbage", "list"]))
        if kind == "zero":
            _dev_zero(run, side)
        else:
            (run / side).write_text({"deep": DEEP, "garbage": "{\x00", "list": "[1, 2]"}[kind])
    try:
        rd = open_run(run)
        recs = [c.record for c in case_views([rd])]
        markdown(recs)
        to_csv(recs)
        rd.missing_note()
    except EdgeprofError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 1000


# -- hypothesis: the STRUCTURE damaged, at any level of a record or a side file ---------------------
_SHAPES = st.sampled_from([7, -1.5, "x", "", [], [1, "a"], {}, {"a": {"b": 1}}, None, True])


def _nodes(obj, prefix=(), depth=4):
    """Paths to every node of ``obj`` (containers too), ``depth`` deep, the first two list items."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj[:2]) if isinstance(obj, list) else ()
    for k, v in items:
        yield prefix + (k,)
        if len(prefix) + 1 < depth:
            yield from _nodes(v, prefix + (k,), depth)


def _wreck(obj, data) -> list[str]:
    """One to three structural changes to ``obj`` (a node replaced by another shape, or a key dropped)."""
    done = []
    for _ in range(data.draw(st.integers(1, 3))):
        paths = sorted(_nodes(obj), key=lambda p: (len(p), str(p)))
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        node = obj
        for k in path[:-1]:
            node = node[k]
        if isinstance(node, dict) and data.draw(st.booleans()):
            del node[path[-1]]
            done.append(f"dropped {path}")
        else:
            node[path[-1]] = json.loads(json.dumps(data.draw(_SHAPES)))
            done.append(f"{path} = {node[path[-1]]!r}")
    return done


@contextlib.contextmanager
def _home(home: Path):
    old = {k: os.environ.get(k) for k in ("EDGEPROF_HOME", "EDGEPROF_HISTORY")}
    os.environ.update(EDGEPROF_HOME=str(home), EDGEPROF_HISTORY=str(home / "h.sqlite"))
    try:
        yield
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def _main(*args) -> tuple[int, str]:
    """``edgeprof ARGS`` in this process (an exception it does not turn into one line fails the test)."""
    from edgeprof.cli import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in args])
    return rc, err.getvalue()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(data=st.data())
def test_structural_damage_is_loaded_or_one_line(tmp_path_factory, data):
    import edgeprof

    tmp = tmp_path_factory.mktemp("shape")
    run = _copy(tmp)
    lines = (run / "records.jsonl").read_text().splitlines()
    i = data.draw(st.integers(0, len(lines) - 2))  # not the last line: a bad last line is a torn write, skipped
    rec = json.loads(lines[i])
    what = _wreck(rec, data)
    lines[i] = json.dumps(rec)
    (run / "records.jsonl").write_text("\n".join(lines) + "\n")
    side = data.draw(st.one_of(st.none(), st.sampled_from(["env.json", "plan.json", "baseline.json"])))
    if side:
        doc = json.loads((run / side).read_text())
        what += [f"{side}: {w}" for w in _wreck(doc, data)]
        (run / side).write_text(json.dumps(doc))
    with _home(tmp / "home"):
        for args in (("report", run, "--terminal", "--width", "80"), ("compare", run, MATRIX),
                     ("compare", MATRIX, run), ("reference", "add", run, "--name", "hyp", "--overwrite")):
            rc, err = _main(*args)
            assert rc in (0, 1, 2), (what, args, rc, err[-500:])
            if rc:
                errors = [x for x in err.splitlines() if x.startswith("edgeprof: error:")]
                assert len(errors) == 1, (what, args, err[-500:])
        try:
            edgeprof.load(run)
        except EdgeprofError as exc:
            assert "\n" not in str(exc), what


@pytest.mark.parametrize("where, damage, refused", [
    ("baseline.json", {"t0_ns": {"a": 1}}, True),           # was: a TypeError shading the idle span
    ("baseline.json", {"idle_power_w": []}, True),           # was: a ValueError in the report's appendix
    ("env.json", {"sensors": True}, True),                   # was: a TypeError labelling the trace columns
    ("plan.json", {"cases": [1, 2]}, True),
    ("record", {"model": {"n_layers": {"a": 1}}}, False),   # was: a TypeError in the roofline's KV bytes
    ("record", {"provenance_note": None}, False),            # was: a TypeError printing a metric's note
])
def test_structural_damage_found_before(tmp_path, where, damage, refused):
    """The crashes the structural damage found, each one line now (or a report without that figure)."""
    from edgeprof.views.report import sections
    from edgeprof.views.report.data import case_views, open_run

    run = _copy(tmp_path)
    if where == "record":
        lines = (run / "records.jsonl").read_text().splitlines()
        rec = json.loads(lines[2])   # a GGUF row: its header's shape is in the record
        if "model" in damage:
            rec["model"].update(damage["model"])
        else:
            rec["metrics"]["avg_power_w"]["provenance"]["note"] = None
        lines[2] = json.dumps(rec)
        (run / "records.jsonl").write_text("\n".join(lines) + "\n")
    else:
        doc = json.loads((run / where).read_text())
        doc.update(damage)
        (run / where).write_text(json.dumps(doc))
    with _home(tmp_path / "home"):
        rc, err = _main("report", run, "--terminal", "--width", "80")
    if refused:
        (line,) = [x for x in err.splitlines() if x.startswith("edgeprof: error:")]
        assert rc == 2 and where in line and "restore or remove the file" in line, err
        return
    assert rc == 0, err
    cases = case_views([open_run(run)])
    sections.roofline(cases)       # the record's shape, not a number, is ignored: no KV bytes from it
    sections.results(cases)
