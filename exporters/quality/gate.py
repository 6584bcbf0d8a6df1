"""The quality gate: an artifact whose figures fall below its scheme's limits is not a finished export.

Why: an ONNX int8 with perplexity 681,713 (baseline 49) once loaded, ran, printed "done" and was
benched as ``ok``; the figures were computed and nothing acted on them. Now every artifact's
perplexity ratio and greedy agreement (``quality.py``, bundled text, against the source) are
compared with the limits of its precision tier below. A failure stops the export with the figures
in one line and the export directory is not written (the finished steps stay in the partial
directory, so a re-run resumes); ``allow_degraded=True`` (``--allow-degraded``) writes it with the
artifact labelled ``degraded`` in the manifest, the README and everything that reads them.

The limits are deliberately loose: they catch broken or badly damaged artifacts, not a scheme that
is merely worse than another (``perplexity_ratio`` in the manifest shows that). Measured on
SmolLM2-135M (docs/benchmarks.md): fp16 1.001, q8_0 and int8 1.012, q6_k/q5_k_m <= 1.02,
q4_k_m 1.04, ONNX int4 1.01, q4_0 1.17, iq4_xs 1.05; the broken int8 13,924.
"""
from __future__ import annotations

from dataclasses import dataclass

# tier -> (max perplexity ratio, min greedy agreement); the example for 4 bits: 1.5 / 0.5
TIERS = {
    "16-bit": (1.02, 0.90),
    "8-bit": (1.06, 0.80),
    "5/6-bit": (1.15, 0.70),
    "4-bit": (1.50, 0.50),
    "3-bit": (2.00, 0.40),
    "2-bit": (3.00, 0.30),
}
_FLOAT = ("fp32", "fp16", "f32", "f16", "bf16")


@dataclass(frozen=True)
class Verdict:
    status: str            # "ok" | "degraded" | "unchecked"
    tier: str
    max_perplexity_ratio: float
    min_greedy_agreement: float
    failures: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"status": self.status, "tier": self.tier, "max_perplexity_ratio": self.max_perplexity_ratio,
                "min_greedy_agreement": self.min_greedy_agreement, "failures": list(self.failures)}


def tier(fmt: str, quant: str) -> str:
    """The precision tier of a format/scheme name (ONNX ``int4-rtn`` -> 4-bit, GGUF ``q5_k_m`` -> 5/6-bit)."""
    q = quant.lower()
    if q in _FLOAT:
        return "16-bit"
    if q.startswith(("int8", "q8")):
        return "8-bit"
    if q.startswith(("q5", "q6")):
        return "5/6-bit"
    if q.startswith(("int4", "q4", "iq4")):
        return "4-bit"
    if q.startswith(("q3", "iq3")):
        return "3-bit"
    if q.startswith(("q2", "iq2", "iq1", "tq")):
        return "2-bit"
    return "4-bit"  # an unknown scheme is held to the 4-bit limits rather than waved through


def judge(fmt: str, quant: str, figures: dict | None) -> Verdict:
    """The gate's verdict on one artifact's quality figures (None: quality was not measured)."""
    t = tier(fmt, quant)
    max_ratio, min_agree = TIERS[t]
    if figures is None:
        return Verdict("unchecked", t, max_ratio, min_agree)
    failures = []
    ratio, agree = figures["perplexity_ratio"], figures["greedy_agreement"]
    if not ratio <= max_ratio:  # (also catches NaN)
        failures.append(f"perplexity {figures['perplexity']:.6g} = {ratio:.4g}x the baseline's "
                        f"{figures['baseline_perplexity']:.4g} (limit {max_ratio}x)")
    if not agree >= min_agree:
        failures.append(f"greedy agreement {agree:.3f} (limit >= {min_agree})")
    return Verdict("degraded" if failures else "ok", t, max_ratio, min_agree, tuple(failures))


def failure_message(step: str, verdict: Verdict) -> str:
    """The one-line error of a failed gate: the figures, the limits and both ways forward."""
    return (f"{step} failed the quality gate ({verdict.tier} limits): {'; '.join(verdict.failures)}; "
            f"the export is not marked done; choose another scheme, or pass --allow-degraded to keep it "
            f"labelled degraded")
