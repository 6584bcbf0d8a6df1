"""``edgeprof report``: runs rendered as an offline HTML file and Markdown with PNG figures
(``build.build_report``), or as terminal charts (``terminal.render``)."""
