"""``build_report(run_dirs, out_dir)``: read the runs, build the sections, write ``report.html`` (one
self-contained file), ``report.md`` and ``figures/*.png``.

Why files are written last and atomically: a report is rebuilt often (after every bench); a reader
who opens report.html while it is being rebuilt should see the old one or the new one, never half.
An existing report is replaced only with ``overwrite`` (CONTRACTS "CLI conventions").
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from edgeprof import __version__
from edgeprof.errors import FaultError, UsageError, check_writable, os_fault
from edgeprof.views.report.data import case_views, open_run
from edgeprof.views.report.document import figures_of, to_html, to_markdown
from edgeprof.views.report.sections import all_sections

OUTPUTS = ("report.html", "report.md")
FIGURE_PREFIXES = ("pareto-", "trace-", "tokens-", "distributions", "roofline", "elsewhere-")


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    markdown: Path
    figures: tuple[Path, ...]
    sections: tuple[str, ...]
    notes: tuple[str, ...] = ()   # an interrupted run's INCOMPLETE line (also in the subtitle)


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as exc:  # a full disk mid-report: no half file is left behind
        tmp.unlink(missing_ok=True)
        raise os_fault(path, exc, fix="choose another --out") from None


def check_out(out_dir: Path, overwrite: bool) -> None:
    """Refuse to replace an existing report without ``overwrite`` (exit 2, nothing written)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--out {out_dir} is a file; give a directory")
    existing = [n for n in OUTPUTS if (out_dir / n).exists()]
    if existing and not overwrite:
        raise UsageError(f"{out_dir} already holds {', '.join(existing)}; pass --overwrite to replace it, or "
                         f"choose another --out")
    check_writable(out_dir, named=f"--out {out_dir}")  # read-only, /proc, a file above it: before any work


def build_report(run_dirs: list[str | Path], out_dir: str | Path, overwrite: bool = False,
                 all_figures: bool = False) -> ReportFiles:
    """The report of ``run_dirs`` in ``out_dir``; ``all_figures``: a trace and token figure for every
    case (by default a large run draws ``sections.CASE_FIGURES``, one per configuration first)."""
    out = Path(out_dir)
    check_out(out, overwrite)
    runs = [open_run(d) for d in run_dirs]
    cases = case_views(runs)
    sections = all_sections(runs, cases, all_figures)
    names = ", ".join(r.run_id for r in runs)
    title = f"edgeprof report — {names}" if len(runs) < 4 else f"edgeprof report — {len(runs)} runs"
    subtitle = (f"{len(cases)} case(s) from {', '.join(str(r.dir) for r in runs)}; made by edgeprof {__version__} "
                f"with 'edgeprof report'. Estimated figures are marked ~.")
    notes = tuple(n for n in (r.missing_note() for r in runs) if n)
    subtitle += "".join(f" {n}" for n in notes)
    try:
        (out / "figures").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FaultError(f"cannot create {out}/figures: {exc.strerror or exc}; choose another --out") from None
    figs = figures_of(sections)
    for old in (out / "figures").glob("*.png"):  # our figures of an earlier report of other cases
        if old.stem.startswith(FIGURE_PREFIXES) and old.stem not in {f.name for f in figs}:
            old.unlink()
    paths = []
    for f in figs:
        paths.append(out / "figures" / f"{f.name}.png")
        _write(paths[-1], f.png)
    _write(out / "report.md", to_markdown(title, subtitle, sections).encode())
    _write(out / "report.html", to_html(title, subtitle, sections).encode())
    return ReportFiles(out / "report.html", out / "report.md", tuple(paths), tuple(s.id for s in sections), notes)
