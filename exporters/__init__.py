"""edgeprof exporters: a model -> deployable quantized artifacts (ONNX, GGUF) with a manifest.

A library on its own: it never imports ``edgeprof`` and imports torch / transformers / optimum /
onnx / onnxruntime / llama_cpp / gguf only inside the functions that need them, so
``import exporters`` is cheap. The CLI calls:

- ``export(source, targets, out_dir, overwrite=..., progress=..., allow_degraded=...)`` (``pipeline.py``):
  builds, scores and gates every artifact (``gate.py``); ``UsageError`` for bad input, else ``ExportError``
- ``parse_targets(["onnx:fp32,int4", "gguf:q4_k_m"])``                (``targets.py``)
- ``list_quants()``                                                    (``gguf.py``)
- ``rebuild_hf_from_gguf(gguf, out_dir, model_id=...)``, ``load_source(dir)`` (``hf_source.py``)
- ``read_manifest(dir)``, ``list_artifacts(dir)``                       (``manifest.py``)
"""
from edgeprof.exporters.errors import ExportError, UsageError
from edgeprof.exporters.gguf.quantize import list_quants
from edgeprof.exporters.source.hf import Source, load_source, rebuild_hf_from_gguf
from edgeprof.exporters.integrity import check_files
from edgeprof.exporters.manifest import list_artifacts, read_manifest
from edgeprof.exporters.pipeline.export import ProgressEvent, export, partial_dir
from edgeprof.exporters.targets import estimate_bytes, parse_targets

__all__ = ["ExportError", "ProgressEvent", "Source", "check_files", "estimate_bytes", "export",
           "list_artifacts", "list_quants", "load_source", "parse_targets", "partial_dir",
           "read_manifest", "rebuild_hf_from_gguf", "UsageError"]
