"""``edgeprof export SOURCE --to onnx:fp32,fp16,int8,int4 --to gguf:f16,q8_0,q4_k_m --out DIR``."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "export an HF model to quantized ONNX and GGUF artifacts with a manifest (sizes, hashes, quality)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("source", nargs="?", help="HF model directory (safetensors) or catalogue id "
                                             "(e.g. smollm2-135m-instruct-hf)")
    p.add_argument("--to", action="append", default=None, metavar="FMT:SCHEMES",
                   help="onnx:fp32,fp16,int8,int4 and/or gguf:f16,q8_0,q4_0,q4_k_m,... (repeatable)")
    p.add_argument("--out", type=Path, default=None, help="export directory (default ./exports/<model>)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing export directory")
    p.add_argument("--list-quants", action="store_true", help="list the supported schemes and exit")
    p.add_argument("--block-size", type=int, default=32, help="int4 MatMulNBits block size (default 32)")
    p.add_argument("--no-quality", action="store_true", help="skip perplexity / agreement measurement")
    p.add_argument("--allow-pickle", action="store_true", help="accept pickle (.bin) checkpoints (they can run code)")
    p.add_argument("--trust-remote-code", action="store_true", help="allow model code from the source directory")
    p.add_argument("-o", "--format", choices=("md", "json"), default="md")


def run(args) -> int:
    def note(msg: str) -> None:
        print(f"edgeprof: {msg}", file=sys.stderr, flush=True)

    from exporters import ExportError, export, list_quants, read_manifest

    from edgeprof.models.catalogue import CatalogueError
    from edgeprof.models.exporting import (MANIFEST_COLUMNS, converter_cache, manifest_rows, progress_printer,
                                           resolve_source)

    if args.list_quants:
        print("onnx: fp32, fp16, int8, int4\ngguf: " + ", ".join(list_quants()))
        return 0
    if not args.source or not args.to:
        print("edgeprof export: error: give a SOURCE and at least one --to (see 'edgeprof export --help')",
              file=sys.stderr)
        return 2
    try:
        src = resolve_source(args.source, note)
        out = args.out or Path("exports") / src.name
        export(src, args.to, out, overwrite=args.overwrite, progress=progress_printer(note),
               converter_cache=converter_cache(),
               quality=not args.no_quality, block_size=args.block_size, allow_pickle=args.allow_pickle,
               trust_remote_code=args.trust_remote_code)
        m = read_manifest(out)
    except (ExportError, CatalogueError) as exc:
        print(f"edgeprof export: error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        print(json.dumps(m, indent=2))
        return 0
    print(f"export of {m['model']['id']} ({m['baseline']['label']}) -> {out}\n")
    print("| " + " | ".join(MANIFEST_COLUMNS) + " |")
    print("|---|---|---|---:|---:|---:|---:|---:|---|")
    for row in manifest_rows(m):
        print("| " + " | ".join(row) + " |")
    print(f"\ncompression basis: {m['baseline']['basis']}; manifest: {out}/manifest.json; how to load: {out}/README.md")
    return 0
