"""A user reference set's row index (``compare/refindex.py``, issue 21 item 10): written with the
set, it lets matching read only the rows that can match (not all 300,000 of a large import), with
the very comparison a full read gives; a rows file changed since, or an index that does not match
its rows, falls back to reading every row and says so. benchmarks/attack.py times a 300,000-row
import followed by a bench."""
from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from refdata import LOCALSCORE_CASES, suite_case

from edgeprof.analysis import suites
from edgeprof.compare import localscore as ls
from edgeprof.compare import refindex, refwrite
from edgeprof.compare import reference as ref
from edgeprof.compare.whatif_rows import Submission
from edgeprof.results.schema import ModelInfo

TSV = ref.asset("reference", "localscore", "localscore_results.tsv")
LLAMA_1B = ModelInfo("llama-3-2-1b-instruct", "Llama 3.2 1B Instruct", 1_235_814_400)


def _summary(model=LLAMA_1B, quant="q4_k_m"):
    """A Llama 3.2 1B Q4_K_M localscore suite summary (made-up edge figures; the rows are real)."""
    recs = [suite_case(p, n, prefill=[500.0, 510.0, 520.0], decode=[40.0, 41.0, 43.0], ttft=[p / 0.5] * 3,
                       device_name="NVIDIA Jetson Orin Nano Developer Kit", kind="jetson")
            for p, n in LOCALSCORE_CASES]
    recs = [replace(r, model=model, artifact=replace(r.artifact, quant=quant)) for r in recs]
    return suites.summarize(suites.load("localscore"), recs)[0]


def _imported(tmp_path):
    refwrite.import_localscore(TSV, "mine", dest_root=tmp_path)
    return tmp_path / "mine"


def _picked(c):
    return (c.kind, c.n_candidates, [r.result_id for r in c.rows],
            [(x.metric, x.ratio, x.ci95, x.verdict) for x in c.rows[0].ratios] if c.rows else [])


def test_matching_reads_only_the_rows_that_can_match(tmp_path):
    folder = _imported(tmp_path)
    assert (folder / refindex.INDEX).is_file() and (folder / refindex.FIT).is_file()
    mine = ref.get_set("mine", ref.load_sets(user_dir=tmp_path))
    assert mine.preloaded is None and mine.index is not None   # nothing read when the set is opened
    summary = _summary()
    c = ref.match(summary, [mine])
    assert c.kind == "exact" and c.n_candidates == 493
    assert len(mine._read) == 493 and mine.preloaded is None    # the 493 rows of that model and quant, not 1,218
    packaged = ref.load_set(ref.asset("reference", "localscore"), "packaged")
    assert _picked(c) == _picked(ref.match(summary, [packaged]))  # the comparison a full read gives
    smol = ModelInfo("smollm2-135m-instruct", "SmolLM2-135M-Instruct", 134515008)
    none = ref.match(_summary(smol, "q4_1"), [mine])
    assert none.kind == "none" and "within 4×" in none.notes[0] and len(mine._read) == 493  # nothing more read


def test_a_changed_rows_file_is_read_in_full_with_a_note(tmp_path):
    folder = _imported(tmp_path)
    with open(folder / TSV.name, "a") as fh:
        fh.write("\n")  # a blank line: the rows are the same, the file is not
    notes: list[str] = []
    mine = ref.get_set("mine", ref.load_sets(user_dir=tmp_path, notes=notes))
    assert mine.index is None and mine.preloaded is not None and len(mine.records) == 1218
    assert any("changed since its row index was written: every row is read" in n for n in notes)
    assert ref.match(_summary(), [mine]).n_candidates == 493


def test_an_index_that_does_not_match_its_rows_is_not_trusted(tmp_path):
    folder = _imported(tmp_path)
    path = folder / refindex.INDEX
    st = os.stat(folder / TSV.name)
    d = json.loads(path.read_text())
    d["offsets"] = d["offsets"][1:] + d["offsets"][:1]   # every row now points at its neighbour
    path.write_text(json.dumps(d))
    os.utime(folder / TSV.name, ns=(st.st_atime_ns, st.st_mtime_ns))
    mine = ref.get_set("mine", ref.load_sets(user_dir=tmp_path))
    assert mine.index is not None
    c = ref.match(_summary(), [mine])
    assert c.n_candidates == 493 and mine.index is None   # fell back to every row
    assert any("row index does not match its rows" in n for n in c.notes)


def test_the_fit_columns_are_the_rows_submissions(tmp_path):
    folder = _imported(tmp_path)
    rows = ls.read_tsv(TSV, json.loads((folder / "reference.json").read_text())["models"])
    assert refindex.load_fit(folder, TSV.name) == [Submission.of(r) for r in rows]
    mine = ref.get_set("mine", ref.load_sets(user_dir=tmp_path))
    assert len(mine.submissions()) == 1218 and mine.preloaded is None
    fit = json.loads((folder / refindex.FIT).read_text())
    fit["columns"]["device"][0] = -1   # a hostile column is no fit file: the rows are read instead
    (folder / refindex.FIT).write_text(json.dumps(fit))
    assert refindex.load_fit(folder, TSV.name) is None


def test_a_set_made_from_a_run_is_indexed_too(tmp_path):
    run = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "matrix"
    refwrite.from_run(run, "matrix", dest_root=tmp_path)
    index = json.loads((tmp_path / "matrix" / refindex.INDEX).read_text())
    assert index["reader"] == "jsonl" and len(index["offsets"]) == 6
    mine = ref.get_set("matrix", ref.load_sets(user_dir=tmp_path))
    edge = mine.rows_of(mine.groups()[:1])[0]
    c = ref.match(edge, [mine])
    assert c.kind == "exact" and c.set_name == "matrix" and len(mine._read) == c.n_candidates < 6
