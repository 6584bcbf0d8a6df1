"""The index of a user reference set's rows, written with the set (``refwrite.write``), so that
matching a bench row reads only the rows that can match it (issue 21 item 10: with a 300,000-row
LocalScore import every ``bench`` read and parsed every row, ~60-80 s and 2 GB, before comparing).

``rows.index.json``: the byte offset of every ``ok`` row in the rows file (``records.jsonl`` or an
importer's file) and the rows grouped by what matching decides on — the model (its whole
``ModelInfo``: identity and parameter count), the workload and the quant. ``reference.match``
judges each group once (identity, size factor, workload) and reads the rows of the groups that
match; the others count by their size. ``rows.fit.json`` (LocalScore imports): the columns the
what-if fit reads of each row (``whatif_rows.Submission``), so a prediction does not parse them all.

Both are stamped with the rows file's size and mtime: a rows file changed since (edited,
replaced) makes the index stale, and the set is read in full, with a note saying so. A row read
at an offset must belong to its group (same key), else the index is not trusted either.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from edgeprof.compare.identity import quant_name
from edgeprof.compare.setmeta import SetMeta
from edgeprof.results.schema import ModelInfo, Record, Workload

INDEX, FIT = "rows.index.json", "rows.fit.json"
VERSION = 1


class StaleIndex(Exception):
    """A row read through the index is not the row the index describes (the set falls back to a full read)."""


@dataclass(frozen=True)
class RowGroup:
    """Rows that matching cannot tell apart: one model, one workload, one quant."""
    model: ModelInfo
    workload: Workload
    quant: str | None
    positions: tuple[int, ...]   # the rows among the set's ok rows, in file order

    @property
    def key(self) -> str:
        return _key(self.model.to_dict(), self.workload.to_dict(), self.quant)


def _key(model: dict, workload: dict, quant: str | None) -> str:
    return json.dumps([model, workload, quant], sort_keys=True, default=str)


def key_of(r: Record) -> str:
    return _key(r.model.to_dict(), r.workload.to_dict(), quant_name(r.artifact.quant))


def groups_of(ok: Sequence[Record]) -> list[RowGroup]:
    """The groups of ``ok`` rows, in the order of their first row."""
    by: dict[str, list[int]] = {}
    first: dict[str, Record] = {}
    for i, r in enumerate(ok):
        k = key_of(r)
        by.setdefault(k, []).append(i)
        first.setdefault(k, r)
    return [RowGroup(first[k].model, first[k].workload, quant_name(first[k].artifact.quant), tuple(pos))
            for k, pos in by.items()]


@dataclass(frozen=True)
class RowIndex:
    file: str                    # the rows file, in the set's folder
    stamp: tuple[int, int]       # its size and mtime (ns) when indexed
    reader: str                  # "jsonl" | "localscore"
    offsets: tuple[int, ...]     # byte offset of each ok row
    groups: tuple[RowGroup, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"version": VERSION, "file": self.file, "stamp": list(self.stamp), "reader": self.reader,
                "offsets": list(self.offsets),
                "groups": [{"model": g.model.to_dict(), "workload": g.workload.to_dict(), "quant": g.quant,
                            "rows": list(g.positions)} for g in self.groups]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RowIndex":
        """Checked as untrusted input: a malformed index raises ``ValueError`` (the set is then read in full)."""
        if d.get("version") != VERSION or d.get("reader") not in READERS or not isinstance(d.get("file"), str):
            raise ValueError("unknown index version, reader or file")
        offsets, stamp = d.get("offsets"), d.get("stamp")
        if not _ints(offsets) or not _ints(stamp) or len(stamp) != 2:
            raise ValueError("offsets or stamp are not integers")
        groups, seen = [], 0
        for g in d.get("groups") or []:
            if not isinstance(g, dict) or not _ints(g.get("rows")) or not g["rows"]:
                raise ValueError("a group without rows")
            if any(p < 0 or p >= len(offsets) for p in g["rows"]):
                raise ValueError("a group's row is not indexed")
            seen += len(g["rows"])
            groups.append(RowGroup(ModelInfo.from_dict(g["model"]), Workload.from_dict(g["workload"]),
                                   g.get("quant") if isinstance(g.get("quant"), str) else None, tuple(g["rows"])))
        if seen != len(offsets):
            raise ValueError("groups do not cover the rows exactly")
        return cls(d["file"], (stamp[0], stamp[1]), d["reader"], tuple(offsets), tuple(groups))


def _ints(xs: Any) -> bool:
    return isinstance(xs, list) and all(type(x) is int and x >= 0 for x in xs)


def stamp_of(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


# -- writing (with the set) -------------------------------------------------------------------------
def write(folder: Path, rows_file: Path, reader: str, rows: Sequence[Record], offsets: Sequence[int]) -> None:
    """``rows.index.json`` (and, for a LocalScore import, ``rows.fit.json``) for ``rows``, which
    sit at ``offsets`` of ``rows_file``; nothing when they do not line up (no index: full reads)."""
    if len(rows) != len(offsets):
        return
    ok = [(r, o) for r, o in zip(rows, offsets) if r.ok]
    stamp = stamp_of(rows_file)
    index = RowIndex(rows_file.name, stamp, reader, tuple(o for _, o in ok), tuple(groups_of([r for r, _ in ok])))
    (folder / INDEX).write_text(json.dumps(index.to_dict(), separators=(",", ":")))
    if reader == "localscore":
        (folder / FIT).write_text(json.dumps(_fit_columns(rows, rows_file.name, stamp), separators=(",", ":")))


def jsonl_offsets(lines: Sequence[str]) -> list[int]:
    out, at = [], 0
    for line in lines:
        out.append(at)
        at += len(line.encode())
    return out


# -- reading ----------------------------------------------------------------------------------------
def _bounded_json(path: Path, rows_file: Path) -> Any:
    from edgeprof.results.bounded import read_bytes

    return json.loads(read_bytes(path, 2 * rows_file.stat().st_size + 2**20))


def load(folder: Path, rows_name: str | None) -> tuple[RowIndex | None, str | None]:
    """(the set's index when current, else None; a note when an index exists but is not used)."""
    path = folder / INDEX
    if not path.is_file() or not rows_name:
        return None, None
    rows_file = folder / rows_name
    try:
        index = RowIndex.from_dict(_bounded_json(path, rows_file))
        current = index.file == rows_name and index.stamp == stamp_of(rows_file)
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        return None, f"its row index {path} is unreadable ({str(exc)[:80]}): every row is read"
    if not current:
        return None, (f"its rows file {rows_file} changed since its row index was written: every row is read "
                      f"(slower); rebuild the set with the command that made it, with --overwrite")
    return index, None


def read_rows(folder: Path, meta: SetMeta, index: RowIndex, positions: Sequence[int],
              expect: dict[int, str]) -> dict[int, Record]:
    """The rows at ``positions``, each checked against its group's key (``expect``)."""
    path = folder / index.file
    out: dict[int, Record] = {}
    try:
        with open(path, "rb") as fh:
            for p in positions:
                r = READERS[index.reader](fh, index.offsets[p], path, meta)
                if key_of(r) != expect[p] or not r.ok:
                    raise StaleIndex(f"row {p} of {path} is not the row its index describes")
                out[p] = r
    except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
        raise StaleIndex(f"{path}: {str(exc)[:120]}") from None
    return out


def _jsonl_row(fh, offset: int, path: Path, meta: SetMeta) -> Record:
    fh.seek(offset)
    return Record.from_dict(json.loads(fh.readline()))


def _localscore_row(fh, offset: int, path: Path, meta: SetMeta) -> Record:
    from edgeprof.compare.localscore import read_row

    return read_row(fh, offset, path, meta.models)


READERS = {"jsonl": _jsonl_row, "localscore": _localscore_row}


# -- the what-if fit's columns (LocalScore imports) ---------------------------------------------------
_FIT_COLUMNS = ("result_id", "url", "size_bytes", "decode_tps", "prefill_tps", "memory_bytes", "backend", "device",
                "role", "params", "runtime", "model")
_TEXT = ("backend", "device", "role", "runtime", "model")   # few distinct values: stored once, by number


def _fit_columns(rows: Sequence[Record], file: str, stamp: tuple[int, int]) -> dict[str, Any]:
    from edgeprof.compare.localscore import URL
    from edgeprof.compare.whatif_rows import Submission

    subs = [Submission.of(r) for r in rows]
    texts: dict[str, int] = {}
    cols: dict[str, list] = {c: [] for c in _FIT_COLUMNS}
    for s in subs:
        for c in _FIT_COLUMNS:
            v = getattr(s, c)
            if c in _TEXT:
                v = None if v is None else texts.setdefault(str(v), len(texts))
            elif c == "url" and v is not None and v == URL.format(s.result_id):
                v = True  # LocalScore's page of that result: not repeated 300,000 times
            cols[c].append(v)
    return {"version": VERSION, "file": file, "stamp": list(stamp), "texts": list(texts), "columns": cols}


def load_fit(folder: Path, rows_name: str | None) -> list | None:
    """The what-if columns as ``Submission``s while the rows file is unchanged, else None (a
    malformed file too: it is untrusted input, every column's type is checked)."""
    from edgeprof.compare.localscore import URL
    from edgeprof.compare.whatif_rows import Submission

    path = folder / FIT
    if not path.is_file() or not rows_name:
        return None
    try:
        d = _bounded_json(path, folder / rows_name)
        if d.get("version") != VERSION or d.get("file") != rows_name or d.get("stamp") != list(
                stamp_of(folder / rows_name)):
            return None
        texts, cols = d["texts"], d["columns"]
        n = len(cols["result_id"])
        if not all(isinstance(t, str) for t in texts) or any(len(cols[c]) != n for c in _FIT_COLUMNS):
            return None
        for c in _FIT_COLUMNS:
            kinds = (int,) if c in _TEXT or c in ("result_id", "memory_bytes") else (str, bool) if c == "url" \
                else (int, float)
            if not all(v is None or type(v) in kinds for v in cols[c]):
                return None
            if c in _TEXT:
                if not all(v is None or 0 <= v < len(texts) for v in cols[c]):
                    return None
                cols[c] = [None if v is None else texts[v] for v in cols[c]]
        cols["url"] = [URL.format(i) if u is True else u or None for i, u in zip(cols["result_id"], cols["url"])]
        return [Submission(*row) for row in zip(*(cols[c] for c in _FIT_COLUMNS))]
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        return None
