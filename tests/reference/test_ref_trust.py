"""The server comparison made trustworthy (issue 19), on records built to be what each rule is
about: identity from content (a metadata spoof and a renamed file of the real SmolLM2 never match
``exact``), compare's statistics on every ratio (no difference that is not there; a real one
found), a class not a row (n/median/IQR, host-bound flags on rows built to be bound and unbound),
unlike energy scopes named with no verdict, a contended reference labelled wherever it appears,
and one malformed user set skipped with one warning."""
from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
from refdata import make_record, metric, noisy, respoof, write_run

from edgeprof.commands.reference import add_run
from edgeprof.compare import reference as ref
from edgeprof.compare.judge import Judge, is_difference
from edgeprof.results import reftext
from edgeprof.results.comparison import Comparison
from edgeprof.results.schema import Record

SPOOF = {"general.name": "Llama 3.2 1B Instruct", "general.basename": "Llama-3.2", "general.size_label": "1B",
         "general.finetune": "Instruct", "general.file_type": 15}
NO_HISTORY = Judge(use_history=False)


@pytest.fixture(scope="module")
def localscore():
    return ref.load_set(ref.asset("reference", "localscore"), "packaged")


def _suite_summary(model, quant):
    """A LocalScore suite summary row of this model: what matches LocalScore's rows."""
    rec = make_record(decode=[40.0, 41.0, 43.0], ttft=[90.0, 91.0, 95.0])
    return replace(rec, model=model, artifact=replace(rec.artifact, quant=quant),
                   workload=replace(rec.workload, prompt_tokens=None, gen_tokens=None, depth=None, suite="localscore"))


def test_a_metadata_spoof_is_benched_as_what_its_tensors_hold(tmp_path, smollm2_gguf, localscore, home, capsys):
    """The real SmolLM2 with general.name/basename/size_label/file_type rewritten to Llama 3.2 1B
    Q4_K_M: counted 134.5 M parameters and q4_1 tensors, the contradicted claims named, and never
    a match with LocalScore's 493 Llama rows (nor 'normalized': 9.2× away)."""
    from edgeprof.cli import main
    from edgeprof.models.artifacts import gguf_artifact

    spoof = respoof(smollm2_gguf, tmp_path / "Llama-3.2-1B-Instruct-Q4_K_M.gguf", SPOOF)
    art = gguf_artifact(spoof)
    assert art.model.params == 134515008 and art.quant == "q4_1"
    problems = art.extra["identity"]["problems"]
    assert any("file_type says q4_k_m but 79% of the weights are q4_1" in p for p in problems)
    assert any("size_label says 1B but the tensors hold 134,515,008 parameters" in p for p in problems)
    assert art.model.id == "llama-3-2-135m" and "[claimed; 135 M parameters, q4_1 counted]" in art.model.name
    c = ref.match(_suite_summary(art.model, art.quant), [localscore], NO_HISTORY)
    assert c.kind == "none" and not c.rows
    assert any("a name is a claim, the tensors decide" in n for n in c.notes), c.notes
    assert main(["reference", "show", "localscore", "--model", str(spoof)]) == 0
    out = capsys.readouterr().out
    assert "0 rows: no row of localscore is comparable with" in out and "| exact |" not in out


def test_a_renamed_file_at_the_catalogue_path_is_benched_as_itself(tmp_path, smollm2_gguf, localscore):
    """SmolLM2 copied to where ``models pull llama-3.2-1b-instruct-q4_k_m`` would put Llama: the
    catalogue id resolves to a SmolLM2 artifact (its sha256 is the catalogue's SmolLM2; its size,
    tensors and parameter count contradict the Llama entry), with a warning; no LocalScore match."""
    from edgeprof.compare.enrich import identity_warnings
    from edgeprof.models import catalogue
    from edgeprof.models.artifacts import resolve

    e = catalogue.get("llama-3.2-1b-instruct-q4_k_m")
    dest = tmp_path / "models" / e.id / e.file
    dest.parent.mkdir(parents=True)
    shutil.copyfile(smollm2_gguf, dest)
    notes: list[str] = []
    (art,) = resolve(e.id, models_root=tmp_path / "models", log=notes.append)
    assert art.model.id == "smollm2-135m-instruct" and art.model.name == "SmolLM2-135M-Instruct" and art.quant == "q4_1"
    assert art.catalogue_id is None and art.extra["catalogue_mismatch"]["id"] == e.id
    assert len(notes) == 1 and "is not the catalogue's llama-3.2-1b-instruct-q4_k_m" in notes[0]
    assert "its sha256 is the catalogue's smollm2-135m-instruct" in notes[0] and "810 MB" in notes[0]
    rec = replace(_suite_summary(art.model, art.quant), artifact=art.info())
    c = ref.match(rec, [localscore], NO_HISTORY)
    assert c.kind == "none" and "no set holds this model" in c.short_reason
    assert any("not the catalogue's llama-3.2-1b-instruct-q4_k_m" in w for w in identity_warnings(rec))


def test_models_list_says_a_file_at_the_catalogue_path_is_not_the_catalogues(smollm2_gguf, home, capsys):
    """The same renamed SmolLM2 in ``models list``: 'present' is not a bare 'yes'."""
    from edgeprof.cli import main
    from edgeprof.models import catalogue

    e = catalogue.get("llama-3.2-1b-instruct-q4_k_m")
    dest = home / "models" / e.id / e.file
    dest.parent.mkdir(parents=True)
    shutil.copyfile(smollm2_gguf, dest)
    assert main(["models", "list"]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith(f"| {e.id} |"))
    assert "| yes, NOT the catalogue's file (size 98 MB is not llama-3.2-1b-instruct-q4_k_m's 810 MB)" in line, line
    assert main(["models", "list", "-o", "json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out) if r["id"] == e.id)
    assert row["present"] is True and row["contradicts"]


def _run_set(tmp_path, rows, name):
    add_run(write_run(tmp_path / f"run-{name}", rows), name, dest_root=tmp_path / "refs")
    return ref.load_sets(user_dir=tmp_path / "refs")


@pytest.mark.parametrize("seed", range(5))
def test_one_configuration_twice_is_never_a_difference(tmp_path, seed):
    """Two runs of one configuration (the second drifted by up to 4 %): compare's verdicts, never
    faster/slower; the interval holds the drift, so it is wider than the repetitions' own."""
    drift = 1 + (seed - 2) * 0.02
    a = make_record(decode=noisy(100.0, 5, 0.02, seed), ttft=noisy(50.0, 5, 0.03, seed + 10), run_id="a")
    b = make_record(decode=noisy(100.0 * drift, 5, 0.02, seed + 20), ttft=noisy(50.0 / drift, 5, 0.03, seed + 30),
                    run_id="b")
    c = ref.match(b, _run_set(tmp_path, [a], "same"), NO_HISTORY)
    assert c.kind == "exact"
    for r in c.ratios:
        if r.ratio is not None:
            assert not is_difference(r.verdict), (r.metric, r.ratio, r.verdict)
    dec = c.ratio("decode_tokens_per_s")
    assert dec.verdict in ("no detectable difference", "equivalent within ±20 %"), dec
    assert dec.ci95[0] < dec.extra["ci95_repetitions"][0] and dec.ci95[1] > dec.extra["ci95_repetitions"][1]
    assert dec.margin == 0.2 and "stated" in dec.extra["drift_basis"] and (dec.n_edge, dec.n_ref) == (5, 5)


def test_a_rerun_faster_than_its_repetitions_allow_but_inside_the_drift(tmp_path):
    """The same configuration re-run 15 % faster (a loaded machine settling): the repetitions alone
    differ (p < 0.05, their interval excludes 1), but the interval shown — widened by the
    run-to-run drift — holds 1. The verdict says that, not "a difference is detected" beside an
    interval that contradicts it (CI's loaded run)."""
    a = make_record(decode=noisy(100.0, 5, 0.05, 3), run_id="a")
    b = make_record(decode=noisy(115.0, 5, 0.05, 4), run_id="b")
    dec = ref.match(b, _run_set(tmp_path, [a], "same"), NO_HISTORY).ratio("decode_tokens_per_s")
    narrow = dec.extra["ci95_repetitions"]
    assert narrow[0] > 1 and dec.p_value < 0.05 and dec.ci95[0] <= 1 <= dec.ci95[1], dec
    assert dec.verdict == "no difference beyond the run-to-run drift (±20 % margin)", dec.verdict
    assert not is_difference(dec.verdict)
    far = make_record(decode=noisy(160.0, 5, 0.01, 5), run_id="c")   # beyond margin and drift: still found
    assert ref.match(far, _run_set(tmp_path / "f", [a], "far"), NO_HISTORY).ratio("decode_tokens_per_s").verdict == "faster"


def test_a_cpu_reference_is_not_called_host_bound(tmp_path):
    """The same-machine reference of a CPU bench (issue 19's first "done when"): its row decodes
    far below its bandwidth roofline, as CPU decode does, but its host IS its accelerator — the
    cell read "exact vs Intel(R) Xeon(R) Processor (n 1, 1 host-bound)"."""
    a = make_record(decode=noisy(50.0, 5, 0.02, 1), run_id="a",
                    extra={"roofline_fraction": metric([0.19], "ratio", kind="derived", source="roofline")})
    b = make_record(decode=noisy(50.0, 5, 0.02, 2), run_id="b")
    c = ref.match(b, _run_set(tmp_path, [a], "cpu"), NO_HISTORY)
    assert c.kind == "exact" and [r.host_bound.flag for r in c.rows] == [None]
    assert "a cpu row's host is its accelerator" in c.rows[0].host_bound.evidence
    assert "host-bound" not in reftext.cell(c) and c.classes[0].n_host_bound == 0


def test_a_real_difference_is_found_and_too_few_repetitions_is_said(tmp_path):
    ref_row = make_record(decode=noisy(100.0, 6, 0.02, 1), run_id="a")
    half = make_record(decode=noisy(50.0, 6, 0.02, 2), run_id="b")     # e.g. one thread instead of two
    c = ref.match(half, _run_set(tmp_path, [ref_row], "fast"), NO_HISTORY)
    dec = c.ratio("decode_tokens_per_s")
    assert dec.verdict == "slower" and dec.ci95[1] < 0.8 and "slower" in reftext.cell(c)
    two = make_record(decode=[50.0, 51.0], run_id="c")
    dec = ref.match(two, _run_set(tmp_path / "t", [make_record(decode=[100.0, 99.0])], "two"), NO_HISTORY) \
        .ratio("decode_tokens_per_s")
    assert dec.verdict.startswith("inconclusive: too few repetitions (2 vs 2")


def _h(name, decode, mem_gb=80e9, role="datacenter-gpu", host="Xeon", **kw):
    rec = make_record(decode=[decode], kind="nvidia", device_name=name, host=host, size_bytes=810_000_000, **kw)
    return replace(rec, device=replace(rec.device, memory_bytes=int(mem_gb), extra={"role": role}))


def test_a_class_not_a_row_with_host_bound_flags(tmp_path):
    """Rows built to be bound (H100 SXM at 2-3 % of its 3.35 TB/s roofline) and unbound (an Orin
    Nano at 60 % of its 102 GB/s): the class distribution, the flags with their evidence, the ratio
    against the class median with the class spread in its interval."""
    rows = [_h("NVIDIA H100 80GB HBM3", d) for d in (95.8, 96.6, 110.0, 120.0)] + \
           [_h("NVIDIA Jetson Orin Nano Super", 75.0, 8e9, "jetson")]
    edge = make_record(decode=noisy(60.0, 5, 0.02, 3), size_bytes=810_000_000)
    c = ref.match(edge, _run_set(tmp_path, rows, "cls"), NO_HISTORY)
    h100 = next(x for x in c.classes if x.name == "H100 SXM5 80GB")
    assert (h100.n, h100.median, h100.span) == (4, pytest.approx(103.3), (95.8, 120.0))
    assert h100.iqr == (pytest.approx(96.4), pytest.approx(112.5)) and h100.n_host_bound == 4
    assert h100.ratio.ratio == pytest.approx(edge.value("decode_tokens_per_s") / 103.3)
    assert h100.ratio.against == "class median" and h100.ratio.n_ref == 4
    bound = {r.device: r.host_bound for r in c.rows}
    assert bound["NVIDIA H100 80GB HBM3"].flag is True and "of its bandwidth roofline" in \
        bound["NVIDIA H100 80GB HBM3"].evidence
    orin = bound["NVIDIA Jetson Orin Nano Super"]
    assert orin.flag is False and "its memory bandwidth bounds it" in orin.evidence
    assert "H100 SXM5 80GB (n 4, 4 host-bound)" in reftext.cell(c)
    assert "n 4, median 103.3 t/s, IQR 96.4–112.5, range 95.8–120, 4 host-bound" in reftext.summary(c)


def test_runtime_and_energy_scope_differences_are_named(tmp_path):
    """A Jetson row (board input rail, measured) against a CPU reference (CPU package, TDP
    estimate): the scope mismatch is named and the energy ratio gets no verdict; another runtime
    is said too."""
    jetson = {"energy_per_token_j": metric(noisy(0.05, 5, 0.02, 4), "J/token", source="ina3221:VDD_IN"),
              "avg_power_w": metric(noisy(6.0, 5, 0.02, 5), "W", source="ina3221:VDD_IN")}
    for m in jetson.values():
        m["provenance"]["scope"] = "soc_module"
    edge = make_record(decode=noisy(30.0, 5, 0.02, 6), extra=jetson, kind="jetson", device_name="Orin Nano")
    cpu = {"energy_per_token_j": metric(noisy(0.3, 5, 0.02, 7), "J/token", "estimated", "tdp_model")}
    cpu["energy_per_token_j"]["provenance"]["scope"] = "cpu_package"
    server = make_record(decode=noisy(60.0, 5, 0.02, 8), extra=cpu)
    server = replace(server, runtime=replace(server.runtime, name="llamafile", version=None))
    c = ref.match(edge, _run_set(tmp_path, [server], "cpu"), NO_HISTORY)
    assert "energy scope differs: edge board input rail (module) (measured: ina3221:VDD_IN) vs server CPU package " \
           "(estimated: tdp_model)" in c.energy_note
    e = c.ratio("energy_per_token_j")
    assert e.ratio == pytest.approx(0.05 / 0.3, rel=0.05) and e.verdict is None and "energy scope differs" in e.verdict_why
    assert c.first.runtime_note.startswith("runtime differs: llamafile") and "energy scope differs" in reftext.cell(c)


def test_a_contended_reference_is_labelled_everywhere(tmp_path, home, capsys):
    """A reference measured while other processes used the cores: ``reference list``, the table
    cell, the TUI's server panel and the report all say so."""
    from edgeprof.cli import main
    from edgeprof.results.printers import markdown
    from edgeprof.views.report.tables import server_table
    from edgeprof.views.tui.widgets.server import record_view

    busy = make_record(decode=noisy(100.0, 5, 0.02, 9), run_id="a")
    busy = busy.with_extra(load={"status": "contended", "during_status": "contended",
                                 "during": {"other_cpu_cores": 1.5}})
    add_run(write_run(tmp_path / "busy-run", [busy]), "busy", dest_root=home / "reference")
    assert main(["reference", "list", "-o", "json"]) == 0
    row = next(r for r in json.loads(capsys.readouterr().out)["rows"] if r["name"] == "busy")
    assert row["load"] == "CONTENDED: 1 of 1 rows measured on a busy machine"
    edge = make_record(decode=noisy(100.0, 5, 0.02, 10), run_id="b")
    c = ref.match(edge, ref.load_sets(), NO_HISTORY)
    rec = replace(edge, reference=c)
    assert c.contended.startswith("contended: measured while other processes used 1.50 cores")
    assert "contended reference" in reftext.cell(c) and "contended reference" in markdown([rec])
    assert "- contended: the reference was measured while other processes used the cores" in markdown([rec])
    kind, head, lines, foot, dots, contended = record_view(rec)
    assert kind == "exact" and contended.startswith("contended")
    texts = [(ln.edge, ln.server, ln.ratio) for ln in lines]
    assert len(texts) == len(set(texts)), texts   # a one-row class is not said twice (median line = row line)
    case = type("Case", (), {"record": rec})()
    table = server_table([case])
    assert any("CONTENDED" in str(cell.text) for row in table.rows for cell in row)


def test_one_broken_user_set_is_skipped_with_one_warning(tmp_path, home, capsys):
    from edgeprof.cli import main

    add_run(write_run(tmp_path / "ok-run", [make_record(decode=[100.0])]), "good", dest_root=home / "reference")
    bad = home / "reference" / "broken"
    bad.mkdir(parents=True)
    (bad / "reference.json").write_text(json.dumps({"name": "broken"}))
    (bad / "records.jsonl").write_text("{not json\n{\"case_id\": 1}\n")
    assert main(["reference", "list", "-o", "json"]) == 0
    out = capsys.readouterr()
    names = {r["name"] for r in json.loads(out.out)["rows"]}
    assert {"localscore", "efficientllm-gh200", "good"} <= names and "broken" not in names
    warned = [x for x in out.err.splitlines() if "broken" in x]
    assert len(warned) == 1 and "is skipped" in warned[0] and "repair or remove it" in warned[0]


def test_none_says_why_in_the_cell_and_old_records_still_read(tmp_path):
    from edgeprof.compare.refsets import load_sets

    c = ref.match(make_record(decode=[100.0]), load_sets(tmp_path / "none"), NO_HISTORY)
    assert reftext.cell(c) == "none: no set holds this model (or one within 4× its size)"
    old = {"kind": "exact", "set_name": "s", "row": "r", "verification": "MEASURED",
           "ratios": [{"metric": "decode_tokens_per_s", "ratio": 0.5, "ci95": [0.4, 0.6],
                       "edge_provenance": {"kind": "measured", "source": "x"}}],
           "rows": [{"kind": "exact", "set_name": "s", "row": "r", "roofline": {"edge": {"value": 0.3, "basis": "b"},
                                                                                 "server": {"value": None, "why": "w"}}}],
           "summary": "vs s:r"}
    rec = Record.from_dict({**make_record(decode=[1.0]).to_dict(), "reference": old})
    assert isinstance(rec.reference, Comparison) and rec.reference.ratios[0].edge_provenance.source == "x"
    assert rec.reference.first.edge_roofline.value == 0.3 and rec.reference.first.server_roofline.why == "w"
    again = Record.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert again.reference == rec.reference


def test_a_set_travels_as_one_file_with_its_provenance(tmp_path, home, capsys, monkeypatch):
    """``reference export`` on the machine that measured, ``reference import set`` elsewhere: the
    rows, the hardware and build blocks survive, ``imported`` says from where; a hostile archive
    (a path outside, an unknown file) is refused in one line and nothing is kept."""
    import tarfile

    from edgeprof.cli import main

    add_run(write_run(tmp_path / "gpu-run", [make_record(decode=noisy(900.0, 5, 0.02, 11), kind="nvidia",
                                                         device_name="NVIDIA H100 80GB HBM3")]), "my-h100",
            dest_root=home / "reference")
    assert main(["reference", "export", "my-h100", str(tmp_path / "my-h100.tar.gz")]) == 0
    assert "reference import set" in capsys.readouterr().out
    other = tmp_path / "other-home"
    monkeypatch.setenv("EDGEPROF_HOME", str(other))
    assert main(["reference", "import", "set", str(tmp_path / "my-h100.tar.gz"), "-o", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["imported"] == "my-h100" and out["rows"] == 1
    meta = json.loads((other / "reference" / "my-h100" / "reference.json").read_text())
    assert meta["created_from"]["host"] == "hostA" and meta["imported"]["original_name"] == "my-h100"
    assert meta["imported"]["sha256"] and meta["imported"]["from"].endswith("my-h100.tar.gz")
    assert (other / "reference" / "my-h100" / "env.json").is_file()
    c = ref.match(make_record(decode=noisy(90.0, 5, 0.02, 12)), ref.load_sets(), NO_HISTORY)
    assert c.kind == "exact" and c.set_name == "my-h100"
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(other / "reference" / "my-h100" / "reference.json", arcname="../reference.json")
    assert main(["reference", "import", "set", str(evil), "--name", "evil"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unexpected entry '../reference.json'" in err
    assert not (other / "reference" / "evil").exists()


def test_reference_show_filters_summarises_classes_and_explains_an_empty_answer(home, capsys):
    """``--class`` and ``--machine`` filter the rows a model can be compared with; each class gets
    n/median/IQR/min–max and its host-bound count; nothing left prints "0 rows: why"; a set's own
    metric columns (EfficientLLM's al_ms, it_tokens_per_s, amu_gb) are defined under the table."""
    from edgeprof.cli import main

    llama = ["reference", "show", "localscore", "--model", "llama-3.2-1b-instruct-q4_k_m"]
    assert main(llama + ["--class", "H100", "-o", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {r["class"] for r in out["rows"]} == {"H100 SXM5 80GB", "H100 PCIe 80GB", "H100 NVL 94GB"}
    assert all(r["host_bound"] == "yes" and "of its bandwidth roofline" in r["host_bound_evidence"] for r in out["rows"])
    sxm = next(c for c in out["classes"] if c["name"] == "H100 SXM5 80GB")
    assert (sxm["n"], sxm["min"], sxm["max"], sxm["n_host_bound"]) == (2, 95.8, 96.6, 2) and sxm["median"] == pytest.approx(96.2)
    assert main(llama + ["--class", "H100", "--machine", "PCIe"]) == 0
    md = capsys.readouterr().out
    assert "- H100 PCIe 80GB: one row: 335 t/s, 1 host-bound" in md and "| 87 |" not in md
    assert "| 18,590 |" in md and "e+0" not in md         # prefill t/s as people read it, not 1.859e+04
    assert main(llama + ["--class", "nothing-like-this"]) == 0
    md = capsys.readouterr().out
    assert "0 rows: 625 comparable rows, none left after --class 'nothing-like-this'" in md and "|---" not in md
    listed = md.split("classes with most rows: ", 1)[1].split(", ")[:3]   # the likeliest meant first, with counts
    counts = [int(x.rsplit("(", 1)[1].split(")")[0]) for x in listed]
    assert counts == sorted(counts, reverse=True) and counts[0] > 1, listed
    assert main(["reference", "show", "efficientllm-gh200", "--limit", "2"]) == 0
    md = capsys.readouterr().out
    for col in ("al_ms: AL, average latency", "it_tokens_per_s: IT, inference throughput", "amu_gb: AMU, average memory"):
        assert f"- {col}" in md, md[-2000:]


def test_the_report_marks_an_estimate_on_the_server_side_and_gives_bytes_in_mib(tmp_path, home):
    """The report's comparison table: a reference's estimated J/token carries ~ like the edge's; RSS in
    MiB (was '174678016 B'); the row's device said once (was 'on Test CPU (Test CPU)')."""
    from refdata import metric

    from edgeprof.views.report.tables import server_table

    def rec(seed, run_id):
        extra = {"energy_per_token_j": metric(noisy(0.4, 5, 0.02, seed), "J/token", kind="estimated", source="tdp_model"),
                 "avg_rss_bytes": metric([174678016.0] * 5, "B")}
        return make_record(decode=noisy(100.0, 5, 0.02, seed), run_id=run_id, extra=extra)

    add_run(write_run(tmp_path / "srv", [rec(1, "a")]), "cpu-ref", dest_root=home / "reference")
    edge = rec(2, "b")
    c = ref.match(edge, ref.load_sets(), NO_HISTORY)
    case = type("Case", (), {"record": replace(edge, reference=c)})()
    rows = {row[3].text: row for row in server_table([case]).rows}
    energy, rss = rows["energy_per_token_j"], rows["avg_rss_bytes"]
    assert energy[4].text.startswith("~") and energy[5].text.startswith("~") and energy[5].estimated
    assert rss[4].text == "166.6 MiB" and rss[5].text == "166.6 MiB"
    assert rss[1].text.count("Test CPU") == 1, rss[1].text
