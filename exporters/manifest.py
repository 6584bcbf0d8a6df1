"""``manifest.json`` and the deployer ``README.md`` of an export directory; reading them back.

The manifest is the evidence a deployer needs and the bench's list of what to run: for each
artifact its format, quant, files (size + sha256), main file, compression rate against the 16-bit
baseline, quality figures, tool versions, export wall time and peak memory. Paths inside are
relative to the export directory so the directory can be moved or copied to a device.

``compression_rate`` = (params x 2 bytes) / (all files of the artifact). The 16-bit baseline is
computed from the parameter count, not from an f16 artifact, so it exists for every export and is
the same for ONNX and GGUF; ``compression_basis`` says so in every entry. It is a size ratio only
(CONTRACTS.md); ``mcr`` multiplies it by ``quality.quality_retention`` when quality was measured.

``quality_status`` is the quality gate's verdict (``gate.py``): ``ok``, ``degraded`` (kept only with
``--allow-degraded``; the README flags it) or ``unchecked`` (``--no-quality``); ``quality_gate``
holds the limits it was held to and what failed.

It is written LAST, inside the build directory, just before that directory is renamed into place:
a directory with a manifest is a finished export.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import ExportError
from .files import file_entries, fsync_dir

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
README = "README.md"
COMPRESSION_BASIS = "params x 2 bytes (16-bit equivalent of the source)"
RUNTIMES = {"onnx": "onnxruntime", "gguf": "llama.cpp", "hf": "torch"}


def artifact_entry(export_dir: Path, rel_dir: str, fmt: str, quant: str, *, main_file: str,
                   params: int, scheme: dict | None = None, quality: dict | None = None,
                   export: dict | None = None, verify: dict | None = None, gate: dict | None = None) -> dict[str, Any]:
    """One artifact's manifest entry, hashing its files now (the bytes that will be renamed into place)."""
    files = file_entries(export_dir / rel_dir)
    size = sum(f["size_bytes"] for f in files)
    main = next((f for f in files if f["name"] == main_file), None)
    if main is None:
        raise ExportError(f"artifact {rel_dir} has no main file {main_file}")
    entry = {"name": rel_dir, "path": rel_dir, "format": fmt, "quant": quant, "scheme": scheme or {},
             "runtime": RUNTIMES[fmt], "main_file": f"{rel_dir}/{main_file}", "sha256": main["sha256"],
             "size_bytes": size, "files": files,
             "compression_rate": round(params * 2 / size, 4) if size else None,
             "compression_basis": COMPRESSION_BASIS, "quality": quality,
             "quality_status": (gate or {}).get("status", "unchecked"), "quality_gate": gate,
             "export": export or {}, "verify": verify or {}}
    if quality and quality.get("quality_retention") is not None and entry["compression_rate"]:
        entry["mcr"] = round(entry["compression_rate"] * quality["quality_retention"], 4)
    return entry


def build_manifest(*, source: dict, artifacts: list[dict], tool_versions: dict, export: dict,
                   quality_method: dict | None = None, model_name: str | None = None) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "edgeprof-export",
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"id": source["model_id"], "name": model_name or source["model_id"],
                  "params": source["params"]},
        "source": source,
        "baseline": {"label": source["baseline_label"], "size_16bit_bytes": source["params"] * 2,
                     "basis": COMPRESSION_BASIS},
        "quality_method": quality_method,
        "tool_versions": tool_versions,
        "export": export,
        "artifacts": artifacts,
    }


def write_manifest(export_dir: Path, manifest: dict) -> Path:
    """Write README.md then manifest.json (fsynced, via rename): the manifest is the 'done' mark."""
    (export_dir / README).write_text(render_readme(manifest))
    tmp = export_dir / f".{MANIFEST}.tmp"
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, export_dir / MANIFEST)
    fsync_dir(export_dir)
    return export_dir / MANIFEST


def read_manifest(export_dir: str | Path) -> dict[str, Any]:
    """The manifest of an export directory; a one-line error when absent, corrupt or too new."""
    path = Path(export_dir) / MANIFEST
    if not path.is_file():
        raise ExportError(f"{export_dir} has no {MANIFEST}: not a finished edgeprof export")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ExportError(f"{path} is not valid JSON ({err.msg} at line {err.lineno})") from err
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ExportError(f"{path} has schema_version {version!r}; this edgeprof reads {SCHEMA_VERSION}")
    return data


def list_artifacts(export_dir: str | Path) -> list[dict[str, Any]]:
    """What a bench needs per artifact: absolute path of the main file plus the manifest figures."""
    root = Path(export_dir).resolve()
    m = read_manifest(root)
    out = []
    for a in m["artifacts"]:
        out.append({"path": str(root / a["main_file"]), "dir": str(root / a["path"]),
                    "format": a["format"], "quant": a["quant"], "size_bytes": a["size_bytes"],
                    "sha256": a["sha256"], "files": [f["name"] for f in a["files"]],
                    "quality": a.get("quality"), "quality_status": a.get("quality_status", "unchecked"),
                    "quality_gate": a.get("quality_gate"), "compression_rate": a.get("compression_rate"),
                    "mcr": a.get("mcr"), "model_id": m["model"]["id"], "params": m["model"]["params"],
                    "baseline_label": m["baseline"]["label"]})
    return out


def check_files(export_dir: str | Path, *, rehash: bool = False) -> list[str]:
    """Problems with the files an export lists (missing, wrong size, wrong hash); empty when intact."""
    from .files import sha256_file

    root = Path(export_dir)
    problems = []
    for a in read_manifest(root)["artifacts"]:
        for f in a["files"]:
            p = root / a["path"] / f["name"]
            if not p.is_file():
                problems.append(f"{p} is missing")
            elif p.stat().st_size != f["size_bytes"]:
                problems.append(f"{p} has {p.stat().st_size} bytes, manifest says {f['size_bytes']}")
            elif rehash and sha256_file(p) != f["sha256"]:
                problems.append(f"{p} does not match its sha256")
    return problems


def _snippet(a: dict) -> str:
    main = a["main_file"]
    if a["format"] == "gguf":
        return (f"    llama-cli -m {main} -p 'Hello' -n 64\n"
                f"    python -c \"import llama_cpp; llm = llama_cpp.Llama('{main}'); "
                f"print(llm('Hello', max_tokens=32)['choices'][0]['text'])\"")
    return (f"    python -c \"import onnxruntime as ort; s = ort.InferenceSession('{main}'); "
            f"print([i.name for i in s.get_inputs()])\"\n"
            f"    # inputs: input_ids, attention_mask, position_ids (optimum graphs only), past_key_values.N.key/value "
            f"(fp32, [1, kv_heads, past, head_dim]); outputs: logits, present.N.key/value")


def render_readme(m: dict) -> str:
    """A short deployer README: what each artifact is and how to load it."""
    lines = [f"# {m['model']['name']}: exported artifacts", "",
             f"Source: `{m['source']['path']}` ({m['baseline']['label']}), "
             f"{m['model']['params']:,} parameters, weights sha256 `{m['source']['weights_sha256'][:16]}…`.",
             f"Compression rate = {COMPRESSION_BASIS} ÷ artifact size. Quality: perplexity on the "
             f"bundled evaluation text (lower is better) next to the baseline's, and greedy-token "
             f"agreement with the baseline.", "",
             "| artifact | format | quant | size (MB) | compression | perplexity | greedy agreement | quality |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for a in m["artifacts"]:
        q = a.get("quality") or {}
        ppl = f"{q['perplexity']:.3f}" if q.get("perplexity") is not None else "n/a"
        agree = f"{q['greedy_agreement']:.3f}" if q.get("greedy_agreement") is not None else "n/a"
        status = a.get("quality_status", "unchecked")
        lines.append(f"| `{a['path']}` | {a['format']} | {a['quant']} | {a['size_bytes'] / 1e6:.1f} | "
                     f"{a['compression_rate']:.2f}× | {ppl} | {agree} | {'**DEGRADED**' if status == 'degraded' else status} |")
    bad = [a for a in m["artifacts"] if a.get("quality_status") == "degraded"]
    if bad:
        lines += ["", "**Warning: degraded artifacts.** These failed the quality gate and were kept only because "
                  "the export was run with `--allow-degraded`; do not deploy them without checking:", ""]
        lines += [f"- `{a['path']}`: {'; '.join((a.get('quality_gate') or {}).get('failures') or [])}" for a in bad]
    lines += ["", "Quality gate: each artifact's perplexity ratio and greedy agreement must stay within the limits "
              "of its precision tier (`quality_method.gate` in `manifest.json`).", "", "## Loading", ""]
    for a in m["artifacts"]:
        lines += [f"**{a['path']}** ({a['runtime']}); every file it needs is inside its directory:", "",
                  _snippet(a), ""]
    lines += ["The ONNX files keep fp32 inputs/outputs for every scheme (fp16 casts inside the graph), "
              "so one InferenceSession loop with a KV cache runs them all. `manifest.json` lists every "
              "file with its sha256; `edgeprof bench <this directory>` benches all artifacts.", ""]
    return "\n".join(lines)
