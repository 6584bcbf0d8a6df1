"""Text written into a Markdown table or a CSV file is neutralised for that format (STYLE rule 17).

Why (issue 21 item 10): names come from files anyone can hand a user — a GGUF's metadata, a
reference set's ``reference.json``, a LocalScore export. A newline in a set name split an ``-o md``
row in two; a model name ``=cmd|' /C calc'!A0`` became a formula when the ``-o csv`` file was
opened in a spreadsheet. Markdown cells get ``|`` escaped and control characters (newlines
included) turned into spaces; CSV text cells starting with ``= + - @``, a tab or a carriage return
get a leading ``'`` (OWASP "CSV injection"), unless the whole cell is a number (``-0.5`` stays).
"""
from __future__ import annotations

import re
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|nan)", re.I)


def md_cell(value: Any) -> str:
    """One Markdown table cell: on one line, with its pipes escaped."""
    text = "" if value is None else str(value)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text.replace("\\|", "|").replace("|", "\\|")


def one_line(value: Any) -> str:
    """Text for a Markdown heading or list item: control characters (newlines) as spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in ("" if value is None else str(value)))


def csv_cell(value: Any) -> Any:
    """One CSV cell: numbers and None as they are; text that a spreadsheet would run as a formula
    gets a leading apostrophe."""
    if not isinstance(value, str) or not value.startswith(_FORMULA_START) or _NUMBER.fullmatch(value.strip()):
        return value
    return "'" + value


def csv_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: csv_cell(v) for k, v in row.items()}
