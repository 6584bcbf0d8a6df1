"""Cases read back from a plan.json are checked as their flags were (issue 21 item 8), and every
case of a plan gets an id of its own (item 2).

Why: ``--resume`` runs what plan.json says. A tampered or hand-edited plan (a negative depth,
100,000 threads, a case id that is a path) must be refused with one line before anything runs,
by the same rules ``bench`` applies to its flags — so the rules are read from ``BenchOptions``'s
fields, never written twice. And two cases whose keys are equal (the same file given twice, two
copies of one file) are still two cases: each has its own samples files and its own record, so a
resume sees both.
"""
from __future__ import annotations

import re
from dataclasses import fields
from typing import Any, Callable

from edgeprof.engine.config import BenchOptions
from edgeprof.engine.options import integer, read_option
from edgeprof.runtimes import options as runtime_options

#: a case id names files (samples/<case_id>.csv): hex digests, or ``<id>-A3`` (compare --interleave)
CASE_ID = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,63}")
#: workload fields → the bench option whose rules they follow (a placement's runtime options follow
#: the flag of the same name, declared by their runtime: runtimes/knobs.py)
WORKLOAD = {"prompt_tokens": "prompt", "gen_tokens": "gen", "depth": "depth"}
POWER = ("power_mode", "jetson_clocks", "gpu_power_limit", "governor")   # devices.knobs.AXES
_FIELDS = {f.name: f for f in fields(BenchOptions)}


def value_problem(option: str, value: Any) -> str | None:
    """Why ``value`` is not something the flag of ``option`` accepts, or None."""
    m = read_option(_FIELDS[option])
    if value is None:
        return None if m.knob is not None and m.knob.optional else "is missing"
    if m.parse is integer:
        if not isinstance(value, int) or isinstance(value, bool):
            return f"expected an integer, got {type(value).__name__}"
    elif not isinstance(value, str):
        return f"expected text, got {type(value).__name__}"
    elif m.choices and value not in m.choices:
        return f"expected one of {', '.join(m.choices)}, got {value[:40]!r}"
    elif len(value) > 64 or not value.isprintable():
        return "expected a short printable name"
    check: Callable[[Any], str | None] | None = m.check
    return check(value) if check else None


def case_problem(case) -> str | None:
    """The first thing wrong with one case (an ``engine.plan.Case``), naming its field, or None."""
    from edgeprof.runtimes import REGISTRY

    if not isinstance(case.case_id, str) or not CASE_ID.fullmatch(case.case_id):
        return f"case_id {str(case.case_id)[:40]!r} is not an id (letters, digits, - and _)"
    if case.runtime not in REGISTRY:
        return f"runtime {str(case.runtime)[:40]!r} is unknown (known: {', '.join(sorted(REGISTRY))})"
    for name in ("threads", *(k.name for k in runtime_options())):
        why = value_problem(name, case.placement.option(name))
        if why:
            return f"placement.{name} {why}"
    w = case.workload
    if w.kind not in (None, "inference"):
        return f"workload.kind must be absent or 'inference', got {str(w.kind)[:20]!r}"
    why = inference_problem(w) if w.inference else next(
        (f"workload.{name} {x}" for name, option in WORKLOAD.items() if (x := value_problem(option, getattr(w, name)))),
        None if w.n_seqs in (None, 1) else f"workload.n_seqs must be 1, got {str(w.n_seqs)[:20]}")
    if why:
        return why
    if w.tokens not in (None, "random"):
        return f"workload.tokens must be absent or 'random', got {str(w.tokens)[:20]!r}"
    if w.seed is not None and (not isinstance(w.seed, int) or isinstance(w.seed, bool) or not 0 <= w.seed < 2**32):
        return "workload.seed must be an integer in [0, 2^32)"
    if w.warmup is not None:
        if len(w.warmup) != 2 or any(value_problem("prompt", x) for x in w.warmup):
            return "workload.warmup must be two token counts"
    for axis, value in (case.power or {}).items():  # power settings: a known axis, a short printable value
        if axis not in POWER or not isinstance(value, str) or not 0 < len(value) <= 64 or not value.isprintable():
            return f"power.{str(axis)[:20]} must be one of {', '.join(POWER)} with a short text value"
    return None


def inference_problem(w) -> str | None:
    """What is wrong with an inference workload: its batch (as --batch), its input shapes (names
    and axes as --shape allows them), its sequence length (as -p)."""
    from edgeprof.models.shapes import MAX_DIM

    why = value_problem("batch", w.batch)
    if why or w.batch is None:
        return f"workload.batch {why or 'is missing'}"
    if w.n_seqs != w.batch:
        return "workload.n_seqs must equal workload.batch"
    if w.prompt_tokens is not None and value_problem("prompt", w.prompt_tokens):
        return f"workload.prompt_tokens {value_problem('prompt', w.prompt_tokens)}"
    if not isinstance(w.inputs, dict) or len(w.inputs) > 64:
        return "workload.inputs must be a map of input names to shapes"
    for name, dims in w.inputs.items():
        if not isinstance(name, str) or not 0 < len(name) <= 200 or not name.isprintable():
            return "workload.inputs has a name that is not a short printable name"
        if not isinstance(dims, list) or len(dims) > 8 or any(
                not isinstance(d, int) or isinstance(d, bool) or not 1 <= d <= MAX_DIM for d in dims):
            return f"workload.inputs.{name[:40]} must be a list of at most 8 sizes in [1, {MAX_DIM:,}]"
    return None


def checked(cases: list) -> list:
    """``cases`` unchanged, or a ValueError naming the first bad one (its position and field)."""
    for i, c in enumerate(cases):
        why = case_problem(c)
        if why:
            raise ValueError(f"case {i + 1}: {why}")
    return cases


def unique_ids(cases: list, rekey: Callable[[Any, int], Any]) -> list:
    """Every case with an id of its own: the n-th repeat of an id (n >= 1) becomes
    ``rekey(case, n)`` (a stable id made from the key and n), so plans stay reproducible."""
    seen: dict[str, int] = {}
    taken = {c.case_id for c in cases}
    out = []
    for c in cases:
        n = seen.get(c.case_id, 0)
        seen[c.case_id] = n + 1
        if n:
            new = rekey(c, n)
            while new.case_id in taken:  # a re-keyed id that another case already holds: next n
                n += 1
                new = rekey(c, n)
            taken.add(new.case_id)
            c = new
        out.append(c)
    return out
