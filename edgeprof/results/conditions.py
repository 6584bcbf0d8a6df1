"""The conditions a case ran under, typed: the record's known top-level keys beyond its identity
and figures (CONTRACTS.md ``records.jsonl``: ``sample_hz``, ``idle_power_w``, ``load``,
``throttled``, ``power_rule``...).

Why typed: printers, compare's verdicts, the TUI and the report read them on every row, and
``rec.get("load") or {}`` followed by ``.get("during_status")`` hid a misspelt key as a silent
"unknown". In the file they stay where they always were (flat at the record's top level); a key
this version does not know stays in ``Record.extra`` and round-trips; a known key a file lacks is
written back absent (``dicts.Open``).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Mapping

from edgeprof.results.dicts import Open
from edgeprof.results.basics import Provenance


@dataclass(frozen=True, slots=True)
class LoadWindow(Open):
    """What the cores did over one window (devices/load.py ``LoadMeter.between``, with the worker's
    own CPU taken out during a case, engine/contention.py)."""

    window_s: float | None = None
    busy_fraction: float | None = None
    other_cpu_cores: float | None = None     # CPU that other processes used, in cores
    own_cpu_cores: float | None = None
    steal_fraction: float | None = None
    loadavg_1m: float | None = None
    logical_cores: int | None = None
    worker_cpu_cores: float | None = None
    note: str | None = None
    extra: dict = field(default_factory=dict)
    absent: frozenset = field(default=frozenset(), repr=False)


@dataclass(frozen=True, slots=True)
class Load(Open):
    """A row's ``load``: the windows before the run and during the case, and the verdict over them
    (``quiet`` | ``contended`` | ``unknown``)."""

    status: str | None = None
    why: str | None = None
    before_status: str | None = None
    during_status: str | None = None
    before: LoadWindow | None = None
    during: LoadWindow | None = None
    extra: dict = field(default_factory=dict)
    absent: frozenset = field(default=frozenset(), repr=False)

    NESTED = {"before": LoadWindow, "during": LoadWindow}

    @property
    def contended(self) -> bool:
        return self.status == "contended"


@dataclass(frozen=True, slots=True)
class ThrottleEvidence(Open):
    """Why ``throttled`` is what it is (analysis/throttling.py): the status, how many readings, and
    what they said."""

    status: str | None = None                # throttled | not throttled | unknown
    readings: str | None = None
    evidence: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)
    absent: frozenset = field(default=frozenset(), repr=False)


@dataclass(frozen=True, slots=True)
class BoardTag(Open):
    """The board a remote row was measured on (``bench --host``, ``fleet``), as the laptop tags it.

    Why a board is more than its hostname: two boards flashed from one SD-card image share the
    hostname and the machine id, and two test "boards" on loopback share the whole machine. A
    board is its fleet name (FLEET.toml's ``name``, or the SSH target of ``bench --host``) plus
    its hardware id (the device-tree serial where readable, else the machine id): ``key``."""

    name: str | None = None
    target: str | None = None
    hostname: str | None = None
    machine_id: str | None = None
    serial: str | None = None
    kind: str | None = None
    power_mode: str | None = None
    extra: dict = field(default_factory=dict)
    absent: frozenset = field(default=frozenset(), repr=False)

    @property
    def hardware(self) -> str | None:
        """``serial 1000000012345678`` or ``machine-id 5d3e9f0a1b2c`` (shortened), None when unknown."""
        if self.serial:
            return f"serial {self.serial}"
        return f"machine-id {self.machine_id[:12]}" if self.machine_id else None

    @property
    def key(self) -> str:
        """The board's identity as text: ``pi5 [serial 1000000012345678]``."""
        hw = self.hardware
        return f"{self.name or self.target or '?'}" + (f" [{hw}]" if hw else "")


def board_texts(a: BoardTag | None, b: BoardTag | None) -> tuple[str, str]:
    """Two boards as a reader tells them apart: their names, or their full keys when the names
    are the same (cloned images renamed nowhere) — ``local`` for a row measured here."""
    if a is None or b is None or a.name != b.name:
        return (a.name or a.key if a else "local"), (b.name or b.key if b else "local")
    return a.key, b.key


@dataclass(frozen=True, slots=True)
class Conditions(Open):
    """The known top-level keys of a record beyond its identity and figures."""

    throttled: bool | None = None
    throttle_evidence: ThrottleEvidence | None = None
    harness_cpu_s: float | None = None       # the bench parent's own CPU over the case
    case_wall_s: float | None = None
    idle_window_s: float | None = None       # the idle baseline's window and mean power
    cooldown_s: float | None = None
    idle_power_w: float | None = None
    load: Load | None = None
    power_rule: Provenance | None = None     # the total-power rule's sensor
    sample_hz: float | None = None           # the rate the sampler really used
    edgeprof_version: str | None = None
    runtime_extra: dict | None = None        # what the runtime reported beyond its placement
    board: BoardTag | None = None            # the board a remote row was measured on (fleet, bench --host)
    extra: dict = field(default_factory=dict)
    absent: frozenset = field(default=frozenset(), repr=False)

    NESTED = {"throttle_evidence": ThrottleEvidence, "load": Load, "power_rule": Provenance, "board": BoardTag}

    @classmethod
    def names(cls) -> frozenset[str]:
        return _NAMES

    def merged(self, more: Mapping[str, Any]) -> "Conditions":
        """These conditions with known keys from ``more`` (a record built with them in ``extra``)."""
        return Conditions.from_dict({**self.to_dict(), **more})



@dataclass(frozen=True, slots=True)
class IdleBaseline(Open):
    """A device's idle baseline (``baseline.json``, engine/baseline.py): mean power over a window
    with no worker running, the hottest idle temperature (the cool-down's target) and what other
    processes did meanwhile (``load``, with the warning it implies)."""

    device_id: str | None = None
    t0_ns: int | None = None
    t1_ns: int | None = None
    idle_temperature_c: float | None = None
    idle_window_s: float | None = None
    idle_power_w: float | None = None
    provenance: Provenance | None = None
    cpu_busy_ratio: float | None = None
    load: LoadWindow | None = None
    warning: str | None = None
    measured_at: str | None = None
    extra: dict = field(default_factory=dict)
    absent: frozenset = field(default=frozenset(), repr=False)

    NESTED = {"provenance": Provenance, "load": LoadWindow}


_NAMES = frozenset(f.name for f in fields(Conditions)) - {"extra", "absent"}
