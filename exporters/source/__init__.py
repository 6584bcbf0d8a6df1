"""exporters.source: see the modules; nothing is imported here (imported on use)."""
