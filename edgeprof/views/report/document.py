"""The report as a list of sections (tables, figures, text), rendered two ways: one self-contained
HTML file (CSS inline, every image a ``data:`` URI, no script, nothing fetched — it opens offline on
a board) and Markdown that links ``figures/<name>.png``.

Why one document model: the two outputs must hold the same sections, tables and captions; a
section added to one and forgotten in the other is a bug the tests catch by comparing them.
"""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field

from edgeprof.views.report.tables import Table


@dataclass(frozen=True)
class Figure:
    name: str              # file stem under figures/
    png: bytes
    caption: str
    alt: str = ""


@dataclass(frozen=True)
class Text:
    text: str
    sub: bool = False      # a sub-heading rather than a paragraph


@dataclass
class Section:
    id: str
    title: str
    blocks: list = field(default_factory=list)
    grid: bool = False     # HTML: figures two to a row


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0 auto;max-width:1360px;
padding:0 1.2em 3em;color:#212121;line-height:1.45}
h1{margin:.8em 0 .2em}h2{border-bottom:2px solid #e0e0e0;padding-bottom:.2em;margin-top:1.8em}h3{margin:1.2em 0 .4em}
nav{position:sticky;top:0;background:#fafafa;border-bottom:1px solid #e0e0e0;padding:.4em 0;font-size:.9em;z-index:1}
nav a{margin-right:1em;color:#1565c0;text-decoration:none}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:.78em;margin:.4em 0}
th,td{border:1px solid #e0e0e0;padding:.2em .4em;vertical-align:top}th{background:#f5f5f5;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.est{font-style:italic;color:#6d4c41;background:#fff8e1}.ci{color:#757575;font-size:.92em}td.long{min-width:14em;max-width:26em;overflow-wrap:anywhere}
.grid{display:flex;flex-wrap:wrap;gap:0 1.5%}.grid figure{flex:1 1 48%;min-width:420px}
ul.notes{font-size:.82em;color:#555}figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.85em;color:#555;max-width:60em}.meta{color:#666;font-size:.9em}
"""


def _e(s: str) -> str:
    return html.escape(str(s), quote=True)


def _cell_html(c) -> str:
    """A figure ± its interval on two lines (``172.20`` over ``± 10.08``): a row of ten such
    columns then fits 1,400 px without cutting a number or needing a scrollbar."""
    if c.numeric and " ± " in c.text:
        value, ci = c.text.split(" ± ", 1)
        return f'{_e(value)}<br><span class="ci">± {_e(ci)}</span>'
    return _e(c.text)


def _table_html(t: Table) -> str:
    out = []
    if t.head:
        head = "".join(f"<th>{_e(h)}</th>" for h in t.head)
        body = []
        for row in t.rows:
            cells = []
            for c in row:
                cls = " ".join(x for x in ("num" if c.numeric else "", "est" if c.estimated else "",
                                           "long" if len(c.text) > 60 else "") if x)
                attrs = (f' class="{cls}"' if cls else "") + (
                    ' title="estimated figure; see the provenance appendix"' if c.estimated else "")
                cells.append(f"<td{attrs}>{_cell_html(c)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        out.append(f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
                   f"</table></div>")
    if t.notes:
        out.append('<ul class="notes">' + "".join(f"<li>{_e(n)}</li>" for n in t.notes) + "</ul>")
    return "\n".join(out)


def _block_html(b) -> str:
    if isinstance(b, Table):
        return _table_html(b)
    if isinstance(b, Figure):
        data = base64.b64encode(b.png).decode("ascii")
        return (f'<figure id="fig-{_e(b.name)}"><img alt="{_e(b.alt or b.caption)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{_e(b.caption)}</figcaption></figure>")
    if isinstance(b, Text):
        return f"<h3>{_e(b.text)}</h3>" if b.sub else "".join(f"<p>{_e(p)}</p>" for p in b.text.split("\n\n"))
    raise TypeError(f"unknown block {type(b).__name__}")


def _blocks_html(s: Section) -> str:
    """Blocks in order; in a ``grid`` section consecutive figures sit side by side."""
    out, run = [], []
    for b in s.blocks + [None]:
        if s.grid and isinstance(b, Figure):
            run.append(_block_html(b))
            continue
        if run:
            out.append('<div class="grid">' + "".join(run) + "</div>")
            run = []
        if b is not None:
            out.append(_block_html(b))
    return "\n".join(out)


def to_html(title: str, subtitle: str, sections: list[Section]) -> str:
    nav = "".join(f'<a href="#{_e(s.id)}">{_e(s.title)}</a>' for s in sections)
    body = "\n".join(f'<section id="{_e(s.id)}"><h2>{_e(s.title)}</h2>\n' + _blocks_html(s) + "</section>"
                     for s in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(title)}</title><style>{CSS}</style></head>\n<body><h1>{_e(title)}</h1>"
            f'<p class="meta">{_e(subtitle)}</p><nav>{nav}</nav>\n{body}\n</body></html>\n')


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table_md(t: Table) -> str:
    lines = []
    if t.head:
        lines.append("| " + " | ".join(_md_cell(h) for h in t.head) + " |")
        lines.append("|" + "|".join("---:" if any(r[i].numeric for r in t.rows) else "---"
                                    for i in range(len(t.head))) + "|")
        lines += ["| " + " | ".join(_md_cell(c.text) for c in row) + " |" for row in t.rows]
    if t.notes:
        lines += ([""] if lines else []) + [f"- {n}" for n in t.notes]
    return "\n".join(lines)


def to_markdown(title: str, subtitle: str, sections: list[Section], fig_dir: str = "figures") -> str:
    out = [f"# {title}", "", subtitle, ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        for b in s.blocks:
            if isinstance(b, Table):
                out.append(_table_md(b))
            elif isinstance(b, Figure):
                out.append(f"![{b.alt or b.caption}]({fig_dir}/{b.name}.png)\n\n*{b.caption}*")
            elif isinstance(b, Text):
                out.append(f"### {b.text}" if b.sub else b.text)
            out.append("")
    return "\n".join(out)


def figures_of(sections: list[Section]) -> list[Figure]:
    return [b for s in sections for b in s.blocks if isinstance(b, Figure)]
