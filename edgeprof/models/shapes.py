"""Concrete input shapes for an inference case: every axis of every input a number, or a one-line
error that names the flag to add (CONTRACTS: a bad command line is exit 2 before anything is written).

Where each axis comes from, in order: ``--shape NAME=AxBxC`` (one input's whole shape; its axis 0 is
the batch) over the shapes a catalogue model's package feeds (edgeprof_inputs.json), ``--batch``
(replaces the batch axis of every input whose axis 0 is dynamic, and every axis sharing its symbol), ``-p`` (the sequence axis of token inputs: a prompt length), the model's
config (an image size), and a symbol already fixed elsewhere (two inputs naming the axis
``sequence`` get the same length). A fixed axis that a flag contradicts is an error, not a reshape.
"""
from __future__ import annotations

import re

from edgeprof.errors import UsageError
from edgeprof.models.signature import PIXEL_INPUTS, TOKEN_INPUTS, Signature

MAX_DIM = 2**24


def parse_shape(text: str) -> tuple[str, list[int]]:
    """``input_ids=1x128`` → ("input_ids", [1, 128]); ``sr=`` (a scalar) → ("sr", [])."""
    m = re.fullmatch(r"\s*([^=\s]+)\s*=\s*((?:\d+(?:[x,*]\d+)*)?)\s*", text)
    if not m:
        raise ValueError(f"expected NAME=AxBxC such as input_ids=1x128 or pixel_values=1x3x224x224, got {text[:60]!r}")
    dims = [int(x) for x in re.split(r"[x,*]", m.group(2))] if m.group(2) else []
    if any(not 1 <= d <= MAX_DIM for d in dims):
        raise ValueError(f"every axis of {m.group(1)} must be between 1 and {MAX_DIM:,}, got {m.group(2)}")
    return m.group(1), dims


def _example(sig_dims, known: dict, batch: int) -> str:
    return "x".join(str(d) if isinstance(d, int) else str(known.get(d, batch if i == 0 else "N"))
                    for i, d in enumerate(sig_dims))


def resolve(sig: Signature, shapes: dict[str, list[int]], batch: int | None, seq_len: int | None
            ) -> tuple[int, dict[str, list[int]]]:
    """(batch, {input: concrete dims}) for one case; ``UsageError`` naming ``--shape`` otherwise."""
    names = [i.name for i in sig.inputs]
    shapes = {**{k: v for k, v in (sig.config.inputs or {}).items() if k in names}, **shapes}
    for name in shapes:
        if name not in names:
            raise UsageError(f"--shape {name}=...: the model has no input {name!r}; its inputs are "
                             f"{', '.join(i.describe() for i in sig.inputs) or 'none'}")
    known: dict[str, int] = {}
    out: dict[str, list] = {}
    for inp in sig.inputs:  # --shape first: it says the whole shape of its input
        dims = list(inp.dims)
        if inp.name in shapes:
            given = shapes[inp.name]
            if len(given) != len(dims):
                raise UsageError(f"--shape {inp.name}={'x'.join(map(str, given))}: {inp.name} has {len(dims)} axes "
                                 f"({inp.describe()}); give one size per axis")
            for i, (d, g) in enumerate(zip(dims, given)):
                if isinstance(d, int) and d != g:
                    raise UsageError(f"--shape {inp.name}: axis {i} of {inp.name} is fixed at {d} in the model, "
                                     f"not {g} ({inp.describe()})")
                if isinstance(d, str) and not (i == 0 and batch is not None):
                    known.setdefault(d, g)
            dims = [g if not (i == 0 and batch is not None and not isinstance(d, int)) else d
                    for i, (d, g) in enumerate(zip(dims, given))]
        out[inp.name] = dims
    b = batch
    if b is None:  # the batch a --shape flag gave (its axis 0), else 1
        b = next((shapes[i.name][0] for i in sig.inputs if i.name in shapes and shapes[i.name]
                  and not isinstance(i.dims[0], int)), 1)
    batch_syms = {i.dims[0] for i in sig.inputs if i.dims and isinstance(i.dims[0], str)}
    batch_syms |= {d for i in sig.inputs for d in i.dims if isinstance(d, str) and d in ("batch", "batch_size")}
    if batch not in (None, 1) and not batch_syms and not any(i.dims and i.dims[0] is None for i in sig.inputs):
        raise UsageError(f"--batch {batch}: the model's batch axis is fixed ("
                         f"{', '.join(i.describe() for i in sig.inputs)}); re-export it with a dynamic batch axis or "
                         f"drop --batch")
    for s in batch_syms:
        known[s] = b
    cfg_hw = sig.config.image_size
    for inp in sig.inputs:
        dims = out[inp.name]
        for i, d in enumerate(dims):
            if isinstance(d, int):
                continue
            v = None
            if i == 0:
                v = b
            elif isinstance(d, str) and d in known:
                v = known[d]
            elif inp.name in TOKEN_INPUTS and i == 1 and len(dims) == 2 and seq_len:
                v = seq_len
            elif (inp.name in PIXEL_INPUTS or sig.modality == "vision") and len(dims) == 4 and i in (2, 3) and cfg_hw:
                v = cfg_hw[i - 2]
            if v is None:
                raise UsageError(f"input {inp.name} has a dynamic axis {i} ({d or 'unnamed'}) that nothing sets "
                                 f"({inp.describe()}); add --shape {inp.name}={_example(inp.dims, known, b)} with N "
                                 f"the size you want")
            dims[i] = v
            if isinstance(d, str):
                known.setdefault(d, v)
        out[inp.name] = [int(x) for x in dims]
    return b, out


def sequence_length(sig: Signature, inputs: dict[str, list[int]]) -> int | None:
    """The sequence length of a text model's case (axis 1 of its token inputs), else None."""
    for name in TOKEN_INPUTS:
        dims = inputs.get(name)
        if dims and len(dims) == 2 and sig.input(name) is not None:
            return dims[1]
    return None
