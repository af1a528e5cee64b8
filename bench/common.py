"""Shared benchmark helpers: timing medians and writing results into docs/benchmarks.md.

Each benchmark writes its own section to ``docs/benchmarks/<name>.md``; ``write_section`` then
rebuilds ``docs/benchmarks.md`` from every section, so benchmarks never overwrite each other.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECTIONS = ROOT / "docs" / "benchmarks"
REPORT = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    import sqlite3

    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {datetime.now(UTC):%Y-%m-%d}"
    )


def median_time(fn: Callable[[], object], repeat: int = 7, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time of ``fn`` in seconds (and all samples)."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), samples


def process_time(argv: list[str], repeat: int = 7, env: dict[str, str] | None = None) -> float:
    """Median wall time of a whole process (start-up included), in seconds."""
    samples = []
    full_env = {**os.environ, **(env or {})}
    for _ in range(repeat + 1):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=full_env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples[1:])


def ledger_exe() -> str:
    return str(Path(sys.executable).with_name("ledger"))


def write_section(name: str, markdown: str) -> None:
    """Write one benchmark's section and rebuild docs/benchmarks.md from all sections."""
    SECTIONS.mkdir(parents=True, exist_ok=True)
    (SECTIONS / f"{name}.md").write_text(markdown.rstrip() + "\n", encoding="utf-8")
    parts = [
        "# Benchmarks\n",
        "Every figure here is produced by a script in `bench/` (`just bench` runs them all; each "
        "script's section names its own command). Medians of repeated runs, measured side by side "
        "in one run of the script; whole-process figures include Python start-up.\n",
    ]
    for section in sorted(SECTIONS.glob("*.md")):
        parts.append(section.read_text(encoding="utf-8"))
    REPORT.write_text("\n".join(parts), encoding="utf-8")
