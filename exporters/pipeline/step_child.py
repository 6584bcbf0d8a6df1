"""Child side of ``steps.run_python_step``: ``python -m edgeprof.exporters.pipeline.step_child SPEC.json``.

Kept apart from ``steps.py`` (which the package imports) so ``-m`` runs a module that is not
already in ``sys.modules``. It imports the named function, calls it with the JSON kwargs and
writes ``{"ok", "value" | "kind", "error"}`` to the result path, so an ``ExportError`` crosses the
process boundary with its one-line message intact.
"""
from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from pathlib import Path

from edgeprof.exporters.errors import ExportError


def main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    result_path = Path(spec["result"])
    try:
        module, _, attr = spec["func"].partition(":")
        value = getattr(importlib.import_module(module), attr)(**spec["kwargs"])
        payload = {"ok": True, "value": value if isinstance(value, (dict, list, str, int, float, type(None)))
                   else str(value)}
        code = 0
    except ExportError as err:
        payload, code = {"ok": False, "kind": "ExportError", "error": str(err)}, 2
    except Exception as err:  # reported to the parent with the traceback in the log
        traceback.print_exc()
        payload, code = {"ok": False, "kind": type(err).__name__,
                         "error": f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"}, 1
    tmp = result_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, result_path)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
