"""edgeprof.exporters.quality.measure: see the modules; nothing is imported here (imported on use)."""
