"""The TUI's widgets: the panels and charts screens are built from (screens live in ``screens/``).

Every text panel is a :class:`quiet.Quiet` (repaints only when its content changed); charts draw
binned event history through ``plot``; ``results`` is the results table; ``fittable`` chooses the
columns that fit the terminal."""
