"""What makes an edge row and a reference row comparable: the same model, the same quant, the
same workload (CONTRACTS "Server references"; STYLE rule 16: identity is content).

Names only *propose* a candidate: a published row names its model in free text ("Llama 3.2 1B
Instruct") and its quant the way llama.cpp prints a file type ("Q4_K - Medium"); an edge GGUF
carries the same claims in its metadata (``general.name``, ``basename`` + ``size_label`` +
``finetune``). Both sides are reduced to the same keys: lower-case alphanumeric words joined by
``-`` ("llama-3-2-1b-instruct"). A name is a claim anyone can write — the packaged 135M SmolLM2
with its metadata rewritten to "Llama 3.2 1B Instruct" was matched EXACT with 493 LocalScore
rows — so ``check`` decides: the parameter counts (counted from the tensors on the edge side)
must agree within ``PARAMS_TOLERANCE`` and the shapes, where both sides carry them, must be equal.
"""
from __future__ import annotations

import re
from typing import Any

from edgeprof.results.schema import ModelInfo, Workload

#: llama.cpp's file-type names (``llama_model_ftype_name``) -> edgeprof quant names
FTYPE_NAMES = {"all f32": "f32", "f16": "f16", "bf16": "bf16", "q4_0": "q4_0", "q4_1": "q4_1", "q5_0": "q5_0",
               "q5_1": "q5_1", "q8_0": "q8_0", "q2_k - medium": "q2_k", "q2_k - small": "q2_k_s",
               "q3_k - small": "q3_k_s", "q3_k - medium": "q3_k_m", "q3_k - large": "q3_k_l",
               "q4_k - small": "q4_k_s", "q4_k - medium": "q4_k_m", "q5_k - small": "q5_k_s",
               "q5_k - medium": "q5_k_m", "q6_k": "q6_k", "iq2_m - 2.7 bpw": "iq2_m", "iq4_xs - 4.25 bpw": "iq4_xs",
               "iq4_nl - 4.5 bpw": "iq4_nl", "mxfp4 moe": "mxfp4"}
#: how many times larger or smaller another model may be for a ``normalized`` comparison
NORMALIZED_MAX_FACTOR = 4.0
#: how far two parameter counts of "the same model" may differ: published counts are rounded
#: ("1.24 B" for 1,235,814,400 tensor elements: 0.3 %; "8000 M" for 8.03 B: 0.4 %)
PARAMS_TOLERANCE = 0.05
#: a nominal count (read off a name, "1.5B" for 1.78 B) only rules a model out beyond this factor
NOMINAL_FACTOR = 1.6
#: shape facts compared when both sides carry them (GGUF headers, edgeprof-made rows)
SHAPE_KEYS = ("n_layers", "n_embd", "vocab_size")
SAME, UNVERIFIED, DIFFERENT, OTHER = "same", "unverified", "different", "other"


def norm(text: Any) -> str:
    """``"Llama-3.2-1B-Instruct"`` and ``"Llama 3.2 1B Instruct"`` -> ``"llama-3-2-1b-instruct"``."""
    return "-".join(re.findall(r"[a-z0-9]+", str(text or "").lower()))


def quant_name(text: str | None) -> str | None:
    """A quant as edgeprof spells it, from edgeprof's own names or llama.cpp's file-type names."""
    if not text:
        return None
    t = str(text).strip().lower()
    return FTYPE_NAMES.get(t, t.replace(" - ", "_").replace(" ", "_"))


def model_keys(model: ModelInfo) -> set[str]:
    """Every name a model goes by: its id, its display name, and (GGUF) ``general.name`` and
    ``basename size_label finetune`` from the file's metadata."""
    ex = model.extra
    keys = {norm(model.id), norm(model.name), norm(ex.get("general_name"))}
    if ex.get("basename"):
        keys.add(norm(" ".join(str(ex[k]) for k in ("basename", "size_label", "finetune") if ex.get(k))))
    keys.update(norm(k) for k in ex.get("aliases") or ())
    keys.discard("")
    return keys


def check(edge: ModelInfo, ref: ModelInfo) -> tuple[str, str]:
    """(verdict, why) on whether two models are one: ``same`` (a name agrees AND the parameter
    counts agree within the tolerance AND no shape differs), ``unverified`` (a name agrees, a
    parameter count is unknown: never ``exact``), ``different`` (a name agrees but the content
    does not: the name is a claim the tensors contradict), ``other`` (no name agrees)."""
    if not model_keys(edge) & model_keys(ref):
        return OTHER, ""
    f = params_factor(edge.params, ref.params)
    if f is None:
        return UNVERIFIED, "the names agree but a parameter count is unknown, so the identity is not verified"
    nominal = any("nominal" in str(m.extra.get("params_basis") or "") for m in (edge, ref))
    if nominal and f <= NOMINAL_FACTOR:  # a count read off the name ("1.5B") is itself a claim
        return UNVERIFIED, (f"the names agree but one parameter count is nominal (from the name: "
                            f"{min(edge.params, ref.params) / 1e9:.3g} vs {max(edge.params, ref.params) / 1e9:.3g} B), "
                            f"so the identity is not verified")
    if f - 1 > PARAMS_TOLERANCE:
        return DIFFERENT, (f"the names agree but the parameter counts differ {f:.3g}× ({edge.params / 1e9:.3g} B vs "
                           f"{ref.params / 1e9:.3g} B): a name is a claim, the tensors decide")
    for k in SHAPE_KEYS:
        a, b = edge.extra.get(k), ref.extra.get(k)
        if a is not None and b is not None and a != b:
            return DIFFERENT, f"the names and sizes agree but {k} differs ({a} vs {b})"
    return SAME, ""


def same_model(a: ModelInfo, b: ModelInfo) -> bool:
    """A name agrees and the content does not contradict it (``check``: same, or unverified where
    a count is unknown — e.g. a plan before the file is downloaded). Matching reads ``check``
    itself: only ``same`` can be exact."""
    return check(a, b)[0] in (SAME, UNVERIFIED)


def workload_identity(w: Workload) -> tuple:
    """``("suite", name)`` for a suite's summary row, ``("case", p, n, depth, n_seqs, suite)`` for
    one case (a case run inside a suite matches only cases of that suite), ``("unknown",)`` for
    published rows whose workload was never stated (EfficientLLM): those are context, never a match."""
    if w.inference:  # a forward pass of a model that is not a causal LM: its batch and input shapes
        return ("inference", w.batch or 1, w.shape_text)
    if w.prompt_tokens is None and w.gen_tokens is None:
        return ("suite", w.suite) if w.suite else ("unknown",)
    return ("case", w.prompt_tokens, w.gen_tokens, w.depth or 0, w.n_seqs or 1, w.suite)


def describe_workload(w: Workload) -> str:
    if w.inference:
        return w.label
    ident = workload_identity(w)
    if ident[0] == "suite":
        return f"suite {ident[1]} (its summary)"
    if ident[0] == "unknown":
        return "workload not published"
    return f"p{ident[1]}/n{ident[2]}/d{ident[3]}" + (f" in suite {ident[5]}" if ident[5] else "")


def params_factor(edge_params: float | None, ref_params: float | None) -> float | None:
    """max/min of the two parameter counts (1 = same size), None when either is unknown."""
    if not edge_params or not ref_params:
        return None
    return max(edge_params, ref_params) / min(edge_params, ref_params)


_CPU_FAMILIES = (r"epyc", r"xeon", r"threadripper", r"ryzen ai", r"ryzen \d", r"core\(?tm\)? ultra \d",
                 r"core\(?tm\)? i\d", r"apple m\d+", r"cortex-a\d+", r"neoverse", r"graviton\d*", r"snapdragon",
                 r"raspberry pi \d+")


def cpu_family(name: str | None) -> str | None:
    """A coarse CPU family ("epyc", "xeon", "core i7", "apple m2", ...) to pick published CPU rows
    like this machine's; None when the name says nothing recognisable."""
    s = str(name or "").lower().replace("(r)", "")
    for pat in _CPU_FAMILIES:
        m = re.search(pat, s)
        if m:
            return re.sub(r"\(?tm\)?\s*", "", m.group(0))
    return None
