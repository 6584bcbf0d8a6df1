"""``export_encoder()``: a model that is not a causal LM → ONNX fp32 / fp16 / int8 / int8-static
artifacts, each measured against the source and held to the gate its task calls for, and the
manifest saying which measure was used.

Like the decoder pipeline (``export.py``) it builds everything in ``.<out>.partial`` beside the
target and renames it into place only once the manifest is written, so an interrupted export or
one that fails its gate never leaves a directory that looks finished. It is far lighter (one
graph, no KV cache, seconds per scheme on a small encoder), so it runs in this process, in order.
The reference outputs are the source's own, in PyTorch fp32, on inputs the calibration never saw.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from edgeprof.exporters.errors import ExportError, UsageError
from edgeprof.exporters.files import fsync_dir, tool_versions
from edgeprof.exporters.manifest import artifact_entry, build_manifest, write_manifest
from edgeprof.exporters.onnx.encoder import SCHEMES, TASK_OUTPUTS, convert, export_fp32, model_kind
from edgeprof.exporters.quality import encoder as q
from edgeprof.exporters.source.hf import load_source

IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))
METHOD = {"cosine_similarity": "cosine similarity of mean-pooled sentence embeddings to the source's",
          "top1_agreement": "top-1 agreement with the source's class on the bundled image set",
          "max_abs_error": "maximum absolute error of the first output, relative to the source's largest value"}


def is_encoder(src: Path) -> bool:
    """Whether ``src`` (an HF directory) is a model this pipeline exports (not a causal LM)."""
    try:
        return model_kind(Path(src))[2] != "generate"
    except (OSError, ValueError, KeyError):
        return False


def parse_schemes(to: list[str]) -> list[str]:
    out = []
    for spec in to:
        fmt, _, schemes = spec.partition(":")
        if fmt != "onnx":
            raise UsageError(f"--to {spec}: models that are not causal LMs export to ONNX only (onnx:{','.join(SCHEMES)})")
        for s in filter(None, (x.strip() for x in schemes.split(","))):
            if s not in SCHEMES:
                raise UsageError(f"--to {spec}: unknown scheme {s!r} for this model; use {', '.join(SCHEMES)}")
            out.append(s) if s not in out else None
    if not out:
        raise UsageError(f"--to needs at least one scheme, e.g. onnx:int8 ({', '.join(SCHEMES)})")
    return out


def _sets(src: Path, modality: str) -> tuple[q.EvalSet, list[dict[str, Any]], str]:
    """(evaluation set, calibration feeds, what the calibration is): never the same inputs."""
    import numpy as np

    cfg = json.loads((src / "config.json").read_text())
    if modality == "text":
        if not (src / "tokenizer.json").is_file():
            raise UsageError(f"{src} has no tokenizer.json; the quality check and calibration need the model's tokenizer")
        names = ["input_ids", "attention_mask"] + (["token_type_ids"] if cfg.get("type_vocab_size") else [])
        ev = q.text_set(src, names, 24)
        cal = q.text_set(src, names, 16, skip=40)
        return ev, cal.feeds, cal.what.replace("sentences", "other sentences")
    pre = json.loads((src / "preprocessor_config.json").read_text()) if (src / "preprocessor_config.json").is_file() else {}
    size = cfg.get("image_size") or (pre.get("size") or {}).get("height") or 224
    size = tuple(size) if isinstance(size, list) else (int(size), int(size))
    ev = q.image_set(size, pre.get("image_mean") or IMAGENET[0], pre.get("image_std") or IMAGENET[1])
    cal = [{k: np.ascontiguousarray(v[..., ::-1]) for k, v in f.items()} for f in ev.feeds]
    return ev, cal, f"the {len(cal)} bundled images mirrored left-right"


def _reference(src: Path, feeds: list[dict[str, Any]], task: str) -> list[Any]:
    import torch
    import transformers

    arch, _, _ = model_kind(src)
    model = (getattr(transformers, arch, None) or transformers.AutoModel).from_pretrained(
        str(src), use_safetensors=True, trust_remote_code=False).eval()
    name = (TASK_OUTPUTS.get(task) or ("last_hidden_state",))[0]
    with torch.no_grad():
        return [model(**{k: torch.from_numpy(v) for k, v in f.items()})[name].numpy() for f in feeds]


def export_encoder(src: Path, to: list[str], out: Path, *, overwrite: bool = False, quality: bool = True,
                   allow_degraded: bool = False, note: Callable[[str], None] = lambda s: None) -> Path:
    """Export ``src`` to the ONNX schemes in ``to`` (``["onnx:fp32,int8"]``) into ``out``."""
    schemes = parse_schemes(to)
    source = load_source(Path(src))
    arch, modality, task = model_kind(source.path)
    if out.exists() and not overwrite:
        raise UsageError(f"{out} exists; pass --overwrite to replace it")
    build = out.parent / f".{out.name}.partial"
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    ev, cal, cal_what = _sets(source.path, modality)
    t0 = time.monotonic()
    note(f"exporting {source.model_id} ({arch}, {task}) to ONNX fp32")
    fp32 = export_fp32(source.path, build / "onnx-fp32", ev.feeds[0], task)
    ref = _reference(source.path, ev.feeds, task) if quality else None
    entries, failed = [], []
    for scheme in schemes:
        t1 = time.monotonic()
        note(f"onnx:{scheme}: converting" + (f" (calibrating on {cal_what})" if scheme == "int8-static" else ""))
        path = fp32 if scheme == "fp32" else convert(fp32, scheme, build / f"onnx-{scheme}", cal)
        figures = q.measure(task, ref, q.run_onnx(path, ev.feeds), ev.masks) if ref is not None else None
        gate = q.judge(scheme, figures)
        if gate["status"] == "degraded":
            failed.append(f"onnx:{scheme}: {'; '.join(gate['failures'])}")
        note(f"onnx:{scheme}: {gate['status']}" + (f" ({_figure(figures)})" if figures else ""))
        entries.append(artifact_entry(build, f"onnx-{scheme}", "onnx", scheme, main_file="model.onnx",
                                      params=source.params, quality=figures, gate=gate,
                                      scheme={"kind": scheme, "calibration": cal_what if scheme == "int8-static" else None},
                                      export={"wall_s": round(time.monotonic() - t1, 3)}))
    if failed and not allow_degraded:
        raise ExportError(f"quality gate failed — {failed[0]}; the export was not written (pass --allow-degraded to "
                          f"keep it labelled DEGRADED)")
    if "fp32" not in schemes:
        shutil.rmtree(build / "onnx-fp32")
    metric = next((e["quality"]["metric"] for e in entries if e.get("quality")), None)
    manifest = build_manifest(source=source.to_manifest(), artifacts=entries, tool_versions=tool_versions(),
                              export={"wall_s": round(time.monotonic() - t0, 3), "pipeline": "encoder"},
                              quality_method={"kind": "encoder", "task": task, "metric": metric,
                                              "how": METHOD.get(metric or "", "not measured (--no-quality)"),
                                              "eval": ev.what, "reference": "the source in PyTorch fp32",
                                              "calibration": cal_what, "limits": q.LIMITS},
                              model_name=source.model_id)
    manifest["model"].update({"kind": "inference", "task": task, "architecture": arch, "modality": modality})
    write_manifest(build, manifest)
    (build / "README.md").write_text(readme(manifest))
    if out.exists():
        shutil.rmtree(out)
    build.rename(out)
    fsync_dir(out.parent)
    return out


def _figure(f: dict[str, Any]) -> str:
    return {"cosine_similarity": lambda: f"cosine mean {f['mean_cosine']:.4f}, min {f['min_cosine']:.4f}",
            "top1_agreement": lambda: f"top-1 agreement {f['top1_agreement']:.3f}",
            "max_abs_error": lambda: f"max abs error {f['max_abs_error']:.3g} ({f['relative_error']:.2g} relative)"
            }[f["metric"]]()


def rows(m: dict[str, Any]) -> list[list[str]]:
    """The command's table: artifact, quant, size, compression, quality figure, gate."""
    return [[a["path"], a["quant"], f"{a['size_bytes'] / 2**20:.1f}", f"{a['compression_rate']:.2f}",
             _figure(a["quality"]) if a.get("quality") else "n/a",
             "DEGRADED" if a["quality_status"] == "degraded" else a["quality_status"]] for a in m["artifacts"]]


def readme(m: dict[str, Any]) -> str:
    qm = m.get("quality_method") or {}
    lines = [f"# {m['model']['name']}: exported ONNX artifacts ({m['model'].get('task')})", "",
             f"Source: `{m['source']['path']}`, {m['model']['params']:,} parameters. Quality: {qm.get('how')} "
             f"on {qm.get('eval')}; reference: {qm.get('reference')}.", "",
             "| artifact | quant | size MiB | compression | quality | gate |", "|---|---|---:|---:|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows(m)]
    lines += ["", "Each directory holds model.onnx with the model's tokenizer / preprocessor files beside it. "
              "`edgeprof bench <this directory> --batch 1,8` benches every artifact.", ""]
    return "\n".join(lines)
