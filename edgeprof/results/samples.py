"""Reading a run's traces: ``samples/<case_id>.csv`` (t_ns + one ``<sensor>.<quantity>`` column per
reading) and ``samples/<case_id>.tokens.csv`` (the per-token timeline, when the run wrote one).

Why a reader of its own: the report, the terminal charts, ``edgeprof.load_samples`` and the TUI all
need the same columns with the same provenance, and the core install has no pandas. A column's
provenance comes from the run's ``env.json`` sensor list (``kind`` measured/estimated, ``source``,
``scope``, ``note``), else from ``samples/<case_id>.columns.json`` (``kind``, ``source``, ``scope`` as
the readings themselves carried them: a sensor's further readings such as ``cpu:busy_time`` or a
RAPL zone, and the worker's ``worker:*``). A column found in neither says so (``kind``
"unlabelled") rather than passing for measured.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

from edgeprof.results.bounded import load_json, open_regular
from edgeprof.results.jsonl import RunError

WORKER_NOTE = "the benched worker and its children, sampled by the parent"
#: ``worker:*`` columns of a run written before ``<case_id>.columns.json`` existed (psutil, later /proc)
OLD_WORKER = {"kind": "measured", "source": "worker process tree (psutil / /proc)", "scope": "process"}


@dataclass(frozen=True, slots=True)
class Column:
    """One reading column: ``sensor`` + ``quantity`` (its unit is the quantity's suffix) and provenance."""

    name: str                 # as in the CSV header, e.g. "cpu:power_estimate.power_w"
    sensor: str
    quantity: str
    kind: str = "unlabelled"  # measured | estimated | derived | unlabelled
    source: str = ""
    scope: str | None = None
    note: str = ""

    @property
    def estimated(self) -> bool:
        return self.kind == "estimated"


@dataclass(frozen=True, slots=True)
class Trace:
    """A case's samples: monotonic ``t_ns`` and, per column, a value or None per sample."""

    case_id: str
    t_ns: tuple[int, ...]
    columns: tuple[Column, ...]
    values: dict[str, tuple[float | None, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.t_ns)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def by_quantity(self, quantity: str) -> list[Column]:
        return [c for c in self.columns if c.quantity == quantity]


def samples_path(run_dir: str | Path, case_id: str) -> Path:
    return Path(run_dir) / "samples" / f"{case_id}.csv"


def tokens_path(run_dir: str | Path, case_id: str) -> Path:
    return Path(run_dir) / "samples" / f"{case_id}.tokens.csv"


def sensor_info(env: dict | None) -> dict[str, dict]:
    """``{sensor name: {kind, source, scope, note}}`` from an env.json dict (None-safe)."""
    out = {}
    sensors = env.get("sensors") if isinstance(env, dict) else None
    for s in sensors if isinstance(sensors, list) else []:
        if isinstance(s, dict) and s.get("name"):
            out[str(s["name"])] = {k: s.get(k) for k in ("kind", "source", "scope", "note")}
    return out


def columns_path(samples_csv: str | Path) -> Path:
    """``samples/<case_id>.columns.json`` beside a samples CSV."""
    p = Path(samples_csv)
    return p.with_name(p.name[:-len(".csv")] + ".columns.json")


def _columns(samples_csv: Path) -> dict[str, dict]:
    path = columns_path(samples_csv)
    try:
        data = load_json(path) if path.exists() or path.is_symlink() else {}
    except RunError:
        return {}  # written by an older edgeprof (or lost, or not a file): env.json alone labels the columns
    return {str(k): v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def _label(name: str, sensors: dict[str, dict], columns: dict[str, dict] | None = None) -> Column:
    sensor, _, quantity = name.rpartition(".")
    if not sensor:
        sensor, quantity = name, ""
    info = sensors.get(sensor) or (columns or {}).get(name) or (OLD_WORKER if sensor.startswith("worker:") else {})
    if sensor.startswith("worker:") and info and not info.get("note"):
        info = {**info, "note": WORKER_NOTE}
    return Column(name, sensor, quantity, str(info.get("kind") or "unlabelled"), str(info.get("source") or ""),
                  info.get("scope"), str(info.get("note") or ""))


def _number(text: str) -> float | None:
    if text in ("", None):
        return None
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    try:
        with open_regular(path) as fh:
            rows = list(csv.reader(fh))
    except OSError as exc:
        raise RunError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: not a samples CSV ({exc}); re-run the case or remove the file") from None
    if not rows or not rows[0] or rows[0][0] != "t_ns":
        raise RunError(f"{path}: not a samples CSV (the first column must be t_ns); re-run the case or remove the file")
    return rows[0], [r for r in rows[1:] if r]


def read_trace(path: str | Path, env: dict | None = None, case_id: str | None = None) -> Trace:
    """A samples CSV as a :class:`Trace`; rows without a usable ``t_ns`` are dropped."""
    path = Path(path)
    head, rows = _read_csv(path)
    sensors, columns = sensor_info(env), _columns(path)
    cols = tuple(_label(h, sensors, columns) for h in head[1:])
    t_ns, vals = [], {c.name: [] for c in cols}
    for r in rows:
        t = _number(r[0])
        if t is None:
            continue
        t_ns.append(int(t))
        for i, c in enumerate(cols, start=1):
            vals[c.name].append(_number(r[i]) if i < len(r) else None)
    return Trace(case_id or path.name.split(".")[0], tuple(t_ns), cols, {k: tuple(v) for k, v in vals.items()})


def read_tokens(path: str | Path) -> dict[str, list[float | None]]:
    """The per-token timeline as ``{column: values}`` (``t_ns`` first); its other columns are kept
    as written (e.g. ``rep``, ``index``, ``itl_ms``), so a newer writer's columns pass through."""
    path = Path(path)
    head, rows = _read_csv(path)
    return {h: [_number(r[i]) if i < len(r) else None for r in rows] for i, h in enumerate(head)}


def case_traces(run_dir: str | Path, case_ids: list[str], env: dict | None = None) -> dict[str, Trace]:
    """The traces of the cases that have a samples file (a failed or unsampled case has none)."""
    out = {}
    for cid in case_ids:
        p = samples_path(run_dir, cid)
        if p.is_file():
            out[cid] = read_trace(p, env, cid)
    return out
