"""A tiny random-weight Llama with a real (small, locally trained) BPE tokenizer, saved as
safetensors and exported to ONNX with optimum (decoder with past). Built once per machine into
the test cache (keyed by a version tag) and reused, so the runtime tests stay fast."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

TAG = "tiny-llama-v1"
CONFIG = dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=512, initializer_range=0.2,
              tie_word_embeddings=True, rms_norm_eps=1e-5)
PROMPTS = ["The quick brown fox jumps over the lazy dog.", "Edge devices run small models: 1, 2, 3.",
           "def main():\n    return 42\n"]


def _train_tokenizer(out: Path) -> int:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    root = Path(__file__).resolve().parents[2]
    text = (root / "assets" / "prompts" / "bench.txt").read_text()
    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator([text] + PROMPTS, trainer)
    tok.save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>",
        "unk_token": None, "add_bos_token": False, "model_max_length": 512}))
    return tok.get_vocab_size()


def _build(root: Path) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    hf = root / "hf"
    hf.mkdir(parents=True)
    vocab = _train_tokenizer(hf)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=vocab, bos_token_id=0, eos_token_id=0, **CONFIG)
    model = LlamaForCausalLM(cfg).eval()
    model.save_pretrained(hf, safe_serialization=True)
    from optimum.exporters.onnx import main_export

    onnx_dir = root / "onnx"
    main_export(str(hf), output=str(onnx_dir), task="text-generation-with-past", device="cpu",
                do_validation=False)
    shutil.copy2(hf / "tokenizer.json", onnx_dir / "tokenizer.json")
    (root / "DONE").write_text("ok")


@pytest.fixture(scope="session")
def tiny(test_home) -> dict[str, Path]:
    """{"hf": HF dir (safetensors + tokenizer.json), "onnx": the .onnx file (tokenizer beside it)}."""
    root = test_home / "runtimes" / TAG
    if not (root / "DONE").exists():
        if root.exists():
            shutil.rmtree(root)
        tmp = root.with_name(TAG + ".partial")
        if tmp.exists():
            shutil.rmtree(tmp)
        _build(tmp)
        tmp.rename(root)
    return {"hf": root / "hf", "onnx": root / "onnx" / "model.onnx", "root": root}


@pytest.fixture(scope="session")
def teacher(tiny) -> dict[str, list[int]]:
    """prompt -> (prompt ids, 12 greedy tokens from transformers' generate(do_sample=False))."""
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModelForCausalLM

    tok = Tokenizer.from_file(str(tiny["hf"] / "tokenizer.json"))
    model = AutoModelForCausalLM.from_pretrained(tiny["hf"], dtype=torch.float32).eval()
    model.generation_config.eos_token_id = None
    out = {}
    for p in PROMPTS:
        ids = tok.encode(p, add_special_tokens=False).ids
        x = torch.tensor([ids])
        with torch.inference_mode():
            g = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=12, do_sample=False,
                               pad_token_id=0)
        out[p] = (ids, g[0, len(ids):].tolist())
    return out
