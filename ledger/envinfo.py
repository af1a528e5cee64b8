"""What a run ran on: the environment (cheap, cached) and the code version (git, on request)."""

from __future__ import annotations

import functools
import hashlib
import platform
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

PACKAGES = (
    "ledger", "numpy", "scipy", "pandas", "anthropic", "openai", "usearch", "tiktoken",
    "textual", "typer", "sqlite-utils",
)


@functools.lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """Python, platform, machine, SQLite and the versions of the packages that shape results."""
    from importlib import metadata

    versions: dict[str, str] = {}
    for name in PACKAGES:
        try:
            versions[name] = _version(metadata.distribution(name))
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "node": platform.node(),
        "sqlite": sqlite3.sqlite_version,
        "packages": versions,
        "argv0": Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "",
    }


def _version(dist: Any) -> str:
    """``dist.version``, read from the metadata's header lines: ``dist.version`` parses the
    whole file with the email package (a package's long description included), 2-5 ms each."""
    for name in ("METADATA", "PKG-INFO"):
        text = dist.read_text(name)
        if not text:
            continue
        for line in text.splitlines():
            if not line.strip():
                break  # the end of the headers
            key, sep, value = line.partition(":")
            if sep and key.strip().lower() == "version":
                return value.strip()
    return str(dist.version)


def code_version(path: Path | str = ".") -> dict[str, Any] | None:
    """Git commit, dirty flag and a digest of the uncommitted patch; None outside a checkout."""

    def git(*args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["git", *args], cwd=path, capture_output=True, timeout=10, check=False
        )

    try:
        head = git("rev-parse", "HEAD")
    except (OSError, subprocess.TimeoutExpired):
        return None
    if head.returncode != 0:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    patch = git("diff", "HEAD")
    dirty = bool(status.stdout.strip())
    return {
        "commit": head.stdout.decode().strip(),
        "dirty": dirty,
        "patch_sha256": hashlib.sha256(patch.stdout).hexdigest() if dirty else None,
    }
