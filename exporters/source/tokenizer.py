"""Rebuild a Hugging Face *fast* tokenizer from a GGUF file's ``tokenizer.*`` metadata.

Why not let transformers do it: transformers 4.57.6 builds a wrong tokenizer from a GGUF in five
ways (STACK-FACTS.md): it copies the whole GGUF into ``tokenizer.model``; it sets eos to the bos
token; it forces add_bos (SmolLM2 says no); it drops SmolLM2's individual-digit pre-split; and it
turns BPE vocabularies into Unigram. Here the tokenizer is built directly with the ``tokenizers``
library from the GGUF's tokens, merges, token types and special ids, mirroring what llama.cpp does
with the same metadata, so token ids match llama.cpp (tested on hundreds of chunks).

Supported: ``tokenizer.ggml.model == "gpt2"`` (byte-level BPE) with the pre-tokenizers listed in
``PRE_TOKENIZERS``. Anything else is refused with a one-line error rather than guessed.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeprof.exporters.errors import ExportError

# llama.cpp pre-tokenizer name -> split the text into single digits before the byte-level regex?
# ("smollm" is llama.cpp's LLAMA_VOCAB_PRE_TYPE_SMOLLM: "\p{N}" then the GPT-2 regex.)
PRE_TOKENIZERS = {"smollm": True, "gpt-2": False, "default": False}
TOKEN_TYPE_CONTROL = 3
TOKEN_TYPE_USER_DEFINED = 4


def read_gguf_tokenizer(gguf_path: Path) -> dict[str, Any]:
    """The tokenizer metadata of a GGUF as plain Python values (needs the ``gguf`` package)."""
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf_path))

    def get(key: str, default: Any = None) -> Any:
        field = reader.fields.get(key)
        return default if field is None else field.contents()

    meta = {
        "model": get("tokenizer.ggml.model"),
        "pre": get("tokenizer.ggml.pre", "default"),
        "tokens": get("tokenizer.ggml.tokens"),
        "token_types": get("tokenizer.ggml.token_type"),
        "merges": get("tokenizer.ggml.merges"),
        "bos_id": get("tokenizer.ggml.bos_token_id"),
        "eos_id": get("tokenizer.ggml.eos_token_id"),
        "unk_id": get("tokenizer.ggml.unknown_token_id"),
        "pad_id": get("tokenizer.ggml.padding_token_id"),
        "add_bos": bool(get("tokenizer.ggml.add_bos_token", False)),
        "add_eos": bool(get("tokenizer.ggml.add_eos_token", False)),
        "chat_template": get("tokenizer.chat_template"),
        "context_length": None,
    }
    arch = get("general.architecture")
    if arch:
        meta["context_length"] = get(f"{arch}.context_length")
    if not meta["tokens"]:
        raise ExportError(f"{gguf_path} has no tokenizer.ggml.tokens metadata; cannot rebuild a tokenizer")
    return meta


def build_tokenizer(meta: dict[str, Any]):
    """A ``tokenizers.Tokenizer`` equivalent to llama.cpp's for this metadata."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    if meta["model"] != "gpt2":
        raise ExportError(f"GGUF tokenizer model {meta['model']!r} is not supported yet (only byte-level "
                          f"BPE 'gpt2'); use a Hugging Face directory with its own tokenizer instead")
    if meta["pre"] not in PRE_TOKENIZERS:
        raise ExportError(f"GGUF pre-tokenizer {meta['pre']!r} is not supported yet (known: "
                          f"{', '.join(sorted(PRE_TOKENIZERS))}); use a Hugging Face directory instead")
    tokens = list(meta["tokens"])
    vocab = {tok: i for i, tok in enumerate(tokens)}
    merges = [tuple(m.split(" ", 1)) for m in meta["merges"] or []]
    bpe = models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False)
    tok = Tokenizer(bpe)
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    if PRE_TOKENIZERS[meta["pre"]]:
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [pre_tokenizers.Digits(individual_digits=True), byte_level])
    else:
        tok.pre_tokenizer = byte_level
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    types = list(meta["token_types"] or [])
    special = [AddedToken(tokens[i], special=True, normalized=False)
               for i, t in enumerate(types) if t == TOKEN_TYPE_CONTROL]
    user = [AddedToken(tokens[i], special=False, normalized=False)
            for i, t in enumerate(types) if t == TOKEN_TYPE_USER_DEFINED]
    if special:
        tok.add_special_tokens(special)
    if user:
        tok.add_tokens(user)
    return tok


def _name(tokens: list[str], idx: int | None) -> str | None:
    return tokens[idx] if idx is not None and 0 <= idx < len(tokens) else None


def save_tokenizer(meta: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Write tokenizer.json / tokenizer_config.json / special_tokens_map.json into ``out_dir``.

    Special tokens come from the GGUF ids (eos is eos, not bos), ``add_bos_token`` follows the GGUF
    flag (SmolLM2: False) and no ``tokenizer.model`` is written. Returns the special-token ids.
    """
    from transformers import PreTrainedTokenizerFast

    tokens = list(meta["tokens"])
    ctx = meta.get("context_length")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=build_tokenizer(meta),
        bos_token=_name(tokens, meta["bos_id"]), eos_token=_name(tokens, meta["eos_id"]),
        unk_token=_name(tokens, meta["unk_id"]), pad_token=_name(tokens, meta["pad_id"]),
        clean_up_tokenization_spaces=False, model_max_length=int(ctx) if ctx else int(1e30),
    )
    if meta.get("chat_template"):
        fast.chat_template = meta["chat_template"]
    fast.init_kwargs["add_bos_token"] = bool(meta["add_bos"])
    fast.init_kwargs["add_eos_token"] = bool(meta["add_eos"])
    fast.init_kwargs["add_prefix_space"] = False
    fast.save_pretrained(str(out_dir))
    stray = Path(out_dir) / "tokenizer.model"
    if stray.exists():  # never ship a copy of the GGUF as a "SentencePiece model"
        stray.unlink()
    return {"bos_token_id": meta["bos_id"], "eos_token_id": meta["eos_id"],
            "pad_token_id": meta["pad_id"], "unk_token_id": meta["unk_id"]}
