"""The tensors an inference case feeds: real inputs where the model's preprocessor is at hand, and
random inputs of the right distribution otherwise — each input says which (``InputPlan.source``).

Real: token ids from the model's own tokenizer.json over the bundled prompt text (each row of the
batch cut at another offset), pixels from the bundled image set (assets/images) resized to the
model's size and normalised with its preprocessor's mean and std. Random (seeded, the same every
run): token ids in [0, vocab) when there is no tokenizer, audio samples in [-1, 1], a standard
normal for other float inputs. Masks are ones, token types zeros, positions 0..n-1, a sampling rate
its config's (16 kHz otherwise), a recurrent state zeros: what a caller of the model passes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edgeprof.models.signature import AUDIO_INPUTS, PIXEL_INPUTS, RATE_INPUTS, STATE_INPUTS, Signature

#: used where a preprocessor names no mean/std (ImageNet's, as torchvision and most HF processors)
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
DEFAULT_RATE = 16000


@dataclass(frozen=True)
class InputPlan:
    """How one input was made: ``real`` (a preprocessor over bundled data) or ``random``, and from what."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    source: str                      # real | random | fixed
    how: str

    def to_dict(self) -> dict[str, Any]:
        return {"shape": list(self.shape), "dtype": self.dtype, "source": self.source, "how": self.how}


def _tokenizer(model_dir: Path):
    for d in (model_dir, model_dir.parent):
        if (d / "tokenizer.json").is_file():
            from tokenizers import Tokenizer

            return Tokenizer.from_file(str(d / "tokenizer.json")), d / "tokenizer.json"
    return None, None


def _token_rows(np, tok, text: str, batch: int, seq: int):
    ids = tok.encode(text, add_special_tokens=False).ids or [0]
    while len(ids) < seq * (batch + 1):
        ids = ids + ids
    return np.asarray([ids[r * 7 * (seq // 8 + 1) % len(ids):][:seq] for r in range(batch)], dtype=np.int64)


def images(size: tuple[int, int], n: int, mean, std):
    """``n`` bundled images as an (n, 3, H, W) float32 array, resized and normalised."""
    import numpy as np

    from edgeprof.assets_access import asset
    from edgeprof.results.extras import need

    Image = need("PIL.Image", "feeding images to a vision model")

    files = sorted(asset("images").glob("*.png"))
    out = []
    for i in range(n):
        with Image.open(files[i % len(files)]) as im:
            a = np.asarray(im.convert("RGB").resize((size[1], size[0]), Image.BILINEAR), dtype=np.float32) / 255.0
        out.append(((a - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).transpose(2, 0, 1))
    return np.stack(out).astype(np.float32)


def build(sig: Signature, shapes: dict[str, list[int]], model_path: str, text: str, seed: int = 0
          ) -> tuple[dict[str, Any], list[InputPlan]]:
    """(feed of numpy arrays, how each was made) for one case's concrete ``shapes``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    p = Path(model_path)
    model_dir = p if p.is_dir() else p.parent
    tok, tok_path = _tokenizer(model_dir) if sig.modality == "text" else (None, None)
    cfg = sig.config
    feed: dict[str, Any] = {}
    plans: list[InputPlan] = []
    for inp in sig.inputs:
        shape = tuple(shapes[inp.name])
        dt = np.dtype(inp.dtype if inp.dtype != "bfloat16" else "float32")
        name = inp.name
        if name == "input_ids" and len(shape) == 2:
            if tok is not None:
                arr = _token_rows(np, tok, text, *shape)
                src, how = "real", f"the model's tokenizer ({tok_path.name}) over the bundled prompt text"
            else:
                vocab = int(cfg.vocab_size or 1000)
                arr = rng.integers(0, vocab, size=shape)
                src, how = "random", f"uniform token ids in [0, {vocab}) (no tokenizer.json beside the model)"
        elif name == "attention_mask":
            arr, src, how = np.ones(shape), "fixed", "ones (every position attended)"
        elif name == "token_type_ids":
            arr, src, how = np.zeros(shape), "fixed", "zeros (one segment)"
        elif name == "position_ids":
            arr, src, how = np.broadcast_to(np.arange(shape[-1]), shape).copy(), "fixed", "0..n-1"
        elif name in RATE_INPUTS:
            rate = int(cfg.sampling_rate or DEFAULT_RATE)
            arr, src, how = np.full(shape, rate), "fixed", f"sampling rate {rate} Hz"
        elif name in STATE_INPUTS:
            arr, src, how = np.zeros(shape), "fixed", "zeros (the recurrent state's start)"
        elif (name in PIXEL_INPUTS or sig.modality == "vision") and len(shape) == 4 and shape[1] == 3:
            mean, std = cfg.image_mean or IMAGENET_MEAN, cfg.image_std or IMAGENET_STD
            arr = images((shape[2], shape[3]), shape[0], mean, std)
            basis = "preprocessor_config.json" if cfg.image_mean else "ImageNet's (no preprocessor_config.json)"
            src, how = "real", f"bundled images (assets/images) resized to {shape[2]}x{shape[3]}, mean/std {basis}"
        elif dt.kind == "f" and (name in AUDIO_INPUTS and sig.modality == "audio"):
            arr = rng.uniform(-1.0, 1.0, size=shape) * 0.3
            src, how = "random", "uniform audio samples in [-0.3, 0.3] (no bundled recording)"
        elif dt.kind == "f":
            arr, src, how = rng.standard_normal(shape), "random", "standard normal (no preprocessor for this input)"
        elif dt.kind == "b":
            arr, src, how = np.ones(shape), "fixed", "all true"
        else:
            arr, src, how = np.zeros(shape), "random", "zeros (an integer input of unknown meaning)"
        feed[name] = np.ascontiguousarray(arr, dtype=dt)
        plans.append(InputPlan(name, shape, str(dt), src, how))
    return feed, plans


def audio_seconds(sig: Signature, shapes: dict[str, list[int]]) -> float | None:
    """Seconds of audio one sample of the batch holds (for the real-time factor), else None."""
    if sig.modality != "audio":
        return None
    rate = int(sig.config.sampling_rate or DEFAULT_RATE)
    for inp in sig.inputs:
        dims = shapes.get(inp.name) or []
        if inp.name in AUDIO_INPUTS and len(dims) >= 2:
            return dims[-1] / rate
    return None
