"""One full what-if prediction (decode, prefill, TTFT, J/token on a device and power mode) and the
``--require`` search over devices: which devices and modes meet "decode>=20,power<=10", best first,
with the probability the interval gives.

TTFT = prompt ÷ prefill rate + one decode step (the first token), its band the two bands' ends
added (fully correlated: conservative). J/token = power ÷ decode rate, power being, in this order,
the median *measured* average power of this machine's rows of that class and mode, the power
mode's nvpmodel budget, the device's TDP — the last two labelled ``estimated`` (a budget is a cap,
not a draw) — and none at all (said why) for a device whose maker publishes no power figure.
A probability over several requirements is the product of each one's (independence assumed, said
so in the output); a requirement on a figure the device lacks (Apple's power) leaves it out, counted.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from edgeprof.analysis import whatif
from edgeprof.analysis.twoterm import z_of
from edgeprof.analysis.whatif_types import DeviceClass, Estimate, PowerMode, Prediction


class WhatIfError(ValueError):
    """Nothing to predict from (one line naming what is missing)."""


def _ttft(prompt: int, prefill: Estimate, decode: Estimate, level: float) -> Estimate:
    val = (prompt / prefill.value + 1 / decode.value) * 1e3
    lo = (prompt / prefill.hi + 1 / decode.hi) * 1e3
    hi = (prompt / prefill.lo + 1 / decode.lo) * 1e3
    return Estimate(val, lo, hi, "ms", level, math.log(hi / lo) / (2 * z_of(level)),
                    note="prompt ÷ prefill rate + one decode step; the two bands' ends added")


def _power(model: whatif.WhatIfModel, device: DeviceClass, mode: PowerMode | None) -> tuple[float | None, str, str]:
    own = model.fits.get(device.id)
    if own is not None:
        measured = [r.power_w for r in own.rows if r.power_w and r.power_kind == "measured"
                    and (mode is None or r.mode is None or r.mode == mode.name)]
        if measured:
            measured.sort()
            return measured[len(measured) // 2], "measured", f"median average power of {len(measured)} measured rows"
    if mode is not None and mode.budget_w:
        return mode.budget_w, "estimated", f"power-mode budget {mode.name} (nvpmodel cap, not a measured draw)"
    if mode is not None and not mode.budget_w and mode.name.upper().startswith("MAXN"):
        return None, "none", f"{mode.name} is uncapped: no budget to use, and no measured row"
    if device.tdp_w:
        return device.tdp_w, "estimated", f"TDP {device.tdp_w:g} W from {device.source} (a rating, not a draw)"
    return None, "none", f"no measured row and no published power figure for {device.name}"


def predict(model: whatif.WhatIfModel, device: DeviceClass, *, bytes_per_token: float,
            flop_per_token: float | None, prompt_tokens: int, gen_tokens: int, level: float = 0.8,
            mode: PowerMode | None = None, ref_mode: PowerMode | None = None) -> Prediction:
    scale = whatif.mode_scale(device, mode, ref_mode)
    dec = whatif.phase_estimate(model, device, "decode", bytes_per_token / whatif.GB, level, scale)
    if dec is None:
        raise WhatIfError(f"{device.name}: no measured rows of this class and no published bandwidth to extrapolate "
                          f"from; add a bandwidth to its devices.csv row or bench it")
    decode, basis, neigh = dec
    pre = whatif.phase_estimate(model, device, "prefill", flop_per_token / whatif.TFLOP, level, scale) \
        if flop_per_token else None
    prefill = pre[0] if pre else None
    ttft = _ttft(prompt_tokens, prefill, decode, level) if prefill and prompt_tokens else None
    power, pkind, pnote = _power(model, device, mode)
    jpt = None
    if power:
        jpt = Estimate(power / decode.value, power / decode.hi, power / decode.lo, "J/token", level, decode.log_sd,
                       kind="measured-power" if pkind == "measured" else "estimated",
                       note=f"power {power:g} W ({pnote}) ÷ predicted decode rate")
    own = model.fits.get(device.id)
    if own is not None:
        rows = tuple(r.source for r in own.rows)
    else:
        rows = tuple(r.source for n in neigh[:5] for r in model.fits[n.class_id].rows[:3])
    notes = []
    if mode is not None and ref_mode is not None and mode.name != ref_mode.name:
        notes.append(f"power mode {mode.name}: bandwidth × {scale.bandwidth:.2f} (memory-clock cap), host floor × "
                     f"{scale.floor:.2f} (slower of its CPU/GPU clock caps), prefill compute × {scale.compute:.2f} "
                     f"(GPU clock cap) relative to {ref_mode.name}: scaled from published clocks, not from rows "
                     f"measured in that mode")
    if basis == "extrapolated":
        notes.append(f"no measured rows of {device.name}: extrapolated from similar classes, wider interval")
    fits = (bytes_per_token <= device.memory_gb * 1e9) if device.memory_gb else None
    if fits is False:
        notes.append(f"the model ({bytes_per_token / 1e9:.2f} GB) does not fit in {device.memory_gb:g} GB: this "
                     f"figure assumes it did")
    return Prediction(device, mode, decode, prefill, ttft, jpt, power, f"{pkind}: {pnote}", basis, rows, neigh,
                      tuple(notes), prompt_tokens, gen_tokens, fits)


# --- requirements --------------------------------------------------------------------------------

METRICS = {"decode": ("decode", "tokens/s"), "prefill": ("prefill", "tokens/s"), "ttft": ("ttft_ms", "ms"),
           "power": ("power_w", "W"), "energy": ("j_per_token", "J/token"), "j_per_token": ("j_per_token", "J/token")}
_REQ = re.compile(r"^\s*([a-z_]+)\s*(>=|<=|>|<)\s*([0-9.]+(?:e-?\d+)?)\s*$")


@dataclass(frozen=True)
class Requirement:
    metric: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


def parse_require(text: str) -> tuple[Requirement, ...]:
    """``"decode>=20,power<=10,ttft<=500"`` -> requirements; a bad term raises with the grammar."""
    out = []
    for term in (t for t in (text or "").split(",") if t.strip()):
        m = _REQ.match(term.lower())
        if not m or m[1] not in METRICS:
            raise WhatIfError(f"--require term {term.strip()!r}: write METRIC>=N or METRIC<=N with METRIC one of "
                              f"{', '.join(METRICS)} (e.g. \"decode>=20,power<=10,ttft<=500\")")
        out.append(Requirement(m[1], m[2], float(m[3])))
    if not out:
        raise WhatIfError('--require is empty; e.g. --require "decode>=20,power<=10"')
    return tuple(out)


def probability(pred: Prediction, reqs: Sequence[Requirement]) -> tuple[float | None, dict[str, float], list[str]]:
    """(joint probability, each requirement's, the requirements this prediction cannot judge)."""
    each: dict[str, float] = {}
    missing = []
    for r in reqs:
        attr = METRICS[r.metric][0]
        if attr == "power_w":
            if pred.power_w is None:
                missing.append(str(r))
                continue
            ok = pred.power_w >= r.value if r.op.startswith(">") else pred.power_w <= r.value
            each[str(r)] = 1.0 if ok else 0.0
            continue
        est: Estimate | None = getattr(pred, attr)
        if est is None:
            missing.append(str(r))
            continue
        each[str(r)] = est.p_at_least(r.value) if r.op.startswith(">") else est.p_at_most(r.value)
    if missing:
        return None, each, missing
    return math.prod(each.values()), each, missing


def rank(preds: Iterable[Prediction], reqs: Sequence[Requirement], min_p: float = 0.5
         ) -> tuple[list[tuple[Prediction, float, dict[str, float]]], dict[str, int]]:
    """Predictions that meet ``reqs`` with probability ≥ ``min_p``, best first (probability, then
    decode rate), and counts of those left out and why."""
    kept, left = [], {}
    for p in preds:
        if p.fits_memory is False:
            left["model does not fit in memory"] = left.get("model does not fit in memory", 0) + 1
            continue
        prob, each, missing = probability(p, reqs)
        if prob is None:
            key = "cannot judge " + ", ".join(missing)
            left[key] = left.get(key, 0) + 1
            continue
        if prob < min_p:
            left[f"probability below {min_p:.0%}"] = left.get(f"probability below {min_p:.0%}", 0) + 1
            continue
        kept.append((p, prob, each))
    kept.sort(key=lambda t: (-round(t[1], 3), -t[0].decode.value))
    return kept, left
