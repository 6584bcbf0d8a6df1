"""Issue 21 item 9: a hostile LocalScore export is refused with one line naming the file, the line
and the fix — never a traceback — whatever its fields hold (hypothesis draws them: non-ASCII
digits, 5,000-digit ids, 1e300, 200 KB fields, NUL bytes, invalid UTF-8). Item 10: a big import is
listed from the summary its writer stored, without reading its rows again."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from edgeprof.compare import localscore as ls
from edgeprof.compare import reference as ref

TSV = ref.asset("reference", "localscore", "localscore_results.tsv")
ROOT = Path(__file__).resolve().parents[2]
HEADER, GOOD = (line.encode() for line in TSV.read_text().splitlines()[:2])


def _with(col: str, value: bytes) -> bytes:
    """The export's header and first row with one column replaced (raw bytes: invalid UTF-8 allowed)."""
    fields = GOOD.split(b"\t")
    fields[ls.COLUMNS.index(col)] = value
    return HEADER + b"\n" + b"\t".join(fields) + b"\n"


CASES = {"test_num superscript two": ("test_num", "²".encode()), "5,000-digit id": ("test_num", b"9" * 5000),
         "accel_ram 1e300": ("accel_ram", b"1e300"), "200 KB model name": ("model_name", b"x" * 200_000),
         "invalid UTF-8": ("accel_name", b"\xff\xfe\xc3("), "NUL byte": ("system_os", b"Linux\x00"),
         "model_params 1e300": ("model_params", b"1e300"), "gen_tps nan": ("gen_tps", b"nan")}


@pytest.mark.parametrize("label", CASES)
def test_a_hostile_field_is_one_line_through_the_cli(tmp_path, label):
    col, value = CASES[label]
    f = tmp_path / "export.tsv"
    f.write_bytes(_with(col, value))
    res = subprocess.run([sys.executable, "-m", "edgeprof", "reference", "import", "localscore", str(f)],
                         capture_output=True, text=True, timeout=120,
                         env=dict(os.environ, PYTHONPATH=str(ROOT), EDGEPROF_HOME=str(tmp_path / "home")))
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr[-2000:]
    (line,) = [x for x in res.stderr.splitlines() if "error:" in x]
    assert str(f) in line and len(line) < 400 and ("fix or drop" in line or "pass the export" in line)
    assert not (tmp_path / "home" / "reference").exists() or not any((tmp_path / "home" / "reference").iterdir())


_HOSTILE_TEXT = st.one_of(
    st.text(max_size=30).map(str.encode),
    st.sampled_from([b"\xff", b"\x00", b"1e300", b"-1", b"inf", b"nan", "\u0663".encode(), b"9" * 5000,
                     b"x" * 150_000, b"", b"\r", b'"', b"12"]),
    st.binary(max_size=20))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(ls.COLUMNS), _HOSTILE_TEXT, min_size=1, max_size=4))
def test_any_hostile_row_loads_or_is_refused_with_one_line(tmp_path_factory, changes):
    fields = GOOD.split(b"\t")
    for col, value in changes.items():
        fields[ls.COLUMNS.index(col)] = value
    f = tmp_path_factory.mktemp("ls") / "export.tsv"
    f.write_bytes(HEADER + b"\n" + b"\t".join(fields) + b"\n")
    try:
        rows = ls.read_tsv(f)
    except ls.LocalScoreError as exc:
        text = str(exc)
        assert "\n" not in text and len(text) < 400 and str(f) in text
    else:
        for r in rows:
            assert 0 <= r.extra["result_id"] < 10**18
            assert r.device.memory_bytes is None or r.device.memory_bytes <= 2**60


def test_a_big_import_is_listed_without_reading_its_rows(tmp_path, monkeypatch):
    """3,000 rows imported: ``reference list`` shows them from the stored summary and opens no
    file of the set but reference.json; a changed rows file is read again (the summary is stale)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("opens_ls", ROOT / "tests" / "faults" / "opens.py")
    opens = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(opens)
    lines = TSV.read_text().splitlines()
    rows = [("\t".join([str(10**6 + i)] + lines[1 + i % 1218].split("\t")[1:])) for i in range(3000)]
    src = tmp_path / "big.tsv"
    src.write_text("\n".join([lines[0], *rows]) + "\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT), EDGEPROF_HOME=str(tmp_path / "home"))

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "edgeprof", "reference", *args], capture_output=True, text=True,
                              timeout=300, env=env)

    assert cli("import", "localscore", str(src), "--name", "big").returncode == 0
    folder = tmp_path / "home" / "reference" / "big"
    with opens.OpenWatch(folder) as w:
        listed = cli("list", "-o", "csv")
        w.drain()
    assert listed.returncode == 0 and ",3000," in listed.stdout
    assert {Path(p).name for p in w.opened} <= {"reference.json", "big"}, w.opened
    with open(folder / "big.tsv", "a") as fh:
        fh.write("\t".join([str(2 * 10**6)] + lines[1].split("\t")[1:]) + "\n")
    again = cli("list", "-o", "csv")
    assert again.returncode == 0 and ",3001," in again.stdout
