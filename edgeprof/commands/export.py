"""``edgeprof export SOURCE --to onnx:fp16,int8,int4 --to gguf:q8_0,q4_k_m --out DIR``.

Every artifact passes the quality gate (``exporters/gate.py``) or the export fails with the
figures; ``--allow-degraded`` keeps such an artifact, labelled ``degraded`` in the manifest, the
export README and this command's table."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgeprof.exporters.manifest import ExportManifest

HELP = "export an HF model to quantized ONNX and GGUF artifacts with a manifest (sizes, hashes, quality)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", nargs="?", help="HF model directory (safetensors) or catalogue id "
                                             "(e.g. smollm2-135m-instruct-hf)")
    p.add_argument("--to", action="append", default=None, metavar="FMT:SCHEMES",
                   help="onnx:fp32,fp16,int8,int4,int4-q,int4-rtn and/or gguf:f16,q8_0,q6_k,q5_k_m,q4_k_m,q4_0,"
                        "iq4_xs,... (repeatable; --list-quants lists all)")
    p.add_argument("--out", type=Path, default=None, help="export directory (default ./exports/<model>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing export directory")
    p.add_argument("--list-quants", action="store_true", help="list the supported schemes and exit")
    p.add_argument("--block-size", type=int, default=32, help="weights per block of the ONNX int8/int4 schemes (default 32)")
    p.add_argument("--no-quality", action="store_true", help="skip perplexity / agreement measurement "
                                                             "(and so the quality gate: artifacts are 'unchecked')")
    p.add_argument("--allow-degraded", action="store_true",
                   help="keep an artifact that fails the quality gate, labelled 'degraded' (default: the export fails)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="export steps run side by side (default: 2 with >= 2 cores and enough memory, else 1)")
    p.add_argument("--allow-pickle", action="store_true", help="accept pickle (.bin) checkpoints (they can run code)")
    p.add_argument("--trust-remote-code", action="store_true", help="allow model code from the source directory")
    p.add_argument("-o", "--format", choices=("md", "json"), default="md")


def run(args) -> int:
    def note(msg: str) -> None:
        print(f"edgeprof: {msg}", file=sys.stderr, flush=True)

    from edgeprof.exporters import ExportError, UsageError, export, list_quants
    from edgeprof.exporters.manifest import load_manifest
    from edgeprof.exporters.onnx.schemes import SCHEMES

    from edgeprof.errors import UsageError as EdgeprofUsage
    from edgeprof.errors import check_writable
    from edgeprof.models.catalogue import CatalogueError
    from edgeprof.models.exporting import (MANIFEST_COLUMNS, converter_cache, download_cache, manifest_rows,
                                           progress_printer, resolve_source)

    if args.list_quants:
        print("onnx: " + ", ".join(SCHEMES) + "\ngguf: " + ", ".join(list_quants()))
        return 0
    if args.jobs is not None and args.jobs < 1:
        print(f"edgeprof export: error: --jobs must be >= 1, got {args.jobs}", file=sys.stderr)
        return 2
    if not args.source or not args.to:
        print("edgeprof export: error: give a SOURCE and at least one --to (see 'edgeprof export --help')",
              file=sys.stderr)
        return 2
    try:
        if args.out:  # a bad --out is found before a catalogue model is prepared or anything is read
            check_writable(args.out, named=f"--out {args.out}")
        src = resolve_source(args.source, note)
        out = args.out or Path("exports") / src.name
        check_writable(out, named=f"--out {out}")
        from edgeprof.exporters.pipeline import encoder

        if encoder.is_encoder(src):  # not a causal LM: ONNX schemes gated by the task's own measure
            encoder.export_encoder(src, args.to, out, overwrite=args.overwrite, quality=not args.no_quality,
                                   allow_degraded=args.allow_degraded, note=note)
            return _print_encoder(load_manifest(out), out, args.format)
        export(src, args.to, out, overwrite=args.overwrite, progress=progress_printer(note),
               converter_cache=converter_cache(), download_cache=download_cache(), jobs=args.jobs,
               quality=not args.no_quality, allow_degraded=args.allow_degraded, block_size=args.block_size,
               allow_pickle=args.allow_pickle, trust_remote_code=args.trust_remote_code)
        m = load_manifest(out)
    except (UsageError, CatalogueError, EdgeprofUsage) as exc:  # found before anything was written
        print(f"edgeprof export: error: {exc}", file=sys.stderr)
        return 2
    except ExportError as exc:  # a step failed or an artifact failed the quality gate
        print(f"edgeprof export: error: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        print(json.dumps(m.raw, indent=2))
        return 0
    print(f"export of {m.model_id} ({m.baseline_label}) -> {out}\n")
    print("| " + " | ".join(MANIFEST_COLUMNS) + " |")
    print("|" + "|".join("---:" if c in ("size MiB", "compression", "perplexity", "retention", "greedy agreement")
                         else "---" for c in MANIFEST_COLUMNS) + "|")
    for row in manifest_rows(m):
        print("| " + " | ".join(row) + " |")
    print(f"\ncompression = the source's 16-bit size ({m.baseline_basis}) / the artifact's size; retention = "
          f"the baseline's perplexity / the artifact's (same text); greedy agreement = share of the baseline's "
          f"greedy tokens the artifact also picks; quality = the export's gate (ok, DEGRADED, unchecked)")
    print(f"manifest: {out}/manifest.json; how to load: {out}/README.md")
    from edgeprof.compare.recommend import for_manifest, markdown

    advice = markdown(for_manifest(m, str(out)))
    if advice:
        print("\n" + "\n".join(advice))
    return 0


def _print_encoder(m: ExportManifest, out: Path, fmt: str) -> int:
    """The table of an encoder export: each artifact's size, compression and quality by its task's measure."""
    from edgeprof.exporters.pipeline.encoder import rows

    if fmt == "json":
        print(json.dumps(m.raw, indent=2))
        return 0
    print(f"export of {m.model_id} ({m.architecture}, {m.task}) -> {out}\n")
    print("| artifact | quant | size MiB | compression | quality | gate |\n|---|---|---:|---:|---|---|")
    for r in rows(m.raw):
        print("| " + " | ".join(r) + " |")
    print(f"\nquality = {m.quality_how}, on {m.quality_eval} (reference: {m.quality_reference}); gate limits per "
          f"scheme in manifest.json quality_method.limits")
    print(f"manifest: {out}/manifest.json; how to load: {out}/README.md")
    return 0
