"""Device peak figures: the spec table ``assets/devices/devices.csv`` and measured probe results.

- ``load_table``: your rows (``$EDGEPROF_HOME/devices/devices.csv``, same columns) before the
  packaged ones, each naming its origin.
- ``lookup(name, kind=None, memory_bytes=None)``: the spec row for a device name — NVML names
  ("NVIDIA H100 80GB HBM3" → ``nvidia_h100_sxm``), Jetson device-tree models ("NVIDIA Jetson Orin
  Nano Developer Kit"), Apple chip names ("Apple M2 Pro"), CPU brand strings — by the table's
  ``match`` regexes; rows sharing a pattern (Orin Nano 4GB/8GB, AGX Orin 32/64GB) are told apart
  by memory size. Returns None for unknown hardware (never a guess).
- ``save_probe`` / ``load_probe``: ``devices.probe`` results under ``$EDGEPROF_HOME/devices/``;
  the stored probe is the best one: a contended probe never displaces a quiet one (it is kept
  beside it, ``<id>.contended.json``), so it is used only while no quiet probe exists.
  A probed figure carries ``devices.probe.probe_label`` (its date and quality) and, where a spec
  row publishes the same figure, ``devices.probe.below_spec``'s flag (more than 2x below it).
- ``device_spec(device)``: what ``roofline`` needs for one record's ``device`` dict: peak figures,
  each with its provenance (``spec`` + the row id, or ``measured`` + the probe's method). The numpy
  probe measures the host CPU, so it is used for ``cpu``/``rpi`` devices and, for other kinds, only
  to fill a figure the spec row lacks (labelled as host-CPU-side).
"""
from __future__ import annotations

import csv
import json
import re
from dataclasses import replace
from pathlib import Path

from edgeprof.analysis.whatif_types import DeviceClass, PowerMode
from edgeprof.analysis.spec_types import NUMERIC, PACKAGED, PEAKS, DeviceSpec, Peak, ProbeResult, SpecRow
from edgeprof.devices.load import QUIET
from edgeprof.devices.probe import below_spec, probe_label
from edgeprof.assets_access import asset
from edgeprof.home import home
from edgeprof.results.schema import DeviceRef

__all__ = ["NUMERIC", "PACKAGED", "PEAKS", "DeviceSpec", "Peak", "ProbeResult", "SpecRow", "probe_label"]


def user_table(env: dict | None = None) -> Path:
    """Your own rows (same columns as the packaged table): a device it lacks, or a figure its
    vendor publishes that the table does not carry yet. They are matched before the packaged rows."""
    return home(env) / "devices" / "devices.csv"


def _read(path: Path, origin: str) -> list[SpecRow]:
    with open(path, newline="") as fh:
        return [SpecRow.from_csv(r, origin, str(path)) for r in csv.DictReader(fh)]


def load_table(path: str | Path | None = None, env: dict | None = None) -> list[SpecRow]:
    """The spec rows: ``path`` alone, else your rows (``user_table``) then the packaged ones.
    Each row names where it came from (``origin``), which every figure's provenance repeats."""
    if path is not None:
        return _read(Path(path), str(path))
    mine = user_table(env)
    return (_read(mine, f"your {mine}") if mine.is_file() else []) + packaged_table()


def packaged_table() -> list[SpecRow]:
    return _read(asset("devices", "devices.csv"), PACKAGED)


def normalize(name: str) -> str:
    s = name.lower().replace("(r)", " ").replace("(tm)", " ").replace("®", " ").replace("™", " ")
    s = re.sub(r"[-_,/]+", " ", s)
    s = re.sub(r"\bcpu @.*$", "", s)
    return re.sub(r"\s+", " ", s).strip()


def lookup(name: str | None = None, kind: str | None = None, memory_bytes: int | None = None,
           table: list[SpecRow] | None = None) -> SpecRow | None:
    """The best spec row for a device name (with its ``match_note``), or None."""
    rows = table if table is not None else load_table()
    if not name:
        return None
    for r in rows:
        if r.id == name:
            return replace(r, match_note="by spec id")
    norm = normalize(name)
    cands = [r for r in rows if r.match and re.search(r.match, norm)
             and (kind is None or r.kind == kind or kind in ("cpu", "apple"))]
    if not cands:
        return None
    note = f"name '{name}' matched " + (f"row {cands[0].id}" if len(cands) == 1 else f"{len(cands)} rows")
    if len(cands) > 1:
        if memory_bytes:
            gb = memory_bytes / 1e9
            cands = sorted(cands, key=lambda r: abs(gb - r.memory_gb) / r.memory_gb if r.memory_gb else 9e9)
            note += f"; variant chosen by memory ({gb:.1f} GB)"
        else:
            note += f"; variant ambiguous without memory size, took {cands[0].id}"
    return replace(cands[0], match_note=note)


def _safe(device_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", device_id).strip("_") or "device"


def probe_path(device_id: str, env: dict | None = None) -> Path:
    return home(env) / "devices" / f"{_safe(device_id)}.json"


def save_probe(device_id: str, result: dict, env: dict | None = None) -> Path:
    """Store a probe (``devices.probe.probe()``'s result) where rooflines read it, unless it is
    busier than the one stored: a contended (or unlabelled) probe replaces only another that is
    not quiet; beside a quiet one it goes to ``<id>.contended.json`` (issue 20: a probe taken on
    a busy machine was used by every later roofline, on a machine that is never quiet forever).
    Returns the path written."""
    path = probe_path(device_id, env)
    stored = load_probe(device_id, env)
    if ProbeResult.from_dict(result).quality != QUIET and stored is not None and stored.quality == QUIET:
        path = path.with_name(path.stem + ".contended.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"device_id": device_id, **result}, indent=2) + "\n")
    tmp.replace(path)
    return path


def load_probe(device_id: str, env: dict | None = None) -> ProbeResult | None:
    path = probe_path(device_id, env)
    return ProbeResult.from_dict(json.loads(path.read_text())) if path.is_file() else None


#: the probe's two figures: (spec column, probe part, what, unit)
PROBED = (("peak_mem_bandwidth_gbs", "bandwidth", "memory bandwidth", "GB/s"),
          ("peak_fp32_tflops", "flops", "fp32 FLOP/s", "TFLOP/s"))


def device_spec(device: DeviceRef, env: dict | None = None, probe: ProbeResult | None = None,
                table: list[SpecRow] | None = None) -> DeviceSpec | None:
    """Peak figures for a record's device with per-figure provenance; None if nothing known."""
    row = lookup(device.name, device.kind, device.memory_bytes, table if table is not None else load_table(env=env))
    if probe is None and device.id:
        probe = load_probe(device.id, env)
    base = row.spec(row.match_note) if row else DeviceSpec()
    figures = {fig: base.figure(fig) for fig in PEAKS + ("tdp_w",)}
    prov = dict(base.provenance)
    if probe:
        host_side = device.kind in ("cpu", "rpi", None)
        label = probe.label
        if probe.quality != QUIET:  # used only because no quiet probe is stored (save_probe)
            label += "; no quiet probe yet"
        for fig, part, what, unit in PROBED:
            m = getattr(probe, part)
            if m.value and (host_side or figures[fig] is None):
                published, spec_src = figures[fig], (prov[fig].source if fig in prov else None)
                figures[fig] = m.value
                flag = below_spec(m.value, published, what, unit) if published else None
                if flag:
                    flag += f" (published figure: {spec_src})"
                prov[fig] = Peak("measured", f"edgeprof.devices.probe ({probe.measured_at or '?'})",
                                 m.method + ("" if host_side else "; host-CPU side, spec row lacks it"),
                                 label=label, quality=probe.quality or "unknown", flag=flag)
    if not prov:
        return None
    return DeviceSpec(id=device.id, name=device.name, spec_id=row.id if row else None, provenance=prov, **figures)


# --- what-if: device ids a user types, power modes, device classes -------------------------------

VENDOR_PREFIXES = ("jetson_", "apple_", "nvidia_", "amd_", "intel_")


class DeviceIdError(ValueError):
    """A ``--device`` / ``--power-mode`` that names nothing (one line, with what would work)."""


def _csv_rows(*parts: str) -> list[dict[str, str]]:
    with open(asset(*parts), newline="") as fh:
        return list(csv.DictReader(fh))


def aliases() -> dict[str, str]:
    """``assets/devices/aliases.csv``: names people type (``orin-nano-super``, ``h100``) -> spec id."""
    return {r["alias"].lower(): r["device_id"] for r in _csv_rows("devices", "aliases.csv")}


def resolve_device(query: str, table: list[SpecRow] | None = None) -> SpecRow:
    """The spec row a user means: its id (``jetson_orin_nano_8gb_super``, dashes allowed), an alias,
    the id without its vendor prefix (``m4-max``, ``rtx-4090``), or words all found in one id.
    Several candidates -> an error listing them (never a silent pick)."""
    rows = table if table is not None else load_table()
    q = (query or "").strip().lower().replace("-", "_").replace(" ", "_")
    by_id = {r.id: r for r in rows}
    alias = aliases().get(q.replace("_", "-"))
    for cand in (q, alias):
        if cand in by_id:
            return by_id[cand]
    short = [r for r in rows if any(r.id == p + q for p in VENDOR_PREFIXES)]
    if len(short) == 1:
        return short[0]
    words = [w for w in q.split("_") if w]
    hits = [r for r in rows if words and all(w in r.id.split("_") for w in words)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise DeviceIdError(f"--device {query!r} matches {len(hits)} devices ({', '.join(r.id for r in hits[:8])}); "
                            f"give one of those ids")
    raise DeviceIdError(f"--device {query!r} is not in the device table; 'edgeprof predict --list-devices' lists "
                        f"the ids (your own rows go in {PACKAGED}'s columns at $EDGEPROF_HOME/devices/devices.csv)")


def power_modes(device_id: str) -> list[PowerMode]:
    """The published nvpmodel modes of a Jetson (``assets/devices/power_modes.csv``), each with its
    source; [] for a device without modes (its one mode is its TDP)."""
    return [m for m in read_power_modes() if m.device_id == device_id]


def read_power_modes() -> list[PowerMode]:
    """``assets/devices/power_modes.csv`` as typed modes (an empty clock is None: uncapped)."""
    out = []
    for r in _csv_rows("devices", "power_modes.csv"):
        num = {c: float(r[c]) if r.get(c) not in (None, "") else None
               for c in ("budget_w", "peak_mem_bandwidth_gbs", "cpu_max_mhz", "gpu_max_mhz")}
        out.append(PowerMode(r["device_id"], r["mode"], num["budget_w"], num["peak_mem_bandwidth_gbs"],
                             num["cpu_max_mhz"], num["gpu_max_mhz"], int(r["cpu_cores"]) if r.get("cpu_cores") else None,
                             r.get("default") == "yes", r.get("source_url") or "", r.get("source_note") or ""))
    return out


def pick_mode(device_id: str, name: str | None) -> PowerMode | None:
    """The mode ``name`` names (case, a trailing W and ``-``/``_`` ignored); the default mode when
    ``name`` is None; None for a device without modes. Unknown names raise with the list."""
    modes = power_modes(device_id)
    if not modes:
        if name and name.lower() not in ("default", "tdp"):
            raise DeviceIdError(f"{device_id} has no published power modes (only its TDP); drop --power-mode")
        return None
    if name is None:
        return next((m for m in modes if m.default), modes[0])

    def key(s: str) -> str:
        return s.lower().replace("-", "_").rstrip("w")

    hit = next((m for m in modes if key(m.name) == key(name)), None)
    if hit is None:
        raise DeviceIdError(f"--power-mode {name!r}: {device_id} has modes {', '.join(m.name for m in modes)}")
    return hit


def family(row: SpecRow, backend: str = "gpu") -> str:
    """The what-if family of a spec row (``whatif_types.FAMILIES``): which classes are alike."""
    kind, mem = row.kind, row.memory_type.upper()
    if kind == "apple":
        return "apple" if backend == "gpu" else "apple-cpu"
    if backend == "cpu" and kind not in ("cpu", "rpi"):
        return "other"  # a GPU machine's CPU backend: its host CPU is not in the row
    if kind == "nvidia":
        return "nvidia-hbm" if "HBM" in mem else "nvidia-gddr"
    return {"jetson": "jetson", "rpi": "arm-sbc", "cpu": "x86-cpu", "gpu": "amd-gpu"}.get(kind, "other")


def device_class(row: SpecRow, backend: str = "gpu") -> DeviceClass:
    """A spec row as the what-if model's ``DeviceClass`` (a CPU-backend run of a GPU machine is its
    own class, ``<id>:cpu``: same memory, other kernels)."""
    cpu_side = backend == "cpu" and row.kind not in ("cpu", "rpi")
    return DeviceClass(id=row.id + (":cpu" if cpu_side else ""), name=row.name + (" (CPU backend)" if cpu_side
                       else ""), family=family(row, backend if cpu_side else "gpu"), vendor=row.vendor,
                       bandwidth_gbs=row.peak_mem_bandwidth_gbs, compute_tflops=row.peak_fp32_tflops,
                       memory_gb=row.memory_gb, tdp_w=row.tdp_w, spec_id=row.id, source=row.source)
