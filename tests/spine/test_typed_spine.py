"""The structures that cross layers are typed (STYLE.md rule 14, issue 22): the resolved
placement, the runtime info the worker sends, the parts of a case label. Their JSON forms are the
files' own: a record read and written again is the record that was read, so identities that hash
these dicts (history, compare, predict) do not move."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

from edgeprof.engine import events as ev
from edgeprof.results.jsonl import read_records
from edgeprof.results.schema import Record, ResolvedPlacement, RuntimeInfo

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / "tests" / "fixtures" / "runs"
RECORD_FILES = sorted([*(ROOT / "tests" / "fixtures").rglob("records.jsonl"), *(ROOT / "assets").rglob("records.jsonl")])


def test_a_resolved_placement_writes_back_exactly_the_keys_it_read():
    """Known keys become fields, a runtime's own keys stay in ``extra``, and a known key the file
    lacked is not written back as null (the ONNX runner writes n_batch: null, a reference row
    writes no n_batch at all: both survive as they were)."""
    sparse = {"threads": 2, "accel_type": "cpu"}
    explicit = {"threads": 4, "threads_requested": 4, "n_batch": None, "provider": "cpu",
                "providers": ["CPUExecutionProvider"]}
    for d in (sparse, explicit, {}):
        pl = ResolvedPlacement.from_dict(d)
        assert pl.to_dict() == d and json.dumps(pl.to_dict(), sort_keys=True) == json.dumps(d, sort_keys=True)
    pl = ResolvedPlacement.from_dict(explicit)
    assert pl.threads == 4 and pl.n_batch is None and pl.extra == {"providers": ["CPUExecutionProvider"]}
    assert ResolvedPlacement.from_dict(sparse).threads_requested is None


def test_every_fixture_record_round_trips_with_its_placement_and_conditions_typed():
    """Every records.jsonl of the fixtures and packaged reference sets: the placement and every
    top-level key beyond identity and figures (typed conditions or unknown extras) are written back
    exactly as read."""
    assert len(RECORD_FILES) >= 5
    outside = {"schema_version", "case_id", "run_id", "host", "started_at", "status", "error", "model",
               "artifact", "runtime", "device", "workload", "metrics", "phases", "reps", "warnings", "reference"}
    for path in RECORD_FILES:
        lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        for raw, rec in zip(lines, read_records(path)):
            assert isinstance(rec.runtime.placement, ResolvedPlacement)
            out = rec.to_dict()
            assert out["runtime"]["placement"] == raw["runtime"]["placement"], path
            assert {k: v for k, v in out.items() if k not in outside} == \
                   {k: v for k, v in raw.items() if k not in outside}, path
            assert Record.from_dict(out) == rec


def test_conditions_are_typed_and_a_record_built_with_them_in_extra_has_them_typed():
    from edgeprof.results.conditions import Conditions, Load

    raw = json.loads((RUNS / "same-A" / "records.jsonl").read_text().splitlines()[0])
    rec = Record.from_dict(raw)
    c = rec.conditions
    assert c.sample_hz == raw["sample_hz"] and c.idle_power_w == raw["idle_power_w"]
    assert c.power_rule is None or c.power_rule.to_dict() == raw["power_rule"]
    assert c.load is None or c.load.to_dict() == raw["load"]
    assert not Conditions.names() & set(rec.extra)
    built = Record("c", extra={"load": {"status": "contended", "during": {"other_cpu_cores": 1.5}}, "mine": 1})
    assert isinstance(built.conditions.load, Load) and built.conditions.load.during.other_cpu_cores == 1.5
    assert built.extra == {"mine": 1} and built.get("load") == {"status": "contended", "during": {"other_cpu_cores": 1.5}}
    assert Record("d").get("idle_power_w", "absent") == "absent" and "idle_power_w" not in Record("d").to_dict()


def test_the_worker_sends_typed_runtime_info_and_the_label_has_typed_parts():
    """The Loaded event holds a RuntimeInfo through the pipe (pickle) and a JSON recording;
    CaseScheduled carries the label's parts, and an old recording without them gets them from its
    model, artifact and workload."""
    rt = RuntimeInfo("llama.cpp", "0.3", ResolvedPlacement.from_dict({"threads": 2, "repack": "on"}))
    e = ev.Loaded(case_id="c", runtime=rt, n_params=10)
    assert pickle.loads(pickle.dumps(e)).runtime.placement.threads == 2
    back = ev.from_dict(json.loads(json.dumps(e.to_dict())))
    assert back.runtime == rt and back.runtime.placement.extra == {"repack": "on"}
    parts = ev.CaseLabel("SmolLM2", "gguf", "Q4_1", 16, 8, 0, 2)
    s = ev.CaseScheduled(case_id="c", index=1, total=1, label=parts.text, parts=parts)
    assert ev.from_dict(json.loads(json.dumps(s.to_dict()))).parts == parts
    assert parts.text == "SmolLM2 gguf:Q4_1 p16 n8 d0 t2"
    old = {"type": "case_scheduled", "index": 1, "total": 1, "label": "m gguf:Q8_0 p4 n4 d0 t1",
           "model": {"id": "m"}, "artifact": {"format": "gguf", "quant": "Q8_0"}, "workload": {"prompt_tokens": 4}}
    got = ev.from_dict(old).parts
    assert (got.model, got.quant, got.prompt_tokens) == ("m", "Q8_0", 4)


def test_a_described_device_round_trips_through_run_started(tmp_path):
    """``run_started`` carries the device and its declared sensors typed (DeviceDesc); its JSON is
    the dict the views read before (identity, specs, sensors, the machine's devices), key for key."""
    from edgeprof.engine.device_choice import bench_device, open_devices
    from edgeprof.engine.session import describe_devices
    from tests.fixtures.boards import build

    found = open_devices(build(tmp_path, "agx-orin-jp5"))
    try:
        desc, _ = describe_devices(found, bench_device(found, {}))
        primary = bench_device(found, {})
        one = {**primary.info().to_dict(), "sensors": [s.info.to_dict() for s in primary.sensors()]}
        old = {**one, "devices": [{**d.info().to_dict(), "sensors": [s.info.to_dict() for s in d.sensors()]}
                                  for d in found]}
    finally:
        for d in found:
            d.close()
    assert json.dumps(desc.to_dict(), default=str) == json.dumps(old, default=str)   # same keys, same order
    e = ev.RunStarted(run_dir="r", total=1, device=desc, power_label="x")
    back = ev.from_dict(json.loads(json.dumps(e.to_dict())))
    assert back.device == desc and back.device.sensors[0].name == old["sensors"][0]["name"]
    assert pickle.loads(pickle.dumps(e)).device == desc
    assert ev.from_dict({"type": "run_started", "run_dir": "r", "total": 1}).device.to_dict() == {}
