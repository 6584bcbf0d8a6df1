"""edgeprof.exporters.pipeline.export: see the modules; nothing is imported here (imported on use)."""
