"""ONNX Runtime: a plain ``InferenceSession`` loop with a KV cache over a decoder exported with
past key/values (optimum ``text-generation-with-past``: inputs ``input_ids``, ``attention_mask``,
``position_ids`` if present, ``past_key_values.{i}.key/value``; outputs ``logits``,
``present.{i}.key/value``).

Why not optimum's ``ORTModelForCausalLM.generate``: a 5 s import and 25-40 % more per token. On
CPU each step is one ``run()`` over numpy views of preallocated ``attention_mask``/``position_ids``
buffers with the previous ``present`` arrays fed back as ``past`` (no copies); GPU providers use IO
binding so the KV cache stays on the device. Names, shapes and dtypes (fp16 models with fp32 or
fp16 IO) come from the session. Graphs from ONNX Runtime's model builder (onnxruntime-genai: fused
GroupQueryAttention, no ``position_ids``) have the same IO and run here too, 2-4x faster on CPU.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeprof.runtimes.base import EngineInfo, Placement, RuntimeError_
from edgeprof.runtimes.knobs import Knob

#: placement.provider short names -> ONNX Runtime execution providers
PROVIDERS = {k: v + "ExecutionProvider" for k, v in {
    "cpu": "CPU", "cuda": "CUDA", "tensorrt": "Tensorrt", "trt": "Tensorrt", "coreml": "CoreML", "rocm": "ROCM",
    "migraphx": "MIGraphX", "openvino": "OpenVINO", "dml": "Dml", "directml": "Dml", "qnn": "QNN",
    "xnnpack": "Xnnpack", "nnapi": "Nnapi", "acl": "ACL", "armnn": "ArmNN", "cann": "CANN", "webgpu": "WebGpu",
    "dnnl": "Dnnl", "vitisai": "VitisAI"}.items()}
#: this runtime's options (runtimes/knobs.py); PyTorch reads --provider too (cpu, cuda, mps)
OPTIONS = (
    Knob("provider", ("--provider",), "ONNX Runtime / PyTorch provider (cpu, cuda, ...)",
         runtimes=("onnxruntime", "torch")),
)
_GPU_PIP = "pip uninstall onnxruntime && pip install onnxruntime-{}=={{v}}"
#: how to get a provider that this onnxruntime build lacks
INSTALL_HINT = {"CUDAExecutionProvider": _GPU_PIP.format("gpu") + " (CUDA 12 + cuDNN 9)",
                "TensorrtExecutionProvider": _GPU_PIP.format("gpu") + " plus the TensorRT libraries",
                "DmlExecutionProvider": _GPU_PIP.format("directml") + " (Windows)",
                "OpenVINOExecutionProvider": _GPU_PIP.format("openvino"), "QNNExecutionProvider": _GPU_PIP.format("qnn"),
                "CoreMLExecutionProvider": "use the standard onnxruntime wheel on macOS"}
_GPU_KV = {"CUDAExecutionProvider": "cuda", "TensorrtExecutionProvider": "cuda"}
_NOTABLE_OPS = ("GroupQueryAttention", "MultiHeadAttention", "Attention", "MatMulNBits", "MatMulInteger", "MatMul",
                "DynamicQuantizeMatMul", "SkipSimplifiedLayerNormalization", "RotaryEmbedding", "Softmax")
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
    cands = [artifact.get("tokenizer"), model.parent / "tokenizer.json", model.parent.parent / "tokenizer.json"]
    found = next((Path(c) for c in cands if c and Path(c).is_file()), None)
    if found is None:
        raise RuntimeError_(f"no tokenizer.json beside {model}; copy the model's tokenizer.json into {model.parent}")
    return found


class OrtEngine:
    def __init__(self, artifact: dict[str, Any], placement: Placement, n_ctx: int):
        try:
            import numpy as np
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise RuntimeError_(f"the ONNX Runtime runtime needs {exc.name}: pip install {exc.name}") from exc
        self._np = np
        path = _model_file(Path(artifact["path"]))
        version = ort.__version__
        provider = resolve_provider(placement.provider, ort.get_available_providers(), version)
        opts = ort.SessionOptions()
        for k, v in {"intra_op_num_threads": int(placement.threads), "inter_op_num_threads": 1, "log_severity_level": 3,
                     "execution_mode": ort.ExecutionMode.ORT_SEQUENTIAL,
                     "graph_optimization_level": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}.items():
            setattr(opts, k, v)
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
        self.present = {p: p.replace("past_key_values.", "present.") for p in self.past}
        unknown = sorted(set(ins) - {"input_ids", "attention_mask", "position_ids", *self.past})
        missing = [v for v in self.present.values() if v not in outs]
        if not self.past or unknown or missing:
            why = ("has no past_key_values inputs (exported without KV cache)" if not self.past else
                   f"needs inputs this runtime does not feed ({', '.join(unknown)})" if unknown else
                   f"lacks KV outputs {', '.join(missing[:2])}")
            raise RuntimeError_(f"{path} {why}; re-export with optimum task text-generation-with-past")
        self.tok = Tokenizer.from_file(str(_tokenizer_file(path, artifact)))
        self.n_vocab, self.bos = self.tok.get_vocab_size(), None  # random-token suites; no BOS known here
        first = ins[self.past[0]]
        kv_dtype = np.dtype(_NP_TYPES.get(first.type, "float32"))
        if not all(isinstance(d, int) for d in (first.shape[1], first.shape[3])):
            raise RuntimeError_(f"{path}: KV input shape {first.shape} has symbolic heads/head_dim; unsupported export")
        self._empty = np.zeros((1, int(first.shape[1]), 0, int(first.shape[3])), dtype=kv_dtype)
        self.small = [k for k in ("input_ids", "attention_mask", "position_ids") if k in ins]
        dt = {k: np.dtype(_NP_TYPES.get(ins[k].type, "int64")) if k in ins else np.int64
              for k in ("attention_mask", "position_ids", "input_ids")}
        cap = max(int(n_ctx), 1) + 64
        self._mask = np.ones((1, cap), dtype=dt["attention_mask"])
        self._pos = np.arange(cap, dtype=dt["position_ids"])[None, :]
        self._ids_dtype, self._one = dt["input_ids"], np.zeros((1, 1), dtype=dt["input_ids"])
        self.kv_device = _GPU_KV.get(self.sess.get_providers()[0], "cpu")
        # IO binding only where the KV cache lives off the CPU: on CPU, run() was measured faster per
        # step (tiny model: 0.94 ms vs 1.03 ms with IO binding, 1.27 ms with run_with_ort_values)
        self.binding = self.sess.io_binding() if self.kv_device != "cpu" else None
        self.out_names = ["logits"] + [self.present[p] for p in self.past]
        self.feed: dict[str, Any] = {}  # CPU path: the next run's inputs, the last presents as past
        self.cache: list | None = None  # GPU path: OrtValues of the last presents, in self.past order
        self.reset()
        from edgeprof.runtimes.onnx_graph import scan

        graph = scan(path)
        counted, ops = graph.params, graph.ops
        self.info = EngineInfo(
            name="onnxruntime", version=version,
            placement={"threads": _intra_threads(self.sess, placement.threads), "threads_requested": placement.threads,
                       "provider": _short(self.sess.get_providers()[0]),
                       "providers": self.sess.get_providers(), "provider_requested": placement.provider or "cpu",
                       "inter_op_threads": 1, "execution_mode": "sequential", "graph_optimization_level": "all",
                       "io_binding": self.binding is not None, "kv_device": self.kv_device, "kv_dtype": str(kv_dtype),
                       "gpu_layers": 0, "flash_attn": "n/a", "n_batch": None, "n_ubatch": None, "kv_type": str(kv_dtype)},
            n_params=int((artifact.get("model") or {}).get("params") or 0) or counted, n_ctx=int(n_ctx),
            extra={"model_file": path.name, "n_layers": len(self.past) // 2, "inputs": sorted(ins),
                   "ops": {k: v for k, v in sorted(ops.items()) if k in _NOTABLE_OPS}},
        )

    def tokenize(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def reset(self) -> None:
        self.cache, self.n_past = None, 0
        self.feed = {name: self._empty for name in self.past}

    def _run(self, ids) -> int:
        np, n = self._np, ids.shape[1]
        end = self.n_past + n
        if end > self._pos.shape[1]:  # longer than the n_ctx promised: grow the buffers
            self._mask = np.ones((1, 2 * end), dtype=self._mask.dtype)
            self._pos = np.arange(2 * end, dtype=self._pos.dtype)[None, :]
        small = {"input_ids": ids, "attention_mask": self._mask[:, :end], "position_ids": self._pos[:, self.n_past:end]}
        if self.binding is None:  # CPU: run() on numpy views; its outputs are not copied
            feed = self.feed
            for k in self.small:
                feed[k] = small[k]
            out = self.sess.run(self.out_names, feed)
            for name, val in zip(self.past, out[1:]):
                feed[name] = val
            logits = out[0]
        else:  # GPU: IO binding keeps the KV cache on the device between steps
            b = self.binding
            b.clear_binding_inputs()
            b.clear_binding_outputs()
            for k in self.small:
                b.bind_cpu_input(k, small[k])
            for name, val in zip(self.past, self.cache or [None] * len(self.past)):
                b.bind_cpu_input(name, self._empty) if val is None else b.bind_ortvalue_input(name, val)
            b.bind_output("logits", "cpu")
            for name in self.out_names[1:]:
                b.bind_output(name, self.kv_device)
            self.sess.run_with_iobinding(b)
            out = b.get_outputs()
            self.cache = out[1:]
            logits = out[0].numpy()
        self.n_past = end
        return int(logits[0, -1].argmax())

    def prefill(self, tokens: list[int]) -> int:
        if not tokens:
            raise RuntimeError_("prefill needs at least one token")
        return self._run(self._np.asarray([tokens], dtype=self._ids_dtype))

    def decode(self, token: int) -> int:
        self._one[0, 0] = token
        return self._run(self._one)

    def perf(self) -> dict[str, Any] | None:  # ORT keeps no per-call counters worth reporting
        return None

    def close(self) -> None:
        self.cache = self.binding = self.sess = None


def _intra_threads(sess, requested: int) -> int:
    """The intra-op thread count the session was built with (read back from its options; ORT
    would take 0 to mean "one per core", which the options validation never lets through)."""
    n = int(sess.get_session_options().intra_op_num_threads)
    return n if n > 0 else int(requested)


def _layer_key(name: str) -> tuple[int, str]:
    parts = name.split(".")
    return (int(parts[1]) if len(parts) > 2 and parts[1].isdigit() else 0, parts[-1])


def _short(provider: str) -> str:
    return {v: k for k, v in PROVIDERS.items() if k not in ("trt", "directml")}.get(provider, provider)


def load(artifact: dict[str, Any], placement: Placement, n_ctx: int) -> OrtEngine:
    return OrtEngine(artifact, placement, n_ctx)


