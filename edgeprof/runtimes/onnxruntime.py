"""ONNX Runtime: a plain ``InferenceSession`` loop with a KV cache over a decoder exported with
past key/values (optimum ``text-generation-with-past``: inputs ``input_ids``, ``attention_mask``,
``position_ids`` if present, ``past_key_values.{i}.key/value``; outputs ``logits``,
``present.{i}.key/value``).

Why not optimum's ``ORTModelForCausalLM.generate``: a 5 s import and 25-40 % more per token. Here
each step binds the previous step's ``present`` OrtValues straight back as the next ``past`` (IO
binding: no numpy round trip, and the cache stays on the device for GPU providers), reuses
preallocated ``attention_mask``/``position_ids`` buffers, and reads only the last logits row.
Names, shapes and dtypes (fp16 models with fp32 or fp16 IO) come from the session itself.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .base import EngineInfo, Placement, RuntimeError_

#: placement.provider short names -> ONNX Runtime execution providers
PROVIDERS = {
    "cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider", "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider", "coreml": "CoreMLExecutionProvider", "rocm": "ROCMExecutionProvider",
    "migraphx": "MIGraphXExecutionProvider", "openvino": "OpenVINOExecutionProvider",
    "dml": "DmlExecutionProvider", "directml": "DmlExecutionProvider", "qnn": "QNNExecutionProvider",
    "xnnpack": "XnnpackExecutionProvider", "nnapi": "NnapiExecutionProvider", "acl": "ACLExecutionProvider",
    "armnn": "ArmNNExecutionProvider", "cann": "CANNExecutionProvider", "webgpu": "WebGpuExecutionProvider",
    "dnnl": "DnnlExecutionProvider", "vitisai": "VitisAIExecutionProvider",
}
#: how to get a provider that this onnxruntime build lacks
INSTALL_HINT = {
    "CUDAExecutionProvider": "pip uninstall onnxruntime && pip install onnxruntime-gpu=={v} (needs CUDA 12 + cuDNN 9)",
    "TensorrtExecutionProvider": "pip uninstall onnxruntime && pip install onnxruntime-gpu=={v} plus TensorRT libraries",
    "DmlExecutionProvider": "pip uninstall onnxruntime && pip install onnxruntime-directml=={v} (Windows)",
    "OpenVINOExecutionProvider": "pip uninstall onnxruntime && pip install onnxruntime-openvino",
    "QNNExecutionProvider": "pip uninstall onnxruntime && pip install onnxruntime-qnn (Snapdragon)",
    "CoreMLExecutionProvider": "use the standard onnxruntime wheel on macOS",
    "ROCMExecutionProvider": "install onnxruntime built with ROCm (AMD's onnxruntime-rocm wheels)",
    "MIGraphXExecutionProvider": "install onnxruntime built with MIGraphX (AMD's onnxruntime-migraphx wheels)",
}
_GPU_KV = {"CUDAExecutionProvider": "cuda", "TensorrtExecutionProvider": "cuda"}
_NOTABLE_OPS = ("GroupQueryAttention", "MultiHeadAttention", "Attention", "MatMulNBits", "MatMulInteger",
                "DynamicQuantizeMatMul", "SkipSimplifiedLayerNormalization", "SimplifiedLayerNormalization",
                "RotaryEmbedding", "Softmax", "MatMul")
_NP_TYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(bfloat16)": "float32",
             "tensor(int64)": "int64", "tensor(int32)": "int32"}


def resolve_provider(requested: str | None, available: list[str], version: str) -> str:
    """The ORT provider name for ``placement.provider``; a one-line error if this build lacks it."""
    req = (requested or "cpu").strip()
    name = PROVIDERS.get(req.lower(), req if req.endswith("ExecutionProvider") else None)
    if name is None:
        raise RuntimeError_(f"unknown ONNX Runtime provider {req!r}; use one of {', '.join(sorted(PROVIDERS))}")
    if name not in available:
        hint = INSTALL_HINT.get(name, "install an onnxruntime build that includes it").format(v=version)
        raise RuntimeError_(f"provider {req!r} ({name}) is not in this onnxruntime {version} build, which has "
                            f"{', '.join(available)}; to get it: {hint}")
    return name


def _model_file(path: Path) -> Path:
    if path.is_dir():
        cands = sorted(path.glob("*.onnx"), key=lambda p: (p.name != "model.onnx", p.name))
        if not cands:
            raise RuntimeError_(f"{path} holds no .onnx file; pass an ONNX decoder exported with past key/values")
        return cands[0]
    if not path.is_file():
        raise RuntimeError_(f"ONNX file not found: {path}")
    return path


def _tokenizer_file(model: Path, artifact: dict[str, Any]) -> Path:
    cands = [Path(artifact["tokenizer"])] if artifact.get("tokenizer") else []
    cands += [model.parent / "tokenizer.json", model.parent.parent / "tokenizer.json"]
    for c in cands:
        if c.is_file():
            return c
    raise RuntimeError_(f"no tokenizer.json beside {model}; copy the model's tokenizer.json into {model.parent}")


class OrtEngine:
    def __init__(self, artifact: dict[str, Any], placement: Placement, n_ctx: int):
        try:
            import numpy as np
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:  # pragma: no cover - core dependency
            raise RuntimeError_(f"ONNX Runtime runtime needs onnxruntime and tokenizers: {exc}") from exc
        self._np = np
        path = _model_file(Path(artifact["path"]))
        version = ort.__version__
        provider = resolve_provider(placement.provider, ort.get_available_providers(), version)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(placement.threads)
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        providers = [provider] + (["CPUExecutionProvider"] if provider != "CPUExecutionProvider" else [])
        try:
            self.sess = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as exc:  # noqa: BLE001 - ORT raises several unrelated types
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RuntimeError_(f"ONNX Runtime could not load {path} (not a valid ONNX model?): {msg[:300]}") from exc
        ins = {i.name: i for i in self.sess.get_inputs()}
        outs = [o.name for o in self.sess.get_outputs()]
        self.past = sorted((n for n in ins if n.startswith("past_key_values.")), key=_layer_key)
        if "input_ids" not in ins or "logits" not in outs:
            raise RuntimeError_(f"{path} is not a causal LM decoder (needs input 'input_ids' and output 'logits', has "
                                f"{', '.join(list(ins)[:4])} -> {', '.join(outs[:3])}); export with optimum task "
                                f"text-generation-with-past")
        if not self.past:
            raise RuntimeError_(f"{path} has no past_key_values inputs (exported without KV cache); re-export with "
                                f"optimum task text-generation-with-past")
        unknown = set(ins) - {"input_ids", "attention_mask", "position_ids", *self.past}
        if unknown:
            raise RuntimeError_(f"{path} needs inputs this runtime does not feed: {', '.join(sorted(unknown))}")
        self.present = {p: p.replace("past_key_values.", "present.") for p in self.past}
        missing = [v for v in self.present.values() if v not in outs]
        if missing:
            raise RuntimeError_(f"{path} lacks KV outputs {', '.join(missing[:2])}; export with optimum task "
                                f"text-generation-with-past")
        self.tok = Tokenizer.from_file(str(_tokenizer_file(path, artifact)))
        first = ins[self.past[0]]
        kv_dtype = np.dtype(_NP_TYPES.get(first.type, "float32"))
        if not all(isinstance(d, int) for d in (first.shape[1], first.shape[3])):
            raise RuntimeError_(f"{path}: KV input shape {first.shape} has symbolic heads/head_dim; unsupported export")
        self._empty = np.zeros((1, int(first.shape[1]), 0, int(first.shape[3])), dtype=kv_dtype)
        self.has_mask, self.has_pos = "attention_mask" in ins, "position_ids" in ins
        cap = max(int(n_ctx), 1) + 64
        self._mask = np.ones((1, cap), dtype=np.dtype(_NP_TYPES.get(ins["attention_mask"].type, "int64"))
                             if self.has_mask else np.int64)
        self._pos = np.arange(cap, dtype=np.dtype(_NP_TYPES.get(ins["position_ids"].type, "int64"))
                              if self.has_pos else np.int64)[None, :]
        self._ids_dtype = np.dtype(_NP_TYPES.get(ins["input_ids"].type, "int64"))
        self._one = np.zeros((1, 1), dtype=self._ids_dtype)
        self.kv_device = _GPU_KV.get(self.sess.get_providers()[0], "cpu")
        self.binding = self.sess.io_binding()
        self.n_past = 0
        self.cache: list | None = None  # OrtValues of the last step's presents, in self.past order
        self.n_steps, self.t_run_ns = 0, 0
        counted, ops = scan_graph(path)
        self.info = EngineInfo(
            name="onnxruntime", version=version,
            placement={"threads": int(placement.threads), "provider": _short(self.sess.get_providers()[0]),
                       "providers": self.sess.get_providers(), "provider_requested": placement.provider or "cpu",
                       "inter_op_threads": 1, "execution_mode": "sequential", "graph_optimization_level": "all",
                       "io_binding": True, "kv_device": self.kv_device, "kv_dtype": str(kv_dtype),
                       "gpu_layers": 0, "flash_attn": "n/a", "n_batch": None, "n_ubatch": None, "kv_type": str(kv_dtype)},
            n_params=_n_params(artifact, counted), n_ctx=int(n_ctx),
            extra={"model_file": path.name, "n_layers": len(self.past) // 2, "inputs": sorted(ins),
                   "ops": {k: v for k, v in sorted(ops.items()) if k in _NOTABLE_OPS}},
        )

    # -- protocol -------------------------------------------------------------------------
    def tokenize(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def reset(self) -> None:
        self.cache, self.n_past = None, 0
        self.reset_perf()

    def reset_perf(self) -> None:
        self.n_steps, self.t_run_ns = 0, 0

    def _run(self, ids) -> int:
        np, b, n = self._np, self.binding, ids.shape[1]
        end = self.n_past + n
        if end > self._pos.shape[1]:  # longer than n_ctx promised: grow the buffers
            self._mask = np.ones((1, 2 * end), dtype=self._mask.dtype)
            self._pos = np.arange(2 * end, dtype=self._pos.dtype)[None, :]
        b.clear_binding_inputs()
        b.clear_binding_outputs()
        b.bind_cpu_input("input_ids", ids)
        if self.has_mask:
            b.bind_cpu_input("attention_mask", self._mask[:, :end])
        if self.has_pos:
            b.bind_cpu_input("position_ids", self._pos[:, self.n_past:end])
        if self.cache is None:
            for name in self.past:
                b.bind_cpu_input(name, self._empty)
        else:
            for name, val in zip(self.past, self.cache):
                b.bind_ortvalue_input(name, val)
        b.bind_output("logits", "cpu")
        for name in self.past:
            b.bind_output(self.present[name], self.kv_device)
        self.sess.run_with_iobinding(b)
        out = b.get_outputs()
        self.cache = out[1:]
        self.n_past = end
        self.n_steps += 1
        logits = out[0].numpy()
        return int(logits[0, -1].argmax())

    def prefill(self, tokens: list[int]) -> int:
        if not tokens:
            raise RuntimeError_("prefill needs at least one token")
        return self._run(self._np.asarray([tokens], dtype=self._ids_dtype))

    def decode(self, token: int) -> int:
        self._one[0, 0] = token
        return self._run(self._one)

    def perf(self) -> dict[str, Any] | None:
        return None

    def close(self) -> None:
        self.cache = None
        self.binding = None
        self.sess = None


def _layer_key(name: str) -> tuple[int, str]:
    parts = name.split(".")
    return (int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0, parts[-1])


def _short(provider: str) -> str:
    rev = {v: k for k, v in PROVIDERS.items() if k not in ("trt", "directml")}
    return rev.get(provider, provider)


def _varint(buf, i: int) -> tuple[int, int]:
    shift = val = 0
    while True:
        b = buf[i]
        i += 1
        val |= (b & 0x7F) << shift
        if b < 0x80:
            return val, i
        shift += 7


def _fields(buf, lo: int, hi: int):
    """(field number, wire type, value or (start, end) of a length-delimited field) in buf[lo:hi]."""
    i = lo
    while i < hi:
        key, i = _varint(buf, i)
        wt = key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = (i, i + n), i + n
        elif wt in (1, 5):
            v, i = None, i + (8 if wt == 1 else 4)
        else:
            raise ValueError("unsupported protobuf wire type")
        yield key >> 3, wt, v


def scan_graph(path: Path) -> tuple[int | None, dict[str, int]]:
    """(parameter count, op-type counts) of an ONNX file, read through mmap without loading the
    weights (onnx.load would add the whole file to the worker's RSS). A MatMulNBits weight counts
    K*N, its scales and zero points nothing."""
    import mmap

    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            graph = next((v for fn, wt, v in _fields(buf, 0, len(buf)) if fn == 7 and wt == 2), None)
            if graph is None:
                return None, {}
            ops: dict[str, int] = {}
            skip: set[str] = set()
            packed: dict[str, int] = {}
            inits: list[tuple[str, int]] = []
            for fn, wt, v in _fields(buf, *graph):
                if fn == 1 and wt == 2:  # NodeProto
                    op, inputs, attrs = "", [], {}
                    for f2, w2, v2 in _fields(buf, *v):
                        if f2 == 4 and w2 == 2:
                            op = bytes(buf[v2[0]:v2[1]]).decode()
                        elif f2 == 1 and w2 == 2:
                            inputs.append(bytes(buf[v2[0]:v2[1]]).decode())
                        elif f2 == 5 and w2 == 2:
                            a = dict((f3, v3) for f3, w3, v3 in _fields(buf, *v2) if f3 in (1, 3))
                            if 1 in a and 3 in a:
                                attrs[bytes(buf[a[1][0]:a[1][1]]).decode()] = a[3]
                    ops[op] = ops.get(op, 0) + 1
                    if op == "MatMulNBits" and len(inputs) > 1:
                        packed[inputs[1]] = int(attrs.get("K", 0)) * int(attrs.get("N", 0))
                        skip.update(inputs[2:])
                elif fn == 5 and wt == 2:  # TensorProto
                    name, n = "", 1
                    for f2, w2, v2 in _fields(buf, *v):
                        if f2 == 8 and w2 == 2:
                            name = bytes(buf[v2[0]:v2[1]]).decode()
                        elif f2 == 1 and w2 == 0:
                            n *= v2
                        elif f2 == 1 and w2 == 2:
                            for _, _, d in _fields_packed(buf, *v2):
                                n *= d
                    inits.append((name, n))
            total = sum(packed.get(name, n if n > 1 else 0) for name, n in inits if name not in skip)
            return total or None, ops
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None, {}


def _fields_packed(buf, lo: int, hi: int):
    i = lo
    while i < hi:
        v, i = _varint(buf, i)
        yield 0, 0, v


def _n_params(artifact: dict[str, Any], counted: int | None) -> int | None:
    known = (artifact.get("model") or {}).get("params")
    return int(known) if known else counted


def load(artifact: dict[str, Any], placement: Placement, n_ctx: int) -> OrtEngine:
    return OrtEngine(artifact, placement, n_ctx)


