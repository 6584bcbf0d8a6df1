"""edgeprof.exporters.gguf.quantize: see the modules; nothing is imported here (imported on use)."""
