"""``edgeprof predict --device`` / ``--require`` behind the command: what MODEL is (bytes read per
token, parameters), the rows the model is fitted on (LocalScore + this machine's history), and a
prediction for one device and power mode or for every device the table knows.

Why the model's size comes from several places: a catalogue id is usually not downloaded (an 8 GB
GGUF pulled only to ask "would it fit a Pi?" is absurd), so its size is, in order, the local file,
the catalogue's published size, the LocalScore set's ``models`` block; each answer names its basis.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from edgeprof.analysis import specs, whatif, whatif_predict
from edgeprof.analysis.whatif_types import DeviceClass, PowerMode, Prediction
from edgeprof.compare import whatif_rows
from edgeprof.compare.setmeta import FileFacts, ModelFacts
from edgeprof.compare.identity import norm
from edgeprof.errors import UsageError, command
from edgeprof.results.schema import Record

WhatIfError = whatif_predict.WhatIfError


class TargetError(UsageError):
    """MODEL names nothing whose size is known (one line with the fix)."""


@dataclass(frozen=True)
class Target:
    """What is being predicted: a model's bytes per decoded token and its parameter count."""
    label: str
    model_name: str
    bytes_per_token: float
    params: float | None
    basis: str
    measured: tuple[Record, ...] = field(default=())  # a run directory's own ok records

    @property
    def flop_per_token(self) -> float | None:
        return 2.0 * self.params if self.params else None


def _localscore_facts(catalogue_id: str) -> tuple[ModelFacts, FileFacts]:
    """What a reference set's ``models`` block states of this catalogue entry's model and file."""
    from edgeprof.compare.refsets import load_sets

    for s in load_sets():
        for m in s.meta.models.values():
            for f in m.files.values():
                if f.catalogue_id == catalogue_id:
                    return m, f
    return ModelFacts(), FileFacts()


def _from_catalogue(arg: str) -> Target:
    from edgeprof.models import catalogue

    entry = catalogue.get(arg)
    model, file = _localscore_facts(entry.id)
    size, basis = entry.size_bytes, "catalogue size_bytes"
    if catalogue.is_present(entry):
        size, basis = catalogue.local_path(entry).stat().st_size, f"the local file {catalogue.local_path(entry)}"
    elif not size and file.size_bytes:
        size, basis = file.size_bytes, file.basis or "LocalScore set's models block"
    elif not size and entry.size:
        size, basis = entry.size, f"published size {entry.size_published}"
    if not size:
        raise TargetError(f"{arg}: its file size is not known here (not downloaded, none published); "
                          f"{command('models', 'pull', arg)} fetches it, or pass a GGUF file")
    params = entry.params or entry.params_approx or model.params
    return Target(arg, entry.name, float(size), float(params) if params else None, f"bytes/token: {basis}")


def _from_file(p: Path) -> Target:
    from edgeprof.models.gguf_meta import GGUFError, read_header

    params = None
    try:
        params = read_header(p)["n_params"] if p.suffix.lower() == ".gguf" else None
    except (GGUFError, OSError):
        params = None
    return Target(str(p), p.stem, float(p.stat().st_size), float(params) if params else None,
                  f"bytes/token: file size of {p}" + ("; parameters from its GGUF tensors" if params else ""))


def _from_run(p: Path) -> Target:
    from edgeprof.results.history import load_run

    recs = tuple(r for r in load_run(p)["records"] if r.ok and r.artifact.size_bytes)
    if not recs:
        raise TargetError(f"{p}: no ok record with an artifact size; bench a model there first")
    r = recs[0]
    return Target(str(p), r.model.name or r.model.id or "?", float(r.artifact.size_bytes),
                  float(r.model.params) if r.model.params else None, f"bytes/token: artifact size of {p}", recs)


def target_of_record(rec: Record) -> Target | None:
    """What a measured record ran, as a what-if target (None without a file size)."""
    if not rec.artifact.size_bytes:
        return None
    name = rec.model.name or rec.model.id or "?"
    return Target(name, name, float(rec.artifact.size_bytes), float(rec.model.params) if rec.model.params else None,
                  "bytes/token: the run's artifact size", (rec,))


def target(arg: str | None) -> Target:
    """MODEL: a catalogue id, a model file or a run directory (None = the catalogue's default)."""
    from edgeprof.models import catalogue

    if arg is None:
        arg = catalogue.load()[0]
    p = Path(arg).expanduser()
    if p.is_dir():
        return _from_run(p)
    if p.is_file():
        return _from_file(p)
    try:
        return _from_catalogue(arg)
    except catalogue.CatalogueError as exc:
        raise TargetError(str(exc)) from None


# --- the fitted model ----------------------------------------------------------------------------

def load_rows(db_path=None, include_history: bool = True) -> whatif_rows.Rows:
    """LocalScore's rows (the packaged set, or the import that refreshes it) and this machine's."""
    from edgeprof.compare.refsets import load_sets, matching_sets

    table = specs.load_table()
    out = whatif_rows.Rows()
    for s in matching_sets(load_sets()):
        if s.meta.importer == "localscore":
            subs = s.submissions()  # an import's stored columns: its rows are not parsed again
            whatif_rows.localscore_rows(subs, table, out)
            out.sources.append(f"reference set {s.name} ({len(subs)} rows, {s.verification})")
    if include_history:
        from edgeprof.results.history import all_records

        try:
            recs = all_records(db_path)
        except Exception as exc:  # noqa: BLE001 - a broken history must not stop a prediction; said below
            out.sources.append(f"history not read ({type(exc).__name__}: {str(exc)[:80]})")
            recs = []
        n0 = len(out.rows)
        whatif_rows.own_rows(recs, lambda dev: specs.device_spec(dev, table=table), out)
        k = len(out.rows) - n0
        out.sources.append(f"this machine's history ({k} row{'' if k == 1 else 's'})")
    return out


@lru_cache(maxsize=4)
def _fitted(db_key: str | None, include_history: bool) -> tuple[whatif.WhatIfModel, whatif_rows.Rows]:
    rows = load_rows(db_key, include_history)
    return whatif.fit_model(rows.classes, rows.rows), rows


def fitted(db_path=None, include_history: bool = True) -> tuple[whatif.WhatIfModel, whatif_rows.Rows]:
    return _fitted(str(db_path) if db_path else None, include_history)


def reference_mode(device_id: str) -> PowerMode | None:
    """The mode the class's published peaks (and so its fit) stand for: the fastest one."""
    modes = specs.power_modes(device_id)
    if not modes:
        return None
    return max(modes, key=lambda m: (m.bandwidth_gbs or 0, m.gpu_max_mhz or 0, m.cpu_max_mhz or 0))


def device_of(query: str) -> DeviceClass:
    try:
        return specs.device_class(specs.resolve_device(query))
    except specs.DeviceIdError as exc:
        raise WhatIfError(str(exc)) from None


def predict_one(device: DeviceClass, mode_name: str | None, tgt: Target, prompt: int, gen: int,
                level: float = 0.8, db_path=None, model: whatif.WhatIfModel | None = None) -> Prediction:
    try:
        mode = specs.pick_mode(device.spec_id or device.id, mode_name)
    except specs.DeviceIdError as exc:
        raise WhatIfError(str(exc)) from None
    m = model or fitted(db_path)[0]
    return whatif_predict.predict(m, device, bytes_per_token=tgt.bytes_per_token, flop_per_token=tgt.flop_per_token,
                                  prompt_tokens=prompt, gen_tokens=gen, level=level, mode=mode,
                                  ref_mode=reference_mode(device.spec_id or device.id))


def predict_everywhere(tgt: Target, prompt: int, gen: int, level: float = 0.8, db_path=None,
                       kinds: Iterable[str] | None = None) -> list[Prediction]:
    """Every device of the table (each power mode of a Jetson) that the model can speak for."""
    model = fitted(db_path)[0]
    out = []
    for row in specs.load_table():
        if kinds and row.kind not in kinds:
            continue
        dev = specs.device_class(row)
        if not dev.bandwidth_gbs and dev.id not in model.fits:
            continue
        ref = reference_mode(row.id)
        for m in (specs.power_modes(row.id) or [None]):
            try:
                out.append(whatif_predict.predict(model, dev, bytes_per_token=tgt.bytes_per_token,
                                                  flop_per_token=tgt.flop_per_token, prompt_tokens=prompt,
                                                  gen_tokens=gen, level=level, mode=m, ref_mode=ref))
            except WhatIfError:
                continue
    return out


def same_model_rows(tgt: Target, rows: whatif_rows.Rows, class_id: str) -> list:
    """Measured rows of this class for this very model (by name), to show beside the prediction."""
    key = norm(tgt.model_name)
    return [r for r in rows.rows if r.class_id == class_id and norm(r.model) == key]
