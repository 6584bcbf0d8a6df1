"""A class, not a row: each reference row judged before it is divided by, and grouped by its
accelerator class.

Why: LocalScore's Llama-3.2-1B Q4_K_M decodes at 96.6 tok/s on an H100 SXM, 99 on an H200, 190 on
an L4 and 335 on an H100 PCIe; plain llama.cpp reaches ~764 on an H100 SXM. At ≤ 1B parameters a
datacenter row mostly measures its host, its engine build and its driver. One row and one ratio
hid that. Here every row gets:

- its **accelerator class** (``devices.csv``'s row, trimmed: "H100 SXM5 80GB", "L4 24GB",
  "Apple M4 Max"; else the accelerator's own name), and each class's rows a distribution (n,
  median, IQR, min–max) with edge ÷ the class median;
- a **host_bound** flag with its evidence: far below its bandwidth roofline at batch 1 (under
  ``HOST_BOUND_FRACTION``), or a per-token time near the floor that rows on devices with much
  more bandwidth show (their speed did not follow their bandwidth, so neither does this one's);
- its **runtime and build** against this run's (``runtime differs: llamafile vs llama.cpp``);
- its **load state** (a reference measured on a busy machine says so everywhere it appears);
- its **energy scope** against this run's (board input rail vs CPU package vs GPU board: a scope
  mismatch is named and its energy ratio gets no verdict).
"""
from __future__ import annotations

import re
import statistics

from edgeprof.analysis import specs
from edgeprof.analysis.spec_types import SpecRow
from edgeprof.results.comparison import HostBound, Roofline
from edgeprof.results.schema import Record

#: below this share of its bandwidth roofline at batch 1 a row is taken as bound by its host
HOST_BOUND_FRACTION = 0.20
#: device kinds whose host is the accelerator: no host-bound flag
CPU_KINDS = ("cpu", "rpi")
#: rows on devices with at least this many times the bandwidth are the "faster devices"
FASTER_BANDWIDTH = 1.5
#: a per-token time within this factor of the faster devices' median is "near their floor"
NEAR_FLOOR = 1.25
ENERGY_METRICS = ("energy_per_token_j", "avg_power_w", "decode_energy_per_token_j", "prefill_energy_per_token_j")
SCOPE_WORDS = {"soc_module": "board input rail (module)", "cpu_package": "CPU package", "gpu_board": "GPU board",
               "soc_package": "SoC package", "system": "whole system", "soc_rail": "one SoC rail"}


class Specs:
    """devices.csv rows per accelerator, looked up once per comparison."""

    def __init__(self) -> None:
        self._rows: dict[tuple, SpecRow | None] = {}

    def row(self, rec: Record) -> SpecRow | None:
        name = str(rec.device.extra.get("spec_name") or rec.device.name or "")
        key = (name, rec.device.memory_bytes)
        if key not in self._rows:
            try:
                self._rows[key] = specs.lookup(name, None, rec.device.memory_bytes)
            except (OSError, ValueError):
                self._rows[key] = None
        return self._rows[key]

    def bandwidth(self, rec: Record) -> float | None:
        row = self.row(rec)
        return float(row.peak_mem_bandwidth_gbs) if row and row.peak_mem_bandwidth_gbs else None

    def accel_class(self, rec: Record) -> str:
        row = self.row(rec)
        if row:
            name = str(row.name)
            return re.sub(r"\s*\(.*?\)", "", name).split(" / ")[0].strip() + (" Super" if "SUPER" in name else "")
        name = str(rec.device.extra.get("spec_name") or rec.device.name or "?")
        return re.sub(r"\s*\((?:znver|alderlake|tigerlake|skylake|icelake|sapphire|zen|haswell|broadwell)[^)]*\)",
                      "", name).strip() or "?"


def per_token_ms(rec: Record) -> float | None:
    v = rec.value("decode_tokens_per_s")
    return 1000.0 / v if v and v > 0 else None


def host_bound(rec: Record, roof: Roofline | None, peers: list[Record], sp: Specs) -> HostBound:
    """The flag and its evidence (see the module docstring); ``peers``: rows of the same model and
    workload on other machines (the candidates this row was found among). A CPU row (a server's
    CPU, a Raspberry Pi) gets no flag: its host IS its accelerator, so "bound by its host rather
    than its accelerator" cannot be said of it — its roofline fraction says how far it is from its
    memory."""
    if rec.device.kind in CPU_KINDS:
        return HostBound(None, f"not judged: a {rec.device.kind} row's host is its accelerator")
    ms, bw = per_token_ms(rec), sp.bandwidth(rec)
    floor_text = ""
    if ms is not None and bw:
        faster = [t for p in peers if p is not rec and (b := sp.bandwidth(p)) and b >= FASTER_BANDWIDTH * bw
                  and (t := per_token_ms(p)) is not None]
        if len(faster) >= 2:
            floor = statistics.median(faster)
            if ms <= NEAR_FLOOR * floor:
                floor_text = (f"its {ms:.3g} ms/token is near the {floor:.3g} ms/token that {len(faster)} rows on "
                              f"devices with ≥{FASTER_BANDWIDTH:g}× its bandwidth show (their speed did not follow "
                              f"their bandwidth)")
    if roof is not None and roof.value is not None:
        share = f"decode at {roof.value:.1%} of its bandwidth roofline at batch 1"
        if roof.value < HOST_BOUND_FRACTION:
            return HostBound(True, f"{share} (under {HOST_BOUND_FRACTION:.0%}: launch overhead, engine build and host "
                                   f"bound it, not memory)" + (f"; {floor_text}" if floor_text else ""))
        return HostBound(False, f"{share}: its memory bandwidth bounds it")
    if floor_text:
        return HostBound(True, floor_text)
    why = roof.why if roof is not None and roof.why else "no roofline fraction"
    return HostBound(None, f"cannot judge: {why}")


def runtime_text(rec: Record, fallback: str | None = None) -> str:
    rt = rec.runtime
    return str(rt.extra.get("label") or " ".join(str(x) for x in (rt.name, rt.version) if x) or fallback or "?")


def runtime_note(edge: Record, ref: Record) -> str:
    """``runtime differs: llamafile vs llama.cpp`` / ``build differs: llama.cpp 0.3.16 vs 0.3.36`` / ""."""
    a, b = str(ref.runtime.name or "?"), str(edge.runtime.name or "?")
    if a.lower() != b.lower():
        return f"runtime differs: {runtime_text(ref, a)} (server) vs {runtime_text(edge, b)} (edge)"
    va, vb = ref.runtime.version, edge.runtime.version
    if va and vb and va != vb:
        return f"build differs: {a} {va} (server) vs {b} {vb} (edge)"
    if not va and vb:
        return f"build unknown: the server row's {a} version is not published (edge {b} {vb})"
    return ""


def contended(rec: Record) -> str:
    """What the row's own load record says when it was measured on a busy machine, else ""."""
    load = rec.conditions.load
    if load is None or "contended" not in (load.status, load.during_status):
        return ""
    cores = load.during.other_cpu_cores if load.during else None
    return "contended: measured while other processes used " + (f"{cores:.2f} cores" if isinstance(cores, (int, float))
                                                               else "the cores")


def energy_scope(rec: Record) -> tuple[str, str] | None:
    """(scope, "kind: source") of the record's energy figures, or None when it has none."""
    for m in ENERGY_METRICS:
        metric = rec.metric(m)
        if metric is not None and metric.center is not None:
            p = metric.provenance
            return str(p.scope or "unknown"), f"{p.kind}: {p.source}"
    return None


def scope_note(edge: Record, ref: Record) -> str:
    """Names an energy scope mismatch ("board input rail (module), measured: ina3221:VDD_IN vs CPU
    package, estimated: tdp_model"); "" when the scopes agree or a side has no energy figure."""
    e, r = energy_scope(edge), energy_scope(ref)
    if e is None or r is None or e[0] == r[0]:
        return ""
    return (f"energy scope differs: edge {SCOPE_WORDS.get(e[0], e[0])} ({e[1]}) vs server "
            f"{SCOPE_WORDS.get(r[0], r[0])} ({r[1]}): the energy ratio is shown without a verdict")
