"""The run context of a row, read back typed: the settings it was measured under (engine/power_axes.py
stamps ``Record.extra['context']`` and ``['power']``) — and what every front-end says about it.

Why typed here, at the bottom: the table legend, the report's provenance, the TUI title and
``compare`` all name the same fields in the same words; ``power_differences`` is the one rule for
"measured under another power context" (every field but the temperatures, devices/context.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from edgeprof.devices.context import is_power
from edgeprof.results.schema import Record

#: field -> how a person reads it (units in the words); others are shown by name
LABELS = {"power_mode": "power mode", "power_mode_id": "mode id", "jetson_clocks": "jetson_clocks",
          "cpu_max_mhz": "CPU max MHz", "gpu_max_mhz": "GPU max MHz", "emc_max_mhz": "EMC max MHz",
          "cpu_governor": "governor", "cpu_epp": "EPP", "cpu_boost": "boost", "power_source": "on",
          "low_power_mode": "low-power mode"}
#: the fields a one-line summary leads with, in this order
HEADLINE = ("power_mode", "jetson_clocks", "cpu_governor", "cpu_boost", "power_source", "low_power_mode",
            "gpu_max_mhz", "cpu_max_mhz", "emc_max_mhz")


@dataclass(frozen=True)
class RunContext:
    fields: dict[str, Any] = field(default_factory=dict)
    unknown: dict[str, str] = field(default_factory=dict)
    changed: dict[str, list] = field(default_factory=dict)       # power fields that changed during the case
    end_temp_c: dict[str, float] = field(default_factory=dict)
    runtime_build: dict[str, Any] = field(default_factory=dict)
    cooldown: dict[str, Any] | None = None
    power: dict[str, str] = field(default_factory=dict)          # the settings the case asked for

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None, power: Mapping[str, str] | None = None) -> "RunContext":
        d = d if isinstance(d, Mapping) else {}

        def part(key: str) -> dict:
            v = d.get(key)
            return dict(v) if isinstance(v, Mapping) else {}
        return cls(part("fields"), part("unknown"), part("changed"), part("end_temp_c"), part("runtime_build"),
                   part("cooldown") or None, dict(power or {}))

    @property
    def power_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.fields.items() if is_power(k)}

    def start_temp_c(self) -> float | None:
        temps = [v for k, v in self.fields.items() if k.startswith("temp_c.") and isinstance(v, (int, float))]
        return max(temps) if temps else None

    def summary(self) -> str:
        """One line: ``power mode 25W, jetson_clocks off, governor schedutil, GPU max MHz 918; start 48.5 C``."""
        f = self.power_fields
        keys = [k for k in HEADLINE if k in f] + sorted(k for k in f if k not in HEADLINE and k != "power_mode_id")
        parts = [f"{LABELS.get(k, k)} {f[k]}" for k in keys]
        start = self.start_temp_c()
        why = "; ".join(f"{LABELS.get(k, k)}: {v}" for k, v in self.unknown.items() if not k.startswith("temp_c"))
        text = ", ".join(parts) or f"no power setting readable here ({why or 'nothing exposed'})"
        return (text + (f"; start {start:g} C" if start is not None else "; no thermal zone")
                + (f"; {self.build_text()}" if self.runtime_build else ""))

    def build_text(self) -> str:
        """``llama.cpp (llama-cpp-python 0.3.36, cpu backend; upstream commit not exposed)``."""
        b = self.runtime_build
        if b.get("runtime") == "llama.cpp":
            return (f"llama.cpp ({b.get('binding')}, {b.get('backend')} backend"
                    + (f", commit {b['commit']}" if b.get("commit") else "; upstream commit not exposed") + ")")
        more = b.get("provider")
        return f"{b.get('runtime')} {b.get('version')}" + (f" ({more})" if more else "")


def context_of(rec: Record) -> RunContext | None:
    """The row's context, or None for a row written before contexts were recorded."""
    raw = rec.get("context")
    if not isinstance(raw, Mapping):
        return None
    power = rec.get("power")
    return RunContext.from_dict(raw, power if isinstance(power, Mapping) else None)


def power_differences(a: Record, b: Record) -> dict[str, tuple[Any, Any]]:
    """The power-context fields whose values differ between two rows (the settings asked for and the
    ones read), e.g. ``{"power_mode": ("15W", "25W")}``; empty when either row has no context."""
    ca, cb = context_of(a), context_of(b)
    if ca is None or cb is None:
        return {}
    out: dict[str, tuple[Any, Any]] = {}
    for k in sorted(set(ca.power) | set(cb.power)):
        if ca.power.get(k) != cb.power.get(k):
            out[f"setting.{k}"] = (ca.power.get(k), cb.power.get(k))
    fa, fb = ca.power_fields, cb.power_fields
    for k in sorted(set(fa) | set(fb)):
        if fa.get(k) != fb.get(k):
            out[k] = (fa.get(k), fb.get(k))
    return out


def runtime_build(rec: Record) -> dict[str, Any]:
    """The runtime build a row ran on, from its resolved runtime: llama.cpp through llama-cpp-python
    (whose binding exposes no upstream commit: said, not guessed) and its backend, or ONNX Runtime's
    version and execution provider."""
    rt, pl = rec.runtime, rec.runtime.placement
    out: dict[str, Any] = {"runtime": rt.name, "version": rt.version}
    if rt.name == "llama.cpp":
        out.update(binding=f"llama-cpp-python {rt.version}", backend="gpu" if pl.gpu_layers else "cpu",
                   commit=None, commit_unknown="llama-cpp-python does not expose the llama.cpp commit it was built from")
    elif rt.name == "onnxruntime":
        out.update(provider=pl.provider, providers=pl.extra.get("providers"))
    elif pl.provider:
        out["provider"] = pl.provider
    return out


def legend_lines(records: list[Record]) -> list[str]:
    """The table legend's context lines: one per distinct context (with the rows it covers when
    they differ), then what changed during a case."""
    from edgeprof.results.labels import row_label

    by_text: dict[str, list[str]] = {}
    for r in records:
        c = context_of(r)
        if c is not None:   # rows named as the table names them (board and case), never by hex id
            by_text.setdefault(c.summary(), []).append(row_label(r, records))
    lines = []
    for text, names in by_text.items():
        names = list(dict.fromkeys(names))
        lines.append(f"run context{'' if len(by_text) == 1 else ' (' + ', '.join(names) + ')'}: {text}")
    return lines
