"""A minimal ONNX Runtime decoder loop, used to verify artifacts and score their quality.

Why not optimum's ``ORTModelForCausalLM``: it costs a 5 s import and 25-40 % per token, and the
exporters only need two things: next-token logits over a chunk with a KV cache (for perplexity and
greedy decoding) and proof that a file loads and produces a token. The bench's own runtime lives
in ``edgeprof/runtimes/onnxruntime.py``; this one is deliberately small.
"""
from __future__ import annotations

from pathlib import Path


class OnnxDecoder:
    """Greedy/perplexity access to an optimum decoder-with-past ONNX file (fp32 inputs/outputs)."""

    def __init__(self, model_path: str | Path, *, threads: int = 2):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        self.past_names = [n for n in self.inputs if n.startswith("past_key_values.")]
        self.out_names = [o.name for o in self.session.get_outputs()]
        first = self.inputs[self.past_names[0]] if self.past_names else None
        # shape [batch, kv_heads, past_len, head_dim]; heads/dim are static in optimum exports
        self.kv_heads = int(first.shape[1]) if first is not None else 0
        self.head_dim = int(first.shape[3]) if first is not None else 0

    def empty_past(self) -> dict:
        import numpy as np
        shape = (1, self.kv_heads, 0, self.head_dim)
        return {n: np.zeros(shape, dtype=np.float32) for n in self.past_names}

    def forward(self, ids: list[int], past: dict, past_len: int):
        """Logits [len(ids), vocab] for ``ids`` following ``past_len`` cached tokens, and the new cache."""
        import numpy as np

        n = len(ids)
        feed = {"input_ids": np.asarray([ids], dtype=np.int64),
                "attention_mask": np.ones((1, past_len + n), dtype=np.int64)}
        if "position_ids" in self.inputs:
            feed["position_ids"] = np.arange(past_len, past_len + n, dtype=np.int64)[None, :]
        feed.update(past)
        outs = self.session.run(None, feed)
        res = dict(zip(self.out_names, outs))
        new_past = {p: res[p.replace("past_key_values.", "present.")] for p in self.past_names}
        return res["logits"][0].astype(np.float32), new_past

    def greedy(self, prompt: list[int], n_new: int) -> list[int]:
        """``n_new`` greedy tokens after ``prompt`` (EOS not special-cased: fixed length)."""
        logits, past = self.forward(prompt, self.empty_past(), 0)
        out = [int(logits[-1].argmax())]
        pos = len(prompt)
        while len(out) < n_new:
            logits, past = self.forward([out[-1]], past, pos)
            pos += 1
            out.append(int(logits[-1].argmax()))
        return out

    def window_logits(self, ids: list[int], chunk: int = 128):
        """Logits for every position of ``ids`` (one window), fed in chunks through the KV cache."""
        import numpy as np

        past, pos, parts = self.empty_past(), 0, []
        for start in range(0, len(ids), chunk):
            logits, past = self.forward(ids[start:start + chunk], past, pos)
            pos += len(ids[start:start + chunk])
            parts.append(logits)
        return np.concatenate(parts, axis=0)
