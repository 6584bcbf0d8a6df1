"""What a model would do on a device you do not have: per-class fits of the two-term cost model
(``twoterm.py``) on measured rows, and predictions with intervals (``edgeprof predict --device``).

- **A class with rows** is predicted from its own fit: decode seconds/token = host floor +
  bytes/token × k (k = 1 / achieved bandwidth), prefill seconds/token = overhead + FLOP/token × k_p;
  the interval is the fit's predictive band (residual spread + parameter uncertainty, Student t).
- **A class without rows** (a Jetson, or one held out) is *extrapolated*: every fitted class with a
  published bandwidth contributes its host floor and its achieved fraction of bandwidth
  (η = achieved ÷ published), weighted by similarity (family, vendor, memory type, bandwidth);
  the prediction is that mixture's median and the interval its quantiles, each component keeping
  its own residual spread, then widened by the hold-out calibration factor ``EXTRAPOLATION_WIDEN``
  (``benchmarks/whatif_holdout.py`` measured it: the share of held-out rows inside the interval).
  Always labelled ``extrapolated``, with the classes it rests on.
- **A power mode** scales the class's reference (maximum-clock) fit: bandwidth by the mode's
  memory-clock cap, the host floor by the slower of its CPU and GPU clock caps, prefill compute by
  its GPU clock cap. A heuristic from published clocks, stated in every prediction's notes.
Pure functions over typed values; reading tables and rows is the caller's job.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Sequence

from edgeprof.analysis import twoterm
from edgeprof.analysis.twoterm import z_of
from edgeprof.analysis.whatif_types import DeviceClass, Estimate, Neighbour, PowerMode, Row

GB, TFLOP = 1e9, 1e12
#: how much wider an extrapolated interval is than its mixture (hold-out calibrated, see module doc)
EXTRAPOLATION_WIDEN = 1.0
RELATED = {frozenset(p): w for p, w in (
    (("nvidia-hbm", "nvidia-gddr"), 0.5), (("jetson", "nvidia-gddr"), 0.3), (("jetson", "nvidia-hbm"), 0.15),
    (("jetson", "apple"), 0.3), (("amd-gpu", "nvidia-gddr"), 0.3), (("apple-cpu", "x86-cpu"), 0.3),
    (("arm-sbc", "apple-cpu"), 0.3), (("arm-sbc", "x86-cpu"), 0.3), (("apple", "apple-cpu"), 0.2))}
BANDWIDTH_SCALE = 1.0  # e-folds of log-bandwidth distance at which similarity falls to exp(-1/2)


def similarity(a: DeviceClass, b: DeviceClass) -> float:
    """How much class ``b`` says about class ``a``: family (1, related pairs less, else 0.02)
    times a Gaussian kernel on the log of their bandwidth ratio."""
    w = 1.0 if a.family == b.family else RELATED.get(frozenset((a.family, b.family)), 0.02)
    if a.bandwidth_gbs and b.bandwidth_gbs:
        d = math.log(a.bandwidth_gbs / b.bandwidth_gbs) / BANDWIDTH_SCALE
        w *= math.exp(-0.5 * d * d)
    return w


@dataclass(frozen=True)
class ClassFit:
    device: DeviceClass
    decode: twoterm.TwoTermFit
    prefill: twoterm.TwoTermFit | None
    rows: tuple[Row, ...]
    power_w: float | None = None
    power_source: str = ""

    @property
    def eta(self) -> float | None:
        """Achieved fraction of the published bandwidth (bandwidth term alone)."""
        bw = self.device.bandwidth_gbs
        return 1.0 / (self.decode.k * bw) if bw and self.decode.k > 0 else None

    @property
    def eta_p(self) -> float | None:
        c = self.device.compute_tflops
        return 1.0 / (self.prefill.k * c) if c and self.prefill and self.prefill.k > 0 else None

    @property
    def distinct_sizes(self) -> int:
        return len({round(r.bytes_per_token / 1e7) for r in self.rows})


@dataclass
class WhatIfModel:
    fits: dict[str, ClassFit] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)  # why rows were left out -> count

    def neighbours(self, target: DeviceClass, need: str = "eta") -> list[tuple[ClassFit, float]]:
        out = []
        for f in self.fits.values():
            if f.device.id == target.id or getattr(f, need) is None:
                continue
            w = similarity(target, f.device) * min(1.0, f.distinct_sizes / 2)
            if w > 1e-4:
                out.append((f, w))
        return out


# --- fitting -------------------------------------------------------------------------------------

def _mad(xs: Sequence[float]) -> float:
    m = statistics.median(xs)
    return 1.4826 * statistics.median([abs(x - m) for x in xs]) if len(xs) > 1 else 0.0


def _prior(xs_fits: list[tuple[float, float]], sigmas: list[float], k0: float, fallback: twoterm.Prior
           ) -> twoterm.Prior:
    """Family prior from identified classes' (host floor, slope ratio): median ± robust spread."""
    if len(xs_fits) < 2:
        return twoterm.Prior(fallback.a_s, fallback.a_sd, k0, k0, fallback.sigma)
    a = [p[0] for p in xs_fits]
    a0 = statistics.median(a)
    return twoterm.Prior(a0, max(_mad(a), 0.5 * a0, 1e-4), k0, k0,
                         statistics.median(sigmas) if sigmas else fallback.sigma)


def _fit_phase(rows: Sequence[Row], device: DeviceClass, prior: twoterm.Prior, phase: str):
    pts = [((r.bytes_per_token / GB) if phase == "decode" else (r.flop_per_token / TFLOP),
            1.0 / (r.decode_tps if phase == "decode" else r.prefill_tps)) for r in rows
           if (r.decode_tps if phase == "decode" else (r.prefill_tps and r.flop_per_token))]
    if not pts:
        return None
    return twoterm.fit([p[0] for p in pts], [p[1] for p in pts], prior)


WEAK = {"decode": twoterm.Prior(0.004, 0.02, 0.0, 1.0, 0.3), "prefill": twoterm.Prior(1e-5, 1e-3, 0.0, 1.0, 0.4)}


def _k0(device: DeviceClass, phase: str, eta: float | None, peers_k: list[float]) -> float:
    peak = device.bandwidth_gbs if phase == "decode" else device.compute_tflops
    if peak and eta:
        return 1.0 / (eta * peak)
    return statistics.median(peers_k) if peers_k else (0.05 if phase == "decode" else 0.5)


def _distinct(rows: Sequence[Row]) -> int:
    return len({round(r.bytes_per_token / 1e7) for r in rows})


def first_pass(classes: dict[str, DeviceClass], by: dict[str, list[Row]]) -> dict[str, dict]:
    """Each class fitted alone under weak priors: what its family's priors are made of."""
    out = {}
    for cid, rs in by.items():
        dev = classes[cid]
        out[cid] = {ph: _fit_phase(rs, dev, twoterm.Prior(
            WEAK[ph].a_s, WEAK[ph].a_sd, _k0(dev, ph, 0.5, []), 10 * _k0(dev, ph, 0.5, []), WEAK[ph].sigma), ph)
            for ph in ("decode", "prefill")}
    return out


def family_stats(classes: dict[str, DeviceClass], by: dict[str, list[Row]], first: dict[str, dict],
                 families: set[str] | None = None) -> dict[tuple[str, str], dict[str, list]]:
    """Per (family, phase): the identified classes' (floor, slope), efficiencies, slopes, spreads.
    Only classes with two or more model sizes identify both terms."""
    fams: dict[tuple[str, str], dict[str, list]] = {}
    for cid, fs in first.items():
        dev = classes[cid]
        if (families is not None and dev.family not in families) or _distinct(by[cid]) < 2:
            continue
        for ph, f in fs.items():
            if f is None:
                continue
            peak = dev.bandwidth_gbs if ph == "decode" else dev.compute_tflops
            g = fams.setdefault((dev.family, ph), {"pts": [], "eta": [], "k": [], "sigma": []})
            g["pts"].append((f.a_s, f.k))
            g["k"].append(f.k)
            g["sigma"].append(f.sigma)
            if peak:
                g["eta"].append(1.0 / (f.k * peak))
    return fams


def class_fit(dev: DeviceClass, rs: list[Row], fams: dict) -> ClassFit:
    """Second pass: one class under its family's priors."""
    out = {}
    for ph in ("decode", "prefill"):
        g = fams.get((dev.family, ph)) or {"pts": [], "eta": [], "k": [], "sigma": []}
        eta = statistics.median(g["eta"]) if g["eta"] else 0.5
        out[ph] = _fit_phase(rs, dev, _prior(g["pts"], g["sigma"], _k0(dev, ph, eta, g["k"]), WEAK[ph]), ph)
    powers = [r.power_w for r in rs if r.power_w and r.power_kind == "measured"]
    return ClassFit(dev, out["decode"], out["prefill"], tuple(rs), statistics.median(powers) if powers else None,
                    f"median of {len(powers)} measured rows" if powers else "")


def group(classes: dict[str, DeviceClass], rows: Sequence[Row], model: WhatIfModel | None = None
          ) -> dict[str, list[Row]]:
    by: dict[str, list[Row]] = {}
    for r in rows:
        if r.class_id not in classes:
            if model is not None:
                model.excluded["class unknown"] = model.excluded.get("class unknown", 0) + 1
            continue
        by.setdefault(r.class_id, []).append(r)
    return by


def fit_model(classes: dict[str, DeviceClass], rows: Sequence[Row]) -> WhatIfModel:
    """Fit every class that has rows: pass 1 with weak priors gives each family's host floor,
    efficiency and spread; pass 2 refits every class under its family's priors."""
    model = WhatIfModel()
    by = group(classes, rows, model)
    first = first_pass(classes, by)
    fams = family_stats(classes, by, first)
    model.fits = {cid: class_fit(classes[cid], rs, fams) for cid, rs in by.items()}
    return model


# --- predicting ----------------------------------------------------------------------------------

def _mixture_quantiles(centres: list[float], sds: list[float], weights: list[float], qs: Sequence[float]
                       ) -> list[float]:
    """Quantiles of a mixture of normals in log space (bisection on the mixture CDF)."""
    tot = sum(weights)
    ws = [w / tot for w in weights]
    lo0, hi0 = min(c - 6 * s for c, s in zip(centres, sds)), max(c + 6 * s for c, s in zip(centres, sds))
    out = []
    for q in qs:
        lo, hi = lo0, hi0
        for _ in range(60):
            mid = (lo + hi) / 2
            cdf = sum(w * 0.5 * (1 + math.erf((mid - c) / (s * math.sqrt(2)))) for c, s, w in zip(centres, sds, ws))
            lo, hi = (mid, hi) if cdf < q else (lo, mid)
        out.append((lo + hi) / 2)
    return out


def _band(median_log: float, lo_log: float, hi_log: float, level: float, unit: str, note: str,
          invert: bool) -> Estimate:
    """An Estimate from a log-space band of seconds/token (``invert``: report tokens/s)."""
    z = z_of(level)
    sd = (hi_log - lo_log) / (2 * z) if z else 0.0
    if invert:
        return Estimate(math.exp(-median_log), math.exp(-hi_log), math.exp(-lo_log), unit, level, sd, note=note)
    return Estimate(math.exp(median_log), math.exp(lo_log), math.exp(hi_log), unit, level, sd, note=note)


@dataclass(frozen=True)
class Scale:
    """How a power mode moves the reference fit (1.0 = the class's maximum clocks)."""
    bandwidth: float = 1.0
    floor: float = 1.0
    compute: float = 1.0


def mode_scale(device: DeviceClass, mode: PowerMode | None, ref: PowerMode | None) -> Scale:
    if mode is None or ref is None:
        return Scale()
    bw = (mode.bandwidth_gbs / ref.bandwidth_gbs) if mode.bandwidth_gbs and ref.bandwidth_gbs else 1.0
    ratios = [r / m for r, m in ((ref.cpu_max_mhz, mode.cpu_max_mhz), (ref.gpu_max_mhz, mode.gpu_max_mhz)) if r and m]
    comp = (mode.gpu_max_mhz / ref.gpu_max_mhz) if mode.gpu_max_mhz and ref.gpu_max_mhz else 1.0
    return Scale(bw, max([1.0] + ratios), comp)


def phase_estimate(model: WhatIfModel, device: DeviceClass, phase: str, x: float, level: float,
                   scale: Scale = Scale()) -> tuple[Estimate, str, tuple[Neighbour, ...]] | None:
    """Tokens/s for one phase at ``x`` (GB for decode, TFLOP for prefill): the class's own fit
    when it has one, else the similarity mixture. Returns (estimate, basis, neighbours)."""
    own = model.fits.get(device.id)
    fit = (own.decode if phase == "decode" else own.prefill) if own else None
    k_scale = 1.0 / (scale.bandwidth if phase == "decode" else scale.compute)
    if fit is not None:
        y = fit.a_s * scale.floor + fit.k * x * k_scale
        half = z_of(level) * fit.rel_sd(x)  # the same band as TwoTermFit.interval
        ly = math.log(y)
        note = (f"fit on {fit.n} rows of this class (host floor {fit.a_s * 1e3:.3g} ms/token, "
                f"{'achieved ' + format(1 / fit.k, '.4g') + (' GB/s' if phase == 'decode' else ' TFLOP/s')})")
        return _band(ly, ly - half, ly + half, level, "tokens/s", note, True), "fit", ()
    peak = device.bandwidth_gbs if phase == "decode" else device.compute_tflops
    via = "eta" if phase == "decode" else ("eta_p" if peak else "eta")
    if phase == "prefill" and not peak:
        peak = None
    comps = model.neighbours(device, via)
    if phase == "decode" and not device.bandwidth_gbs:
        return None
    centres, sds, ws, used = [], [], [], []
    for f, w in comps:
        pf = f.decode if phase == "decode" else f.prefill
        if pf is None:
            continue
        if phase == "decode":
            k = 1.0 / (f.eta * device.bandwidth_gbs)
        elif peak:
            k = 1.0 / (f.eta_p * peak)
        else:  # no published compute: effective FLOP/s taken to scale with bandwidth
            if not (device.bandwidth_gbs and f.device.bandwidth_gbs):
                continue
            k = pf.k * f.device.bandwidth_gbs / device.bandwidth_gbs
        y = pf.a_s * scale.floor + k * x * k_scale
        centres.append(math.log(y))
        sds.append(pf.sigma)
        ws.append(w)
        used.append(Neighbour(f.device.id, f.device.name, w, len(f.rows)))
    if not centres:
        return None
    q = (1 - level) / 2
    lo, med, hi = _mixture_quantiles(centres, sds, ws, (q, 0.5, 1 - q))
    lo, hi = med - (med - lo) * EXTRAPOLATION_WIDEN, med + (hi - med) * EXTRAPOLATION_WIDEN
    tot = sum(ws)
    top = sorted(used, key=lambda n: -n.weight)
    note = (f"extrapolated from {len(used)} similar classes (top: "
            + ", ".join(f"{n.name} {n.weight / tot:.0%}" for n in top[:3]) + ")"
            + ("" if phase == "decode" or device.compute_tflops else
               "; no published compute figure: effective FLOP/s scaled with bandwidth"))
    return _band(med, lo, hi, level, "tokens/s", note, True), "extrapolated", tuple(top)
