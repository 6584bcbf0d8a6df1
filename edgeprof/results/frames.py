"""pandas access to results: ``edgeprof.load``, ``edgeprof.load_samples``, ``edgeprof.history``.

Why here: a DataFrame is one more tabular sink of the same records, so its columns are exactly the
``-o csv`` columns (CONTRACTS "Metric names": nested fields flattened with dots, units in the
names: ``metrics.ttft_ms.median``, ``artifact.size_bytes``, ``runtime.placement.threads``) — one
row per case. pandas is imported inside each function (the optional ``edgeprof[report]`` extra);
a missing extra is one line naming the pip command.

Provenance travels with the frames: ``load_samples`` puts each sensor column's kind/source/scope
in ``DataFrame.attrs["columns"]`` (an estimated power stays labelled estimated), and ``load`` keeps
every ``metrics.<name>.provenance.*`` column of the flattened record.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from edgeprof.results.extras import need
from edgeprof.results.flatten import flatten
from edgeprof.results.history import load_run
from edgeprof.results.jsonl import RunError, read_records
from edgeprof.results.samples import case_traces, read_tokens, tokens_path

if TYPE_CHECKING:  # pragma: no cover
    import pandas


def _records(path: str | Path):
    p = Path(path)
    if p.is_file():
        return read_records(p), p.parent
    return load_run(p)["records"], p


def load(*run_dirs: str | Path) -> "pandas.DataFrame":
    """One row per case of one or more run directories (or records.jsonl files), columns as ``-o csv``
    plus ``run_dir``. Example: ``edgeprof.load("edgeprof-runs/x")[["artifact.quant",
    "metrics.decode_tokens_per_s.median"]]``."""
    pd = need("pandas", "edgeprof.load")
    if not run_dirs:
        raise RunError("edgeprof.load needs a run directory, e.g. edgeprof.load('edgeprof-runs/<timestamp>')")
    rows, cols = [], ["run_dir"]
    for d in run_dirs:
        records, base = _records(d)
        for r in records:
            flat = {"run_dir": str(base), **flatten(r.to_dict())}
            cols += [k for k in flat if k not in cols]
            rows.append(flat)
    return pd.DataFrame(rows, columns=cols)


def load_samples(run_dir: str | Path, tokens: bool = False) -> "pandas.DataFrame":
    """Every case's sensor trace (``samples/<case_id>.csv``) in one frame: ``case_id``, ``t_ns``,
    ``t_s`` (seconds since the case's first sample) and one column per reading, as written.
    ``attrs["columns"]`` holds each reading's provenance. ``tokens=True`` reads the per-token
    timelines (``samples/<case_id>.tokens.csv``) instead; a run without them gives an empty frame."""
    pd = need("pandas", "edgeprof.load_samples")
    run = load_run(run_dir)
    ids = [r.case_id for r in run["records"]]
    frames, prov = [], {}
    if tokens:
        for cid in ids:
            p = tokens_path(run_dir, cid)
            if p.is_file():
                frames.append(pd.DataFrame({"case_id": cid, **read_tokens(p)}))
    else:
        for cid, tr in case_traces(run_dir, ids, run.get("env")).items():
            t0 = tr.t_ns[0] if tr.t_ns else 0
            frames.append(pd.DataFrame({"case_id": cid, "t_ns": tr.t_ns, "t_s": [(t - t0) / 1e9 for t in tr.t_ns],
                                        **{c.name: tr.values[c.name] for c in tr.columns}}))
            prov.update({c.name: {"sensor": c.sensor, "quantity": c.quantity, "kind": c.kind, "source": c.source,
                                  "scope": c.scope, "note": c.note} for c in tr.columns})
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame({"case_id": [], "t_ns": []})
    df.attrs["columns"] = prov
    df.attrs["run_dir"] = str(run_dir)
    return df


def history(db_path: str | Path | None = None, records: bool = False) -> "pandas.DataFrame":
    """The history index — ``$EDGEPROF_HOME/history.sqlite``, or the store ``$EDGEPROF_HISTORY`` or
    the config entry names (a SQLite path or a postgresql:// URL): one row per indexed case with
    its key columns and indexed metric medians, joined with its run's directory, start time and
    origin (where a copied run was measured; ``board``: the board's fleet name and hardware id,
    which tells apart boards that share a hostname). ``records=True`` adds the flattened full
    record of each row."""
    pd = need("pandas", "edgeprof.history")
    from edgeprof.results.history import connect

    with connect(db_path, create=False) as con:
        cols, rows = con.query("SELECT records.*, runs.dir AS run_dir, runs.started_at AS run_started_at, "
                               "runs.origin AS run_origin FROM records LEFT JOIN runs USING (run_id) "
                               "ORDER BY runs.started_at, records.run_id, records.seq")
    df = pd.DataFrame(rows, columns=cols)
    if records:
        import json

        from edgeprof.results.schema import Record

        flat = pd.DataFrame([flatten(Record.from_dict(json.loads(j)).to_dict()) for j in df["json"]])
        df = pd.concat([df.drop(columns="json"), flat.add_prefix("record.")], axis=1)
    else:
        df = df.drop(columns="json")
    return df
