"""records.jsonl under damage: short writes, torn tails, torn middles, re-runs — the one writer
and the one reader of ``edgeprof.results.jsonl`` on real files. A short write is made by the
kernel itself (RLIMIT_FSIZE in a child process), not by a mock."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import pytest

from edgeprof.results.history import load_run
from edgeprof.results.jsonl import RunError, TornLineWarning, append_record, read_records, repair_tail, replace_record


def rec(case_id: str, **kw) -> dict:
    return {"schema_version": 1, "case_id": case_id, "run_id": "r", "status": kw.pop("status", "ok"),
            "metrics": {}, "pad": kw.pop("pad", ""), **kw}


def lines(path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_a_short_write_leaves_no_half_record_and_the_next_append_is_whole(tmp_path):
    """The file may grow by 100 bytes only: the kernel writes 100 bytes of the 5 kB record, then
    refuses (EFBIG). The writer raises, cuts the partial line off (kept in .torn), and a later
    append lands on a line of its own."""
    path = tmp_path / "records.jsonl"
    append_record(path, rec("a"))
    size = path.stat().st_size
    script = textwrap.dedent(f"""
        import resource, signal, sys
        from pathlib import Path
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({size} + 100, resource.RLIM_INFINITY))
        from edgeprof.results.jsonl import append_record
        try:
            append_record(Path({str(path)!r}), {{"case_id": "b", "pad": "x" * 5000}})
        except OSError as exc:
            print("raised", exc.errno)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("raised 27"), out.stderr  # EFBIG after the short write
    assert path.stat().st_size == size, "the partial line was cut off"
    assert (tmp_path / "records.jsonl.torn").stat().st_size >= 100
    append_record(path, rec("c"))
    assert [r["case_id"] for r in lines(path)] == ["a", "c"]


def test_a_torn_tail_is_moved_aside_before_the_next_append(tmp_path):
    path = tmp_path / "records.jsonl"
    for c in "ab":
        append_record(path, rec(c))
    whole = path.read_bytes()
    path.write_bytes(whole + json.dumps(rec("c", pad="y" * 3000)).encode()[:1234])  # a write cut short
    with pytest.warns(TornLineWarning, match=r"records.jsonl:3: last line is torn"):
        assert [r.case_id for r in read_records(path)] == ["a", "b"]
    append_record(path, rec("c"))
    assert [r["case_id"] for r in lines(path)] == ["a", "b", "c"]
    assert (tmp_path / "records.jsonl.torn").read_bytes().startswith(b'{"schema_version"')
    assert len((tmp_path / "records.jsonl.torn").read_bytes()) == 1235


def test_a_whole_last_record_without_its_newline_is_kept(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps(rec("a")) + "\n" + json.dumps(rec("b")))  # written by another tool
    assert repair_tail(path) == 0
    append_record(path, rec("c"))
    assert [r["case_id"] for r in lines(path)] == ["a", "b", "c"]
    assert not (tmp_path / "records.jsonl.torn").exists()


def test_nul_bytes_after_a_crash_are_a_torn_tail(tmp_path):
    path = tmp_path / "records.jsonl"
    append_record(path, rec("a"))
    with open(path, "ab") as f:
        f.write(b"\0" * 4096)  # delayed allocation after a power cut
    with pytest.warns(TornLineWarning):
        assert len(read_records(path)) == 1
    append_record(path, rec("b"))
    assert [r["case_id"] for r in lines(path)] == ["a", "b"]


def test_a_torn_middle_line_is_an_error_naming_it(tmp_path):
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps(rec("a")) + "\n" + '{"case_id": "b", "sta\n' + json.dumps(rec("c")) + "\n")
    with pytest.raises(RunError, match=r"records.jsonl:2: invalid record .* damaged in the middle"):
        read_records(path)
    for bad in ("[1, 2]", '"text"', "null", "[" * 50000):  # valid JSON that is not a record, a nesting bomb
        path.write_text(json.dumps(rec("a")) + "\n" + bad + "\n" + json.dumps(rec("c")) + "\n")
        with pytest.raises(RunError, match=r":2: invalid record"):
            read_records(path)


def test_history_reads_with_the_same_policy(tmp_path):
    """The run loader behind compare/report skips a torn LAST line too (it used to refuse the run)."""
    path = tmp_path / "records.jsonl"
    append_record(path, rec("a"))
    with open(path, "ab") as f:
        f.write(b'{"case_id": "b", "st')
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        run = load_run(tmp_path)
    assert [r.case_id for r in run["records"]] == ["a"]
    assert any("last line is torn" in str(w.message) for w in seen)


def test_a_rerun_replaces_its_record_and_keeps_the_others_byte_for_byte(tmp_path):
    path = tmp_path / "records.jsonl"
    for c, st in (("a", "ok"), ("b", "failed"), ("c", "ok")):
        append_record(path, rec(c, status=st))
    before = path.read_text().splitlines()
    replace_record(path, rec("b", status="ok", pad="new"))
    after = path.read_text().splitlines()
    assert [r["case_id"] for r in lines(path)] == ["a", "c", "b"]
    assert after[:2] == [before[0], before[2]]
    assert lines(path)[2]["status"] == "ok" and not (tmp_path / "records.jsonl.tmp").exists()
