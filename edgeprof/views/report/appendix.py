"""The environment and provenance appendix: for every run the machine, software versions, idle
baseline and sensors (each measured or estimated, with its source and why an absent one is
absent), and for every metric where its figures came from.

Why in every report: a number without provenance is a bug, and a reader of an HTML file on another
machine has no env.json to open.
"""
from __future__ import annotations

from edgeprof.results import metric_catalogue
from edgeprof.results.conditions import IdleBaseline
from edgeprof.views.report.data import CaseView, RunData
from edgeprof.views.report.tables import Cell, Table, fmt_value


def run_table(run: RunData) -> Table:
    env, plan = run.env, run.plan
    base = IdleBaseline.from_dict(run.baseline or {})
    dev = env.device
    first = run.records[0]
    prov = base.provenance
    idle = (f"{'~' if prov and prov.estimated else ''}{base.idle_power_w:.3g} W over "
            f"{fmt_value(base.idle_window_s)} s [{prov.kind if prov else '?'}: {prov.source if prov else ''}]"
            if base.idle_power_w is not None else "not measured")
    rows = [("run directory", str(run.dir)), ("run_id", run.run_id), ("host", env.host or first.host),
            ("started", first.started_at), ("edgeprof", env.edgeprof or first.conditions.edgeprof_version),
            ("python / platform", f"{fmt_value(env.python)} / {fmt_value(env.platform)}"),
            ("device", f"{dev.name or first.device.name} [{dev.kind or first.device.kind}] "
                       f"id {dev.id or first.device.id}"),
            ("device memory", f"{(dev.memory_bytes or first.device.memory_bytes or 0) / 2**30:.1f} GiB"),
            ("energy source", dev.spec("energy_source") or first.device.extra.get("energy_source")),
            ("versions", fmt_value(env.versions)), ("cpu governor", env.cpu_governor),
            ("load average before", fmt_value(env.loadavg_before)), ("idle baseline", idle),
            ("sweep", fmt_value(plan.axes)), ("suite", (run.suite or {}).get("suite") or plan.suite)]
    cells = tuple((Cell(k), Cell(fmt_value(v), estimated=str(v).startswith("~")))
                  for k, v in rows if v not in (None, ""))
    return Table(("field", "value"), cells)


def sensor_table(run: RunData) -> Table:
    rows = []
    for s in run.env.sensors:
        why = s.reason if not s.available else s.note
        rows.append((Cell(str(s.name)), Cell(str(s.quantity or "")),
                     Cell(str(s.kind or "?"), estimated=s.kind == "estimated"),
                     Cell(str(s.source or "")), Cell(str(s.scope or "")),
                     Cell("yes" if s.available else "no"), Cell(str(why or ""))))
    notes = () if rows else ("env.json lists no sensors for this run",)
    return Table(("sensor", "quantity", "kind", "source", "scope", "available", "reason / note"), tuple(rows), notes)


def metric_provenance_table(cases: list[CaseView]) -> Table:
    """Each metric once per distinct (kind, source, scope), with its note, in catalogue order."""
    order = {d.name: i for i, d in enumerate(metric_catalogue.CATALOGUE)}
    seen: dict[tuple, tuple] = {}
    for c in cases:
        for name, m in c.record.metrics.items():
            p = m.provenance
            key = (name, p.kind, p.source, p.scope)
            if key not in seen:
                seen[key] = (Cell(name), Cell(m.unit), Cell(p.kind, estimated=p.estimated), Cell(p.source),
                             Cell(str(p.scope or "")), Cell(p.note[:300] + ("…" if len(p.note) > 300 else "")))
    rows = [seen[k] for k in sorted(seen, key=lambda k: (order.get(k[0], 999), k[0], k[1], k[2]))]
    return Table(("metric", "unit", "kind", "source", "scope", "note"), tuple(rows))
