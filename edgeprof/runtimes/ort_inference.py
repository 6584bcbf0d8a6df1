"""ONNX Runtime for models that are not causal LMs: one ``InferenceSession``, inputs prepared once,
and ``run()`` = one forward pass (the worker's inference loop times it).

Why so bare: the per-inference latency must be the session's, not edgeprof's (the parity benchmark
``benchmarks/encoder_parity.py`` holds it to a plain ``sess.run`` loop). On CPU ``run`` is
``sess.run(None, feed)`` over numpy arrays made before the clock starts; on a GPU provider the
inputs are bound once as device OrtValues (IO binding) and outputs stay on the device, with a
synchronize so the time covers the work. Session options match the decoder runtime's
(``runtimes/onnxruntime.py``): intra-op threads from ``-t``, sequential execution, all graph
optimizations.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeprof.runtimes.base import EngineInfo, Placement, RuntimeError_
from edgeprof.runtimes.onnx_graph import scan
from edgeprof.runtimes.onnxruntime import _GPU_KV, _intra_threads, _short, resolve_provider


_NP = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
       "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int8)": "int8", "tensor(uint8)": "uint8",
       "tensor(bool)": "bool", "tensor(bfloat16)": "float32"}


class OrtInference:
    def __init__(self, artifact: dict[str, Any], placement: Placement):
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise RuntimeError_(f"the ONNX Runtime runtime needs {exc.name}: pip install onnxruntime") from exc
        path = Path(artifact["path"])
        if path.is_dir():
            path = next(iter(sorted(path.glob("*.onnx"), key=lambda p: (p.name != "model.onnx", p.name))), path)
        if not path.is_file():
            raise RuntimeError_(f"ONNX file not found: {path}")
        version = ort.__version__
        provider = resolve_provider(placement.provider, ort.get_available_providers(), version)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = int(placement.threads)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        providers = [provider] + (["CPUExecutionProvider"] if provider != "CPUExecutionProvider" else [])
        try:
            self.sess = ort.InferenceSession(str(path), opts, providers=providers)
        except Exception as exc:  # noqa: BLE001 - ORT raises several unrelated types
            msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RuntimeError_(f"ONNX Runtime could not load {path}: {msg[:300]}") from exc
        self._ort = ort
        self.path = path
        self.device = _GPU_KV.get(self.sess.get_providers()[0], "cpu")
        self.feed: dict[str, Any] = {}
        self.binding = None
        graph = scan(path)
        counted, ops = graph.params, graph.ops
        self.info = EngineInfo(
            name="onnxruntime", version=version,
            placement={"threads": _intra_threads(self.sess, placement.threads), "threads_requested": placement.threads,
                       "provider": _short(self.sess.get_providers()[0]), "providers": self.sess.get_providers(),
                       "provider_requested": placement.provider or "cpu", "inter_op_threads": 1,
                       "execution_mode": "sequential", "graph_optimization_level": "all",
                       "io_binding": self.device != "cpu", "gpu_layers": 0, "flash_attn": "n/a", "n_batch": None,
                       "n_ubatch": None, "kv_type": None},
            n_params=int((artifact.get("model") or {}).get("params") or 0) or counted,
            extra={"model_file": path.name, "outputs": [o.name for o in self.sess.get_outputs()],
                   "ops": dict(sorted(ops.items(), key=lambda kv: -kv[1])[:12])})

    def io(self) -> tuple[list[tuple[str, str, tuple]], tuple[str, ...]]:
        """The session's inputs as (name, numpy dtype, dims: int | symbol | None) and its outputs."""
        ins = [(i.name, _NP.get(i.type, "float32"), tuple(d if isinstance(d, int) and d > 0 else (d or None)
                                                        for d in i.shape)) for i in self.sess.get_inputs()]
        return ins, tuple(o.name for o in self.sess.get_outputs())

    def prepare(self, feed: dict[str, Any]) -> None:
        """Keep the inputs for ``run``; on a GPU provider bind them on the device once."""
        names = {i.name for i in self.sess.get_inputs()}
        self.feed = {k: v for k, v in feed.items() if k in names}
        if self.device != "cpu":
            b = self.sess.io_binding()
            for k, v in self.feed.items():
                b.bind_ortvalue_input(k, self._ort.OrtValue.ortvalue_from_numpy(v, self.device, 0))
            for o in self.sess.get_outputs():
                b.bind_output(o.name, self.device)
            self.binding = b

    def run(self) -> Any:
        """One forward pass over the prepared inputs."""
        if self.binding is None:
            return self.sess.run(None, self.feed)
        self.sess.run_with_iobinding(self.binding)
        self.binding.synchronize_outputs()
        return None

    def outputs(self, feed: dict[str, Any]) -> dict[str, Any]:
        """Every output of one pass over ``feed`` as numpy (quality checks; not timed)."""
        names = [o.name for o in self.sess.get_outputs()]
        return dict(zip(names, self.sess.run(names, {k: v for k, v in feed.items()
                                                     if k in {i.name for i in self.sess.get_inputs()}})))

    def close(self) -> None:
        self.binding = self.sess = None
        self.feed = {}


def load(artifact: dict[str, Any], placement: Placement) -> OrtInference:
    return OrtInference(artifact, placement)
