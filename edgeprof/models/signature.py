"""What a model takes and what kind of model it is, read from the model itself: the ONNX graph's
inputs (names, dtypes, static and symbolic axes) or an HF directory's config.json.

Why from the model: a sentence embedder, an image classifier and a voice-activity detector each
take different tensors, and optimum-benchmark's lesson is that the only reliable source of their
shapes is the model (its ``input_shapes`` are filled from the model's own config). A causal LM
(past key/values in the graph, a ``*ForCausalLM`` architecture) is a ``generate`` model, run by the
decoder loop; everything else is an ``inference`` model whose forward pass is timed as a whole.
``resolve`` turns the symbolic axes into numbers from ``--shape``, ``--batch``, ``-p`` (the
sequence length of token inputs) and the config, and names the flag that is missing otherwise.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from edgeprof.errors import UsageError

Dim = int | str | None   # a fixed size, a symbolic axis ("batch", "sequence"), or an unnamed dynamic axis

#: integer inputs whose axis 1 is the sequence: their length is -p (the prompt length) unless --shape says
TOKEN_INPUTS = ("input_ids", "attention_mask", "token_type_ids", "position_ids")
#: names of an input holding pixels, audio samples, a sampling rate, a recurrent state
PIXEL_INPUTS = ("pixel_values", "images", "image", "input_image")
AUDIO_INPUTS = ("input_values", "input", "audio", "waveform", "speech", "input_features")
RATE_INPUTS = ("sr", "sample_rate", "sampling_rate")
STATE_INPUTS = ("state", "h", "c", "h0", "c0", "hidden", "states")
_BATCH_NAMES = ("batch", "batch_size", "n", "b", "N", "B")
_VISION_TYPES = ("vit", "deit", "beit", "resnet", "convnext", "convnextv2", "dpt", "detr", "yolos", "swin",
                 "mobilenet_v1", "mobilenet_v2", "mobilevit", "efficientnet", "regnet", "levit", "dinov2",
                 "segformer", "glpn", "depth_anything", "conditional_detr", "table-transformer", "bit")
_AUDIO_TYPES = ("wav2vec2", "hubert", "wavlm", "data2vec-audio", "unispeech", "sew", "audio-spectrogram-transformer")


@dataclass(frozen=True)
class Input:
    name: str
    dtype: str                       # numpy name: float32, float16, int64, int32, bool
    dims: tuple[Dim, ...]

    def describe(self) -> str:
        return f"{self.name} [{', '.join('?' if d is None else str(d) for d in self.dims)}] {self.dtype}"


@dataclass(frozen=True)
class ModelConfig:
    """What the inputs need from config.json, preprocessor_config.json and edgeprof_inputs.json
    beside a model (``read_model_config``; None: the files do not say)."""

    model_type: Any = None
    vocab_size: Any = None
    num_channels: Any = None
    type_vocab_size: Any = None
    sampling_rate: Any = None
    max_position_embeddings: Any = None
    num_labels: Any = None
    architecture: str | None = None
    image_size: tuple[int, int] | None = None     # (height, width)
    image_mean: tuple[float, ...] | None = None
    image_std: tuple[float, ...] | None = None
    sentence_embedder: bool = False
    inputs: dict[str, list[int]] | None = None    # the shapes a catalogue model's package feeds


@dataclass(frozen=True)
class Signature:
    """A model's inputs and kind. ``modality``: text | vision | audio | other; ``task``: embedding |
    classification | detection | depth | vad | other (what the quality gate and the reports use)."""

    kind: str                        # generate | inference
    inputs: tuple[Input, ...] = ()
    outputs: tuple[str, ...] = ()
    modality: str = "other"
    task: str = "other"
    source: str = ""                 # where it was read: "ONNX graph" | "config.json (BertModel)"
    config: ModelConfig = field(default_factory=ModelConfig)   # image size, channels, vocabulary, ...

    def input(self, name: str) -> Input | None:
        return next((i for i in self.inputs if i.name == name), None)


def _json(path: Path) -> dict:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def read_model_config(d: Path) -> ModelConfig:
    """The facts the inputs need from config.json and preprocessor_config.json beside a model:
    image size and channels, pixel mean/std, vocabulary, sampling rate, architecture."""
    cfg, pre = _json(d / "config.json"), _json(d / "preprocessor_config.json")
    out: dict[str, Any] = {k: cfg[k] for k in ("model_type", "vocab_size", "num_channels", "type_vocab_size",
                                               "sampling_rate", "max_position_embeddings", "num_labels")
                           if k in cfg}
    archs = cfg.get("architectures")
    if isinstance(archs, list) and archs and isinstance(archs[0], str):
        out["architecture"] = archs[0]
    size = cfg.get("image_size")
    if size is None:  # the preprocessor's fixed output size, where it has one
        s = pre.get("crop_size") if pre.get("do_center_crop") else pre.get("size")
        size = (s.get("height"), s.get("width")) if isinstance(s, dict) and "height" in s else \
            s.get("shortest_edge") if isinstance(s, dict) and "longest_edge" not in s else s if isinstance(s, int) else None
    if isinstance(size, int):
        size = (size, size)
    if isinstance(size, (list, tuple)) and len(size) == 2 and all(isinstance(x, int) and x > 0 for x in size):
        out["image_size"] = (int(size[0]), int(size[1]))
    for k in ("image_mean", "image_std"):
        if isinstance(pre.get(k), list) and len(pre[k]) in (1, 3):
            out[k] = tuple(float(x) for x in pre[k])
    if "sampling_rate" in pre:
        out["sampling_rate"] = pre["sampling_rate"]
    out["sentence_embedder"] = (d / "modules.json").is_file() or (d / "1_Pooling").is_dir()
    feeds = _json(d / "edgeprof_inputs.json")  # a catalogue model: the shapes its package's own code feeds
    if isinstance(feeds.get("inputs"), dict):
        out["inputs"] = {str(k): [int(x) for x in v] for k, v in feeds["inputs"].items()
                         if isinstance(v, list) and all(type(x) is int and x > 0 for x in v)}
    if type(feeds.get("sampling_rate")) is int:
        out["sampling_rate"] = feeds["sampling_rate"]
    return ModelConfig(**out)


def _config_dir(path: Path) -> Path:
    """The directory whose config.json describes a model file (beside it, or one level up)."""
    for d in (path.parent, path.parent.parent):
        if (d / "config.json").is_file():
            return d
    return path.parent


@lru_cache(maxsize=32)
def _onnx(path: str, mtime_ns: int) -> Signature:
    from edgeprof.results.extras import need

    onnx = need("onnx", "reading an ONNX model's inputs (models that are not causal LMs)")

    try:
        m = onnx.load(path, load_external_data=False)
    except Exception as exc:  # noqa: BLE001 - protobuf raises several types
        raise UsageError(f"{path} is not a readable ONNX model ({type(exc).__name__}); pass a valid .onnx file") from None
    inits = {t.name for t in m.graph.initializer}
    ins = []
    for vi in m.graph.input:
        if vi.name in inits:
            continue
        t = vi.type.tensor_type
        try:
            dtype = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name
        except (KeyError, TypeError, ValueError):
            dtype = "float32"
        dims = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else (d.dim_param or None)
                     for d in t.shape.dim)
        ins.append(Input(vi.name, dtype, dims))
    return classify(ins, tuple(o.name for o in m.graph.output), Path(path), "ONNX graph")


def classify(ins: list[Input], outs: tuple[str, ...], path: Path, source: str) -> Signature:
    """The signature of an ONNX model from its inputs and outputs (read from the graph, or from an
    ONNX Runtime session in the worker, which never parses the protobuf a second time)."""
    cfg = read_model_config(_config_dir(path))
    names = {i.name for i in ins}
    if any(n.startswith("past_key_values") for n in names) or ("input_ids" in names and "logits" in outs
                                                                and any(o.startswith("present") for o in outs)):
        return Signature("generate", tuple(ins), outs, "text", "generate", source, cfg)
    modality, task = _onnx_kind(ins, outs, cfg)
    return Signature("inference", tuple(ins), outs, modality, task, source, cfg)


def _onnx_kind(ins: list[Input], outs: tuple[str, ...], cfg: ModelConfig) -> tuple[str, str]:
    names = {i.name for i in ins}
    if names & set(TOKEN_INPUTS):
        modality = "text"
    elif names & set(PIXEL_INPUTS) or any(len(i.dims) == 4 and i.dtype.startswith("float") for i in ins):
        modality = "vision"
    elif names & set(AUDIO_INPUTS) or cfg.model_type in _AUDIO_TYPES:
        modality = "audio"
    else:
        modality = "other"
    task = ("depth" if "predicted_depth" in outs else "detection" if "pred_boxes" in outs else
            "vad" if modality == "audio" and names & set(STATE_INPUTS) else
            "classification" if "logits" in outs and modality == "vision" else
            "embedding" if modality == "text" and ({"last_hidden_state", "sentence_embedding", "token_embeddings"}
                                                   & set(outs) or cfg.sentence_embedder) else
            _task_of(cfg.architecture or "", cfg))
    return modality, task


def _task_of(arch: str, cfg: ModelConfig) -> str:
    for suffix, task in (("ForImageClassification", "classification"), ("ForSequenceClassification", "classification"),
                         ("ForDepthEstimation", "depth"), ("ForObjectDetection", "detection")):
        if arch.endswith(suffix):
            return task
    if cfg.sentence_embedder or arch.endswith("Model"):
        return "embedding" if cfg.vocab_size else "other"
    return "other"


def _hf(d: Path) -> Signature:
    cfg = read_model_config(d)
    arch = str(cfg.architecture or "")
    if arch.endswith(("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")) or not arch:
        return Signature("generate", source=f"config.json ({arch or 'no architectures: taken as a causal LM'})",
                         config=cfg, modality="text", task="generate")
    mt = cfg.model_type
    if mt in _VISION_TYPES or cfg.image_size is not None and cfg.vocab_size is None:
        h, w = cfg.image_size or ("height", "width")
        ins = (Input("pixel_values", "float32", ("batch", int(cfg.num_channels or 3), h, w)),)
        modality = "vision"
    elif mt in _AUDIO_TYPES:
        ins, modality = (Input("input_values", "float32", ("batch", "samples")),), "audio"
    else:
        ins = tuple(Input(n, "int64", ("batch", "sequence")) for n in ("input_ids", "attention_mask"))
        if int(cfg.type_vocab_size or 0) > 0:
            ins += (Input("token_type_ids", "int64", ("batch", "sequence")),)
        modality = "text"
    return Signature("inference", ins, (), modality, _task_of(arch, cfg), f"config.json ({arch})", cfg)


def read(path: str | Path, fmt: str) -> Signature:
    """The signature of an artifact (``fmt``: onnx | hf | gguf). A GGUF is always a decoder."""
    p = Path(path)
    if fmt == "onnx":
        f = p if p.is_file() else next(iter(sorted(p.glob("*.onnx"))), p)
        try:
            return _onnx(str(f.resolve()), f.stat().st_mtime_ns)
        except OSError as exc:
            raise UsageError(f"{f}: cannot read the ONNX model ({exc.strerror or exc})") from None
    if fmt == "hf":
        return _hf(p if p.is_dir() else p.parent)
    return Signature("generate", source="GGUF", modality="text", task="generate")
