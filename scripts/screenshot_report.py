"""Screenshot an edgeprof report with headless Chromium, offline, as a new user would see it.

    python scripts/screenshot_report.py REPORT_DIR/report.html docs/report-screenshot.png [--height 2600]

Why a script in the repository: the README's picture of the report must be reproducible from a real
run (``edgeprof export`` + ``edgeprof bench`` + ``edgeprof report``), not a hand-made image. Chromium
runs with networking off (``--disable-background-networking``; the report fetches nothing anyway)
and a throw-away profile. Debian: ``apt-get install -y chromium``.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
         "--hide-scrollbars", "--force-device-scale-factor=1", "--default-background-color=ffffffff")


def find_browser() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("screenshot_report: no Chromium found; install it (Debian: apt-get install -y chromium)")


def screenshot(html: Path, out: Path, width: int, height: int, timeout_s: float = 120) -> Path:
    if not html.is_file():
        sys.exit(f"screenshot_report: no such file {html}; run 'edgeprof report RUN_DIR --out DIR' first")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="edgeprof-chromium-") as profile:
        cmd = [find_browser(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
               f"--screenshot={out.resolve()}", html.resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    if proc.returncode != 0 or not out.is_file():
        sys.exit(f"screenshot_report: chromium failed (exit {proc.returncode}): {proc.stderr.strip()[-400:]}")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("html", type=Path, help="report.html made by 'edgeprof report'")
    p.add_argument("out", type=Path, help="PNG to write (e.g. docs/report-screenshot.png)")
    p.add_argument("--width", type=int, default=1400, help="viewport width (default 1400, the width issue 20 checked)")
    p.add_argument("--height", type=int, default=2600, help="viewport height: how much of the page is captured")
    args = p.parse_args(argv)
    path = screenshot(args.html, args.out, args.width, args.height)
    print(f"screenshot: {path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
