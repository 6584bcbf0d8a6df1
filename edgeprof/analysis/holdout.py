"""Leave-one-class-out check of the what-if model (``benchmarks/whatif_holdout.py``, its test).

For each device class with a published bandwidth: drop its rows, fit the model on the rest, and
predict each dropped row by extrapolation (exactly what ``predict --device`` does for a class with
no rows). Reported per class and overall: the share of held-out rows inside the stated interval
(to hold against the interval's nominal level), the median absolute percentage error of the
point prediction, and the median interval width relative to the point (an honest interval is not
merely a wide one). The fit of each fold never sees the held-out class.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Sequence

from edgeprof.analysis import whatif
from edgeprof.analysis.whatif_types import DeviceClass, Row


@dataclass(frozen=True)
class ClassResult:
    class_id: str
    name: str
    family: str
    n: int
    inside: int
    abs_pct_errors: tuple[float, ...]
    widths_pct: tuple[float, ...]

    @property
    def coverage(self) -> float:
        return self.inside / self.n if self.n else float("nan")


@dataclass
class HoldoutResult:
    phase: str
    level: float
    classes: list[ClassResult] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def _all(self, attr: str) -> list[float]:
        return [x for c in self.classes for x in getattr(c, attr)]

    @property
    def n(self) -> int:
        return sum(c.n for c in self.classes)

    @property
    def coverage(self) -> float:
        return sum(c.inside for c in self.classes) / self.n if self.n else float("nan")

    @property
    def class_coverage(self) -> float:
        """Mean of the per-class shares (each class counts once, however many rows it has)."""
        return statistics.fmean(c.coverage for c in self.classes) if self.classes else float("nan")

    @property
    def median_abs_pct_error(self) -> float:
        xs = self._all("abs_pct_errors")
        return statistics.median(xs) if xs else float("nan")

    @property
    def median_width_pct(self) -> float:
        xs = self._all("widths_pct")
        return statistics.median(xs) if xs else float("nan")


def _without(classes, by, first, full: whatif.WhatIfModel, cid: str) -> whatif.WhatIfModel:
    """The model fitted without class ``cid``: only its family's priors move, so only that
    family is refitted (the same numbers as refitting everything, in a fraction of the time)."""
    fam = classes[cid].family
    rest = {k: v for k, v in by.items() if k != cid}
    stats = whatif.family_stats(classes, rest, {k: v for k, v in first.items() if k != cid}, {fam})
    fits = {k: (whatif.class_fit(classes[k], v, stats) if classes[k].family == fam else full.fits[k])
            for k, v in rest.items()}
    return whatif.WhatIfModel(fits)


def run(classes: dict[str, DeviceClass], rows: Sequence[Row], level: float = 0.8, phase: str = "decode",
        min_rows: int = 1) -> HoldoutResult:
    """Hold out each class with a published peak for ``phase`` in turn (see module doc)."""
    res = HoldoutResult(phase, level)
    by = whatif.group(classes, rows)
    first = whatif.first_pass(classes, by)  # a class's own first pass never depends on another's rows
    full = whatif.fit_model(classes, rows)
    for cid in sorted(by):
        dev = classes.get(cid)
        if dev is None or not dev.bandwidth_gbs:
            res.skipped["no published bandwidth"] = res.skipped.get("no published bandwidth", 0) + len(by[cid])
            continue
        held = [r for r in by[cid] if (r.decode_tps if phase == "decode" else (r.prefill_tps and r.flop_per_token))]
        if len(held) < min_rows:
            continue
        model = _without(classes, by, first, full, cid)
        cache: dict[float, tuple] = {}
        inside, errs, widths = 0, [], []
        for r in held:
            x = r.bytes_per_token / whatif.GB if phase == "decode" else r.flop_per_token / whatif.TFLOP
            if x not in cache:
                cache[x] = whatif.phase_estimate(model, dev, phase, x, level)
            got = cache[x]
            if got is None:
                res.skipped["no similar class"] = res.skipped.get("no similar class", 0) + 1
                continue
            est = got[0]
            truth = r.decode_tps if phase == "decode" else r.prefill_tps
            inside += est.contains(truth)
            errs.append(abs(est.value - truth) / truth * 100)
            widths.append((est.hi - est.lo) / est.value * 100)
        if errs:
            res.classes.append(ClassResult(cid, dev.name, dev.family, len(errs), inside, tuple(errs), tuple(widths)))
    return res


def run_sizes(classes: dict[str, DeviceClass], rows: Sequence[Row], level: float = 0.8) -> HoldoutResult:
    """The other question a user asks: a class *with* rows, a model size it has no row for. For
    each class with two or more model sizes, each size in turn is held out and predicted from the
    class's fit on its other sizes (family priors computed without that class)."""
    res = HoldoutResult("decode (new model size, known class)", level)
    by = whatif.group(classes, rows)
    first = whatif.first_pass(classes, by)
    for cid in sorted(by):
        dev = classes[cid]
        sizes = sorted({round(r.bytes_per_token / 1e7) for r in by[cid]})
        if len(sizes) < 2:
            continue
        rest = {k: v for k, v in by.items() if k != cid}
        stats = whatif.family_stats(classes, rest, {k: v for k, v in first.items() if k != cid}, {dev.family})
        inside, errs, widths = 0, [], []
        for s in sizes:
            train = [r for r in by[cid] if round(r.bytes_per_token / 1e7) != s]
            model = whatif.WhatIfModel({cid: whatif.class_fit(dev, train, stats)})
            held = [r for r in by[cid] if round(r.bytes_per_token / 1e7) == s]
            est = whatif.phase_estimate(model, dev, "decode", held[0].bytes_per_token / whatif.GB, level)[0]
            for r in held:
                inside += est.contains(r.decode_tps)
                errs.append(abs(est.value - r.decode_tps) / r.decode_tps * 100)
                widths.append((est.hi - est.lo) / est.value * 100)
        res.classes.append(ClassResult(cid, dev.name, dev.family, len(errs), inside, tuple(errs), tuple(widths)))
    return res
