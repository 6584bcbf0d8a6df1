"""Wrong files and unavailable providers fail at load with one line that names the fix."""
from __future__ import annotations

import os

import pytest

from edgeprof.runtimes.base import Placement, RuntimeError_


def ort_load(path, **placement):
    from edgeprof.runtimes.onnxruntime import load

    return load({"path": str(path), "model": {}}, Placement(threads=1, **placement), 32)


def one_line(exc: pytest.ExceptionInfo) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and len(msg) < 500
    return msg


def save_graph(path, inputs, outputs, nodes):
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, t, s) for n, t, s in inputs],
                          [helper.make_tensor_value_info(n, t, s) for n, t, s in outputs])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return TensorProto


def test_random_protobuf_is_refused(tmp_path):
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"\x08\x07" + os.urandom(2000))
    (tmp_path / "tokenizer.json").write_text("{}")
    with pytest.raises(RuntimeError_) as exc:
        ort_load(bad)
    assert "could not load" in one_line(exc)


def test_encoder_only_graph_is_refused(tmp_path):
    from onnx import TensorProto as T, helper

    path = tmp_path / "model.onnx"
    save_graph(path, [("input_ids", T.INT64, ["b", "s"])], [("last_hidden_state", T.FLOAT, ["b", "s"])],
               [helper.make_node("Cast", ["input_ids"], ["last_hidden_state"], to=T.FLOAT)])
    with pytest.raises(RuntimeError_) as exc:
        ort_load(path)
    msg = one_line(exc)
    assert "not a causal LM decoder" in msg and "text-generation-with-past" in msg


def test_decoder_without_kv_cache_is_refused(tmp_path):
    from onnx import TensorProto as T, helper

    path = tmp_path / "model.onnx"
    save_graph(path, [("input_ids", T.INT64, ["b", "s"])], [("logits", T.FLOAT, ["b", "s"])],
               [helper.make_node("Cast", ["input_ids"], ["logits"], to=T.FLOAT)])
    with pytest.raises(RuntimeError_) as exc:
        ort_load(path)
    assert "without KV cache" in one_line(exc)


def test_missing_file_and_dir_without_onnx(tmp_path):
    with pytest.raises(RuntimeError_) as exc:
        ort_load(tmp_path / "nope.onnx")
    assert "not found" in one_line(exc)
    with pytest.raises(RuntimeError_) as exc:
        ort_load(tmp_path)
    assert "no .onnx file" in one_line(exc)


def test_missing_tokenizer_names_the_fix(tiny, tmp_path):
    import shutil

    shutil.copy2(tiny["onnx"], tmp_path / "model.onnx")
    with pytest.raises(RuntimeError_) as exc:
        ort_load(tmp_path / "model.onnx")
    assert "tokenizer.json" in one_line(exc)


@pytest.mark.parametrize("provider", ["cuda", "tensorrt", "openvino"])
def test_unavailable_provider_names_installed_and_fix(tiny, provider):
    import onnxruntime

    from edgeprof.runtimes.onnxruntime import PROVIDERS

    if PROVIDERS[provider] in onnxruntime.get_available_providers():
        pytest.skip(f"{provider} is available here")
    with pytest.raises(RuntimeError_) as exc:
        ort_load(tiny["onnx"], provider=provider)
    msg = one_line(exc)
    assert "CPUExecutionProvider" in msg and "pip install" in msg


def test_unknown_provider(tiny):
    with pytest.raises(RuntimeError_) as exc:
        ort_load(tiny["onnx"], provider="warpdrive")
    assert "unknown ONNX Runtime provider" in one_line(exc)


def test_torch_refuses_bad_dirs_and_missing_cuda(tiny, tmp_path):
    import torch

    from edgeprof.runtimes.torch import load

    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(RuntimeError_) as exc:
        load({"path": str(tmp_path), "model": {}}, Placement(threads=1), 32)
    assert "safetensors" in one_line(exc)
    if torch.cuda.is_available():
        return
    with pytest.raises(RuntimeError_) as exc:
        load({"path": str(tiny["hf"]), "model": {}}, Placement(threads=1, provider="cuda"), 32)
    assert "CUDA" in one_line(exc)
