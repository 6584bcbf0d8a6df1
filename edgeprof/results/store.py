"""Where the history index lives: an SQLite file (the default, ``$EDGEPROF_HOME/history.sqlite``)
or a PostgreSQL database a team shares (``postgresql://...``, through psycopg 3).

Why two engines and one schema: a board or a laptop needs nothing running to keep its history,
and a team wants one table across machines (llama.cpp #14791, ollama #1087). Both stores hold the
same tables, created and migrated by edgeprof and stamped with ``SCHEMA_VERSION`` in
``edgeprof_meta``; the run directory stays the truth (``edgeprof history rebuild`` re-creates
either store from run directories). SQL is written once with ``?`` placeholders and DELETE +
INSERT instead of a dialect's upsert; the PostgreSQL connection translates the placeholders.

Which store: ``resolve(db)`` — the ``--history`` value, else ``EDGEPROF_HISTORY``, else the
``history`` entry of ``$EDGEPROF_HOME/config.toml``, else the SQLite default. A password in a URL
is never printed (``Target.label``); prefer ``~/.pgpass`` or ``PGPASSWORD``, as libpq reads them.
"""
from __future__ import annotations

import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit, urlunsplit

from edgeprof.results import metric_catalogue
from edgeprof.results.jsonl import RunError

SCHEMA_VERSION = 3
SCHEMES = ("postgresql", "postgres")

#: metric medians kept as columns (the metric catalogue's ``indexed`` rows), for SQL without JSON
INDEXED = ("decode_tokens_per_s", "ttft_ms", "energy_per_token_j")  # column order of existing databases
assert set(INDEXED) == set(metric_catalogue.indexed()), "history columns follow the metric catalogue"

RUN_COLUMNS = ("run_id", "dir", "host", "device", "started_at", "indexed_at", "n_records", "origin", "board")
RECORD_COLUMNS = ("run_id", "case_id", "status", "model_id", "prompt_tokens", "gen_tokens", "depth", "n_seqs",
                  "format", "quant", "runtime", "placement", "device_id", "host", *INDEXED, "json", "seq", "board")

# version 1 (wave 2): no meta table, no runs.origin, no records.seq; version 2: no board columns (a
# board's identity, ``BoardTag.key``: two boards cloned from one image share host and machine id);
# {real} is the dialect's double
_TABLES = """
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, dir TEXT NOT NULL, host TEXT, device TEXT,
  started_at TEXT, indexed_at TEXT, n_records INTEGER, origin TEXT, board TEXT);
CREATE TABLE IF NOT EXISTS records (run_id TEXT NOT NULL, case_id TEXT, status TEXT, model_id TEXT,
  prompt_tokens INTEGER, gen_tokens INTEGER, depth INTEGER, n_seqs INTEGER, format TEXT, quant TEXT,
  runtime TEXT, placement TEXT, device_id TEXT, host TEXT, {indexed}, json TEXT NOT NULL, seq INTEGER,
  board TEXT, PRIMARY KEY (run_id, case_id));
CREATE INDEX IF NOT EXISTS records_workload ON records (model_id, prompt_tokens, gen_tokens, depth, n_seqs);
CREATE TABLE IF NOT EXISTS edgeprof_meta (key TEXT PRIMARY KEY, value TEXT);
"""
#: version -> the statements that bring a database of the version before it up to it
_MIGRATIONS = {2: ("ALTER TABLE runs ADD COLUMN origin TEXT", "ALTER TABLE records ADD COLUMN seq INTEGER"),
               3: ("ALTER TABLE runs ADD COLUMN board TEXT", "ALTER TABLE records ADD COLUMN board TEXT")}


class HistoryUnavailable(RunError):
    """The history database cannot be reached (a server down, refused, unknown host): the run
    directory is kept and the index catches up later."""


@dataclass(frozen=True)
class Target:
    """One history store: ``kind`` is ``sqlite`` (``location`` a path) or ``postgresql`` (a URL)."""

    kind: str
    location: str

    @classmethod
    def parse(cls, text: str | Path) -> "Target":
        s = str(text)
        if "://" in s:
            scheme = s.split("://", 1)[0].lower()
            if scheme not in SCHEMES:
                raise RunError(f"--history {_redact(s)}: unknown database scheme '{scheme}'; give a file path "
                               f"(SQLite) or a postgresql://user@host[:port]/dbname URL")
            return cls("postgresql", s)
        return cls("sqlite", os.path.abspath(Path(s).expanduser()))

    @property
    def label(self) -> str:
        """What messages print: the path, or the URL without its password."""
        return _redact(self.location) if self.kind == "postgresql" else self.location

    def __str__(self) -> str:
        return self.label

    @property
    def exists(self) -> bool:
        return self.kind == "postgresql" or Path(self.location).is_file()


def _redact(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("://", 1)[0] + "://…"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def resolve(db: str | Path | None = None) -> Target:
    """The store to use: ``db`` (a ``--history`` value), else the environment or config entry
    (``home.history_target``)."""
    if db:
        return Target.parse(db)
    from edgeprof.home import history_target

    return Target.parse(history_target())


class Connection:
    """The few DB-API calls the history needs, over sqlite3 or psycopg, with ``?`` placeholders."""

    def __init__(self, con: Any, target: Target):
        self.con, self.target = con, target
        self.pg = target.kind == "postgresql"

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.pg else sql

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        cur = self.con.cursor()
        cur.execute(self._sql(sql), params)
        return cur.fetchall()

    def query(self, sql: str, params: tuple = ()) -> tuple[list[str], list[tuple]]:
        """Column names and rows."""
        cur = self.con.cursor()
        cur.execute(self._sql(sql), params)
        return [c[0] for c in cur.description], cur.fetchall()

    def execute(self, sql: str, params: tuple = ()) -> None:
        self.con.cursor().execute(self._sql(sql), params)

    def executemany(self, sql: str, rows: list[tuple]) -> None:
        self.con.cursor().executemany(self._sql(sql), rows)

    def columns(self, table: str) -> list[str]:
        if self.pg:
            return [r[0] for r in self.rows("SELECT column_name FROM information_schema.columns WHERE "
                                            "table_schema = current_schema() AND table_name = ?", (table,))]
        return [r[1] for r in self.rows(f"PRAGMA table_info({table})")]


@contextmanager
def connect(db: str | Path | Target | None = None, create: bool = True) -> Iterator[Connection]:
    """A connection to the store with its schema current, committed when the block ends without
    an error (rolled back otherwise). ``create=False``: a missing SQLite file is a ``RunError``
    instead of a new empty database."""
    target = db if isinstance(db, Target) else resolve(db)
    if not create and not target.exists:
        raise RunError(f"no history database at {target.label}: every 'edgeprof bench' run is indexed there; "
                       f"run one, or pass --history")
    try:
        raw = _open_pg(target) if target.kind == "postgresql" else _open_sqlite(target)
    except (sqlite3.Error, OSError) as exc:
        raise RunError(f"history database {target.label} cannot be opened ({exc})") from None
    con = Connection(raw, target)
    try:
        _ensure_schema(con)
        yield con
        raw.commit()
    except BaseException as exc:
        _rollback(raw)
        problem = _translate(exc, target)
        if problem is not None:
            raise problem from None
        raise
    finally:
        raw.close()


def _translate(exc: BaseException, target: Target) -> RunError | None:
    """A database error as one line: a lost or refused connection is ``HistoryUnavailable`` (the
    index catches up later), anything else a ``RunError`` naming the store."""
    reason = " ".join(str(exc).split())[:200]
    if isinstance(exc, sqlite3.Error):
        return RunError(f"history database {target.label}: {reason} ('edgeprof history rebuild --history NEW' "
                        f"re-creates a store from the run directories)")
    mod = type(exc).__module__ or ""
    if not mod.startswith("psycopg"):
        return None
    import psycopg

    if isinstance(exc, psycopg.OperationalError):
        return HistoryUnavailable(f"history database {target.label} is unreachable ({reason})")
    return RunError(f"history database {target.label}: {reason}") if isinstance(exc, psycopg.Error) else None


def _rollback(raw: Any) -> None:
    try:
        raw.rollback()
    except Exception:  # noqa: BLE001 - the connection is already broken; the first error is the one to show
        pass


def _open_sqlite(target: Target) -> sqlite3.Connection:
    path = Path(target.location)
    path.parent.mkdir(parents=True, exist_ok=True)
    return sqlite3.connect(path, timeout=30)


def _open_pg(target: Target) -> Any:
    from edgeprof.results.extras import need

    psycopg = need("psycopg", "a PostgreSQL history")
    try:
        return psycopg.connect(target.location, connect_timeout=_timeout(target.location))
    except psycopg.OperationalError as exc:
        reason = " ".join(str(exc).split())[:200]
        raise HistoryUnavailable(f"history database {target.label} is unreachable ({reason})") from None
    except psycopg.ProgrammingError as exc:
        raise RunError(f"--history {target.label}: not a usable PostgreSQL URL ({exc})") from None


def _timeout(url: str) -> int:
    return 0 if "connect_timeout" in url else 5


def _ensure_schema(con: Connection) -> None:
    """Create the tables of a new store, migrate an older one, refuse a newer one."""
    if con.pg:  # two first commands at once must not both create the tables
        con.execute("SELECT pg_advisory_xact_lock(7261321)")
    had_runs = "runs" in _tables(con)
    version = _version(con) if had_runs else None
    if had_runs and version is None:
        version = 1
    if version is not None and version > SCHEMA_VERSION:
        raise RunError(f"history database {con.target.label} has schema version {version}, newer than this "
                       f"edgeprof knows ({SCHEMA_VERSION}); upgrade edgeprof, or pass --history to use another one")
    if version is not None and version < SCHEMA_VERSION:
        have = {t: set(con.columns(t)) for t in ("runs", "records")}
        for v in range(version + 1, SCHEMA_VERSION + 1):
            for stmt in _MIGRATIONS.get(v, ()):
                table, col = stmt.split()[2], stmt.split()[5]
                if col not in have.get(table, set()):
                    con.execute(stmt)
    real = "DOUBLE PRECISION" if con.pg else "REAL"
    for stmt in _TABLES.format(indexed=", ".join(f"{m} {real}" for m in INDEXED)).split(";"):
        if stmt.strip():
            con.execute(stmt)
    if version is not None and version < 3:
        _backfill_boards(con)
    if version != SCHEMA_VERSION:
        con.execute("DELETE FROM edgeprof_meta WHERE key = 'schema_version'")
        con.execute("INSERT INTO edgeprof_meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        con.con.commit()


def _backfill_boards(con: Connection) -> None:
    """Rows indexed before version 3 get their board column from their own JSON (a row measured
    over SSH carries ``board``), and each run the boards of its rows."""
    import json

    from edgeprof.results.conditions import BoardTag

    keys: dict[str, set[str]] = {}
    for run_id, case_id, js in con.rows("SELECT run_id, case_id, json FROM records WHERE json LIKE ?",
                                        ('%"board"%',)):
        try:
            tag = json.loads(js).get("board")
            key = BoardTag.from_dict(tag).key if isinstance(tag, dict) else None
        except (ValueError, AttributeError):
            continue
        if key:
            con.execute("UPDATE records SET board = ? WHERE run_id = ? AND case_id = ?", (key, run_id, case_id))
            keys.setdefault(run_id, set()).add(key)
    for run_id, ks in keys.items():
        con.execute("UPDATE runs SET board = ? WHERE run_id = ?", (",".join(sorted(ks)), run_id))


def _tables(con: Connection) -> set[str]:
    if con.pg:
        return {r[0] for r in con.rows("SELECT table_name FROM information_schema.tables WHERE "
                                       "table_schema = current_schema()")}
    return {r[0] for r in con.rows("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _version(con: Connection) -> int | None:
    if "edgeprof_meta" not in _tables(con):
        return None
    rows = con.rows("SELECT value FROM edgeprof_meta WHERE key = 'schema_version'")
    try:
        return int(rows[0][0]) if rows else None
    except (TypeError, ValueError):
        raise RunError(f"history database {con.target.label}: schema_version {rows[0][0]!r} is not a number; "
                       f"move it away and run 'edgeprof history rebuild'") from None


def schema_version(db: str | Path | Target | None = None) -> int:
    """The schema version of a store (after opening it, which migrates it)."""
    with connect(db) as con:
        return _version(con) or 0
