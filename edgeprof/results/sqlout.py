"""``-o sql``: the records as SQL that appends them to one SQLite table, widening it as needed."""
from __future__ import annotations

from edgeprof.results.flatten import flat_rows
from edgeprof.results.schema import Record


def _sql_value(v) -> str:
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def _sql_type(vals: list) -> str:
    """INTEGER / REAL / TEXT when every value has that type; a column whose values mix numbers and
    text gets no declared type, so SQLite keeps each value as written (a TEXT column would turn
    the numbers into strings)."""
    if not vals or all(isinstance(v, str) for v in vals):
        return "TEXT"
    if all(isinstance(v, (int, bool)) for v in vals):
        return "INTEGER"
    if all(isinstance(v, (int, float)) for v in vals):
        return "REAL"
    return ""


def to_sql(records: list[Record], table: str = "edgeprof") -> str:
    """SQL that appends the records to ``table`` in any SQLite database, as llama-bench ``-o sql``
    does, and ADDS THE COLUMNS IT NEEDS: a second run whose columns differ (another runtime, a
    failed case, a suite) used to stop at "table edgeprof has no column named ..." (issue 20).

    SQLite has no ``ADD COLUMN IF NOT EXISTS`` and a failed ALTER prints an error, so the table is
    widened in plain SQL that cannot fail: a one-row template of this dump's columns (typed by
    ``CAST(NULL AS ...)``) is NATURAL LEFT JOINed to the table — ``SELECT *`` of a natural join
    lists each common column once, keeps every existing row and value, and adds the new columns as
    NULL — into a new table that replaces the old one, in one transaction. Works piped into the
    ``sqlite3`` shell or run by any driver; views on the table survive (legacy rename). Columns are
    the flattened dotted names, quoted; booleans are stored as 1/0."""
    cols, flat = flat_rows(records)
    if not cols:
        return "-- edgeprof: no records\n"
    types = {c: _sql_type([f[c] for f in flat if f.get(c) is not None]) for c in cols}
    q = lambda c: '"' + c.replace('"', '""') + '"'  # noqa: E731
    t, tmpl, new = q(table), q(table + "__columns"), q(table + "__new")
    cast = lambda c: f"CAST(NULL AS {types[c]})" if types[c] else "NULL"  # noqa: E731
    out = ["BEGIN;",
           f"CREATE TABLE IF NOT EXISTS {t} (\n  " + ",\n  ".join(f"{q(c)} {types[c]}".rstrip() for c in cols) + "\n);",
           f"DROP TABLE IF EXISTS temp.{tmpl};",
           f"CREATE TEMP TABLE {tmpl} AS SELECT " + ", ".join(f"{cast(c)} AS {q(c)}" for c in cols) + ";",
           f"DROP TABLE IF EXISTS {new};",
           f"CREATE TABLE {new} AS SELECT * FROM {t} NATURAL LEFT JOIN temp.{tmpl} ORDER BY {t}.rowid;",
           "PRAGMA legacy_alter_table = ON;",  # a user's view on the table must not block the rename
           f"DROP TABLE {t};",
           f"ALTER TABLE {new} RENAME TO {t};",
           "PRAGMA legacy_alter_table = OFF;",
           f"DROP TABLE temp.{tmpl};"]
    for f in flat:
        present = [c for c in cols if c in f]
        out.append(f"INSERT INTO {t} ({', '.join(q(c) for c in present)}) VALUES "
                   f"({', '.join(_sql_value(f[c]) for c in present)});")
    out.append("COMMIT;")
    return "\n".join(out) + "\n"
