"""Inputs come from the model's own signature: static and dynamic axes, symbols shared between
inputs, the batch axis, the sequence length of token inputs and the image size of the config; a
dynamic axis nothing sets is a one-line error naming the --shape flag to add."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from edgeprof.errors import UsageError
from edgeprof.models import shapes
from edgeprof.models.signature import read


def _onnx(path, inputs):
    """A real ONNX graph: the sum of ReduceSum over every float input (ints cast first)."""
    import onnx
    from onnx import TensorProto, helper

    nodes, outs, vis = [], [], []
    for name, elem, dims in inputs:
        vis.append(helper.make_tensor_value_info(name, elem, dims))
        src = name
        if elem != TensorProto.FLOAT:
            nodes.append(helper.make_node("Cast", [name], [f"{name}_f"], to=TensorProto.FLOAT))
            src = f"{name}_f"
        nodes.append(helper.make_node("ReduceSum", [src], [f"{name}_s"], keepdims=0))
        outs.append(f"{name}_s")
    nodes.append(helper.make_node("Sum", outs, ["y"]))
    g = helper.make_graph(nodes, "g", vis, [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def test_text_encoder_signature_and_sequence_from_p(encoders):
    sig = read(encoders["bert-onnx"], "onnx")
    assert (sig.kind, sig.modality, sig.task) == ("inference", "text", "embedding")
    assert sig.input("input_ids").dims == ("batch", "sequence")
    b, dims = shapes.resolve(sig, {}, 4, 32)
    assert b == 4 and dims == {"input_ids": [4, 32], "attention_mask": [4, 32], "token_type_ids": [4, 32]}
    # --shape on one input fixes the shared symbol for the others; --batch replaces its axis 0
    b, dims = shapes.resolve(sig, {"input_ids": [2, 64]}, 8, 128)
    assert dims["attention_mask"] == [8, 64] and dims["input_ids"] == [8, 64]
    b, dims = shapes.resolve(sig, {"input_ids": [2, 64]}, None, 128)
    assert b == 2 and dims["token_type_ids"] == [2, 64]


def test_vision_sizes_come_from_config_and_static_axes_hold(encoders):
    for key, fmt in (("vit-onnx", "onnx"), ("vit-hf", "hf"), ("dpt-hf", "hf")):
        sig = read(encoders[key], fmt)
        assert sig.modality == "vision" and sig.kind == "inference", key
        _, dims = shapes.resolve(sig, {}, 3, None)
        assert dims == {"pixel_values": [3, 3, 32, 32]}, key
    assert read(encoders["vit-hf"], "hf").task == "classification"
    assert read(encoders["dpt-onnx"], "onnx").task == "depth"
    with pytest.raises(UsageError, match=r"axis 2 of pixel_values is fixed at 32"):
        shapes.resolve(read(encoders["vit-onnx"], "onnx"), {"pixel_values": [1, 3, 64, 64]}, None, None)


def test_dynamic_axis_without_flag_names_the_flag(tmp_path):
    from onnx import TensorProto

    m = _onnx(tmp_path / "m.onnx", [("audio", TensorProto.FLOAT, ["batch", "samples"]),
                                    ("sr", TensorProto.INT64, [])])
    sig = read(m, "onnx")
    with pytest.raises(UsageError) as e:
        shapes.resolve(sig, {}, None, 128)
    msg = str(e.value)
    assert "\n" not in msg and "--shape audio=1xN" in msg and "samples" in msg
    b, dims = shapes.resolve(sig, {"audio": [1, 512]}, 4, None)
    assert dims == {"audio": [4, 512], "sr": []}
    with pytest.raises(UsageError, match="has no input 'nope'"):
        shapes.resolve(sig, {"nope": [1]}, None, None)
    with pytest.raises(UsageError, match="has 2 axes"):
        shapes.resolve(sig, {"audio": [512]}, None, None)


def test_fixed_batch_axis_refuses_batch(tmp_path):
    from onnx import TensorProto

    sig = read(_onnx(tmp_path / "f.onnx", [("x", TensorProto.FLOAT, [1, 16])]), "onnx")
    assert shapes.resolve(sig, {}, None, None) == (1, {"x": [1, 16]})
    with pytest.raises(UsageError, match="--batch 4: the model's batch axis is fixed"):
        shapes.resolve(sig, {}, 4, None)


@pytest.mark.parametrize("bad", ["input_ids", "input_ids=1x0", "=3", "x=1xa"])
def test_parse_shape_rejects(bad):
    with pytest.raises(ValueError):
        shapes.parse_shape(bad)


def test_cli_dynamic_axis_is_one_line_exit_2_and_no_run_dir(tmp_path):
    from onnx import TensorProto

    m = _onnx(tmp_path / "a.onnx", [("audio", TensorProto.FLOAT, ["batch", "samples"])])
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "edgeprof", "bench", str(m), "--out", str(out), "-q"],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, EDGEPROF_HOME=str(tmp_path / "home")))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--shape audio=1xN" in lines[0] and "Traceback" not in proc.stderr
    assert not out.exists()


def test_plan_round_trips_and_a_tampered_inference_case_is_refused(encoders):
    import copy

    from edgeprof.engine.config import Settings
    from edgeprof.engine.plan import Axes, build_cases, plan_dict, read_plan
    from edgeprof.models.artifacts import resolve as resolve_model

    [art] = resolve_model(str(encoders["bert-onnx"]))
    cases = build_cases([art], Axes(prompt=[16, 32], batch=[1, 4], threads=[1]), device_for=lambda rt, pl: "cpu",
                        host="h")
    assert [(c.workload.batch, c.workload.prompt_tokens) for c in cases] == [(1, 16), (1, 32), (4, 16), (4, 32)]
    assert cases[2].label.startswith("bert-onnx onnx:") and "b4 input_ids=4x16" in cases[2].label
    plan = plan_dict("run1", cases, Settings(), Axes(), [str(encoders["bert-onnx"])])
    _, back, _ = read_plan(copy.deepcopy(plan))
    assert [c.case_id for c in back] == [c.case_id for c in cases] and back[3].workload == cases[3].workload
    bad = copy.deepcopy(plan)
    bad["cases"][0]["workload"]["inputs"]["input_ids"] = [1, 0]
    with pytest.raises(UsageError, match="workload.inputs.input_ids"):
        read_plan(bad)
    bad = copy.deepcopy(plan)
    bad["cases"][0]["workload"]["batch"] = 0
    with pytest.raises(UsageError, match="workload.batch"):
        read_plan(bad)


def test_batch_on_decoders_only_is_a_usage_error(tmp_path, smollm2_gguf):
    from edgeprof.engine.plan import Axes, build_cases
    from edgeprof.models.artifacts import resolve as resolve_model

    arts = resolve_model(str(smollm2_gguf))
    with pytest.raises(UsageError, match="--batch applies to models that are not causal LMs"):
        build_cases(arts, Axes(batch=[4]), device_for=lambda rt, pl: "cpu", host="h")
