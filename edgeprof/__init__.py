"""edgeprof: HOW a model is measured and shown — runtimes, bench engine, metrics, reference,
result sinks, CLI and TUI. Imports ``devices`` and ``exporters``; never the reverse.

Importing this package is cheap: heavy libraries are imported inside the code that needs them.
"""
__version__ = "0.1.0"
