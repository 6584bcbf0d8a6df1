"""The tokenizer rebuilt from the GGUF metadata gives llama.cpp's token ids, chunk for chunk.

transformers' own GGUF tokenizer is wrong in five ways (STACK-FACTS.md); these tests pin each one
down and prove id parity with llama.cpp (``vocab_only`` Llama, ``special=True``, no BOS) on a few
hundred varied chunks: prose, code, digits, unicode, emoji, whitespace runs and special tokens.
"""
from __future__ import annotations

import json
import random

import pytest

from edgeprof.exporters.quality.measure import eval_text_path

CODE = [
    "def f(x):\n    return x ** 2  # square\n",
    "for (int i = 0; i < 10; ++i) {\n\tsum += a[i];\n}",
    '{"key": [1, 2, 3], "nested": {"a": null, "b": true}}',
    "SELECT id, name FROM users WHERE age >= 21 ORDER BY name;",
    "#!/bin/sh\nset -eu\nfor f in *.txt; do wc -l \"$f\"; done",
    "import numpy as np\narr = np.zeros((3, 4), dtype=np.float32)\n",
    "    if (x != y && y <= 0x7fff) return -1;",
    "fn main() { println!(\"{}\", 42_u64.pow(2)); }",
    "<div class=\"row\"><span>&amp; &lt;tag&gt;</span></div>",
    "x=1;y=2\nprint(x+y)\r\nexit 0",
]
DIGITS = ["0", "7", "42", "1234567890", "3.14159265358979", "1,000,000", "2026-11-23T04:30:00Z",
          "+1 (555) 010-9999", "v0.3.36", "1e-10", "x² + y³ = z⁴", "½ ¼ ¾", "١٢٣٤ (Arabic-Indic)",
          "१२३ (Devanagari)", "１２３ fullwidth", "Ⅻ roman", "007 agents and 1000000 dollars",
          "pi≈3.14, e≈2.718", "IPv4 192.168.0.1:8080", "-273.15°C"]
UNICODE = ["héllo wörld", "naïve café résumé", "日本語のテキスト", "中文分词测试", "Привет, мир!",
           "Γειά σου Κόσμε", "नमस्ते दुनिया", "مرحبا بالعالم", "שלום עולם", "🎉🎉🎉", "👩‍💻 codes",
           "🇫🇷🇩🇪 flags", "e\u0301 combining", "ß ẞ ŉ ǆ", "€ £ ¥ ₹ ₿", "“smart quotes” ‘single’",
           "em — dash – en", "…ellipsis…", "\u00a0nbsp\u00a0", "zero\u200bwidth", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math",
           "ｆｕｌｌｗｉｄｔｈ", "😀😃😄😁😆😅🤣😂", "한국어 문장", "ไทย ภาษา"]
SPACES = ["a  b", "a   b    c", "\t\ttabs", "\n\n\nnewlines", "trailing   ", "   leading", "\r\n\r\n",
          " ", "  ", "\n", "word\n\n  \n\tword", "x \n y", "  \t \n  ", "a\u3000b ideographic space",
          "end.   \n"]
SPECIAL = ["<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n", "<|endoftext|>",
           "a<|im_end|>b", "<|im_start|><|im_start|>", "<repo_name>edgeprof<file_sep>x.py",
           "<|im_start|system", "< |im_start| >", "<filename>a.txt<gh_stars>10",
           "<jupyter_code>print(1)<jupyter_output>1", "text <|endoftext|> more text"]


def chunks() -> list[str]:
    """A few hundred deterministic chunks covering every case named in the module docstring."""
    text = eval_text_path().read_text()
    rng = random.Random(1234)
    out = CODE + DIGITS + UNICODE + SPACES + SPECIAL
    for _ in range(150):  # prose slices at odd offsets and lengths
        start = rng.randrange(0, len(text) - 400)
        out.append(text[start:start + rng.randrange(1, 400)])
    pool = "abcXYZ 0123456789\n\t  .,;:!?'\"-_()[]{}<>/\\|@#$%^&*+=~`éüßçñ日本語🙂🎉"
    for _ in range(100):  # random mixes
        out.append("".join(rng.choice(pool) for _ in range(rng.randrange(1, 60))))
    for _ in range(30):  # special tokens glued into prose
        start = rng.randrange(0, len(text) - 100)
        tok = rng.choice(["<|im_start|>", "<|im_end|>", "<|endoftext|>"])
        out.append(text[start:start + 40] + tok + text[start + 40:start + 80])
    return out


@pytest.fixture(scope="module")
def llama_vocab(smollm2_gguf):
    import llama_cpp
    return llama_cpp.Llama(model_path=str(smollm2_gguf), vocab_only=True, verbose=False)


@pytest.fixture(scope="module")
def hf_tokenizer(smollm2_tokenizer_dir):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(str(smollm2_tokenizer_dir))


def test_token_ids_match_llama_cpp_on_hundreds_of_chunks(llama_vocab, hf_tokenizer):
    cases = chunks()
    assert len(cases) >= 300
    mismatches = []
    for text in cases:
        expected = llama_vocab.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        got = hf_tokenizer(text)["input_ids"]  # default add_special_tokens=True: must add nothing
        if got != expected:
            mismatches.append((text, expected[:12], got[:12]))
    assert not mismatches, f"{len(mismatches)} of {len(cases)} chunks differ, first: {mismatches[:3]}"


def test_decoding_round_trips_text(hf_tokenizer):
    for text in CODE + DIGITS + UNICODE + SPACES:
        ids = hf_tokenizer(text)["input_ids"]
        assert hf_tokenizer.decode(ids) == text


def test_the_five_stock_conversion_defects_are_absent(smollm2_tokenizer_dir, hf_tokenizer):
    files = {p.name for p in smollm2_tokenizer_dir.iterdir()}
    assert "tokenizer.model" not in files  # 1: no copy of the GGUF posing as a SentencePiece model
    assert hf_tokenizer.eos_token == "<|im_end|>" and hf_tokenizer.bos_token == "<|im_start|>"  # 2
    assert hf_tokenizer.eos_token_id == 2 and hf_tokenizer.bos_token_id == 1
    cfg = json.loads((smollm2_tokenizer_dir / "tokenizer_config.json").read_text())
    assert cfg["add_bos_token"] is False  # 3: SmolLM2 adds no BOS
    assert hf_tokenizer("hi")["input_ids"][0] != hf_tokenizer.bos_token_id
    tj = json.loads((smollm2_tokenizer_dir / "tokenizer.json").read_text())
    pre = tj["pre_tokenizer"]["pretokenizers"]
    assert pre[0] == {"type": "Digits", "individual_digits": True}  # 4: the smollm digit split
    assert pre[1]["type"] == "ByteLevel"
    assert tj["model"]["type"] == "BPE" and len(tj["model"]["merges"]) == 48900  # 5: BPE, not Unigram
    assert tj["decoder"]["type"] == "ByteLevel"


def test_chat_template_and_special_tokens_survive(hf_tokenizer):
    text = hf_tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                            add_generation_prompt=True)
    assert text.endswith("<|im_start|>assistant\n") and "<|im_start|>user\nhi<|im_end|>" in text
    assert hf_tokenizer("<|im_start|>")["input_ids"] == [1]
    assert hf_tokenizer("2026")["input_ids"] == hf_tokenizer("2")["input_ids"] + hf_tokenizer("0")["input_ids"] \
        + hf_tokenizer("2")["input_ids"] + hf_tokenizer("6")["input_ids"]


def test_unsupported_tokenizer_metadata_is_refused_in_one_line():
    from edgeprof.exporters import ExportError
    from edgeprof.exporters.source.tokenizer import build_tokenizer

    meta = {"model": "llama", "pre": "default", "tokens": ["a"], "token_types": [1], "merges": []}
    with pytest.raises(ExportError, match="not supported") as err:
        build_tokenizer(meta)
    assert "\n" not in str(err.value)
    with pytest.raises(ExportError, match="pre-tokenizer 'qwen2'"):
        build_tokenizer({**meta, "model": "gpt2", "pre": "qwen2"})
