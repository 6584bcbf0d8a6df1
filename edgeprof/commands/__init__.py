"""One module per subcommand: ``HELP``, ``add_arguments(parser)``, ``run(args) -> exit code``.
Module tops import only the standard library (``edgeprof --help`` imports them all)."""
