"""edgeprof.exporters.onnx.schemes: see the modules; nothing is imported here (imported on use)."""
