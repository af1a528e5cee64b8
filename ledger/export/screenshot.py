"""Render an HTML report to a PNG with headless Chromium (used by the tests and for docs/report.png).

    python -m ledger.export.screenshot LEDGER.db OUT.png [--width 1280 --height 2000]

Chromium runs with no network services, no sync and a throw-away profile; the report itself loads
nothing (it has no script and a Content-Security-Policy of ``default-src 'none'``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import LedgerError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(html: Path, png: Path, *, width: int = 1280, height: int = 2000, timeout_s: float = 120.0) -> Path:
    """Render ``html`` (a file) to ``png`` at ``width`` x ``height`` CSS pixels."""
    browser = find_chromium()
    if browser is None:
        raise LedgerError(f"no Chromium found (looked for {', '.join(BROWSERS)}); install it, e.g. apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="ledger-chromium-") as profile:
        argv = [
            browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
            "--disable-extensions", f"--user-data-dir={profile}", f"--screenshot={png.resolve()}",
            f"--window-size={width},{height}", html.resolve().as_uri(),
        ]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, check=False)
    if done.returncode != 0 or not png.exists():
        tail = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise LedgerError(f"Chromium could not render {html} (exit {done.returncode}): {tail[0]}")
    return png


def main(argv: list[str] | None = None) -> None:
    from ..store import Ledger
    from . import export

    parser = argparse.ArgumentParser(description="Screenshot a ledger's HTML report.")
    parser.add_argument("db", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2000)
    parser.add_argument("--experiment")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, Ledger(args.db) as ledger:
        html = export(ledger, "html", Path(tmp) / "report.html", experiment=args.experiment)
        screenshot(html, args.png, width=args.width, height=args.height)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
